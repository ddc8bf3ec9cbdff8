"""The wording of explanations on the gallery cases: names, letters, plurals, true statements."""

from __future__ import annotations

import importlib.util
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import einderiv as ed
from einderiv.explanation import Markdown, index_program

ROOT = Path(__file__).resolve().parents[2]
RNN = "tanh(Waa @ a_prev + Wax @ x + ba)"
RNN_SHAPES = "Waa[n,n] Wax[n,k] a_prev[n,m] x[k,m] ba[n,1]"


def _gallery_commands() -> list[str]:
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [command for _, _, sections in module.GALLERY.values() for _, command in sections]


def _explain(command: str) -> str:
    args = shlex.split(command)
    f = ed.parse(args[1], shapes=args[args.index("--shapes") + 1])
    wrt = args[args.index("--wrt") + 1]
    cot = args[args.index("--cotangent") + 1] if "--cotangent" in args else None
    kind = "hessian" if args[0] == "hessian" else None
    return ed.explain(f, wrt, cotangent=cot, kind=kind, text=args[1])


GALLERY = _gallery_commands()


@pytest.mark.parametrize("command", GALLERY, ids=[c[:60] for c in GALLERY])
def test_gallery_wording(command):
    text = _explain(command)
    assert "(s)" not in text  # plural-aware: "1 term of 2 does not", "2 terms of 3 do not"
    assert not re.search(r"\b1 terms\b|\b[02-9] term\b", text)
    maths = re.findall(r"\$\$(.+?)\$\$|\$(.+?)\$", text, flags=re.S)
    for display, inline in maths:  # index notation never carries numpy code
        assert "np." not in display + inline and "**" not in display + inline, display + inline
    # never the generic claim where some summed index is in one factor only
    for line in text.splitlines():
        if line.startswith("Reading the order") and "Σ_" in line:
            formula = line.split("`")[1]
            if re.search(r"Σ_i \w+_\w*i\w*$", formula):  # one factor carries i
                assert "joins two factors" not in line, line


def test_rnn_letters_stay_fixed_and_the_index_form_reads_as_by_hand():
    text = _explain(f'explain "{RNN}" --shapes "{RNN_SHAPES}" --wrt Waa --cotangent da')
    # f's indices are c, d and Waa's a, b from the first formula to the last
    assert r"F_{cdab} = \frac{\partial f_{cd}}{\partial \mathrm{Waa}_{ab}}" in text
    assert r"$$f_{cd} = \tanh\left(z_{cd}\right)$$" in text
    assert r"$$\mathrm{dWaa}_{ab} = \sum_{cd} \mathrm{da}_{cd} F_{cdab}$$" in text
    assert r"F_{cdab} = \delta_{ac}\, \left(1 - f_{cd}^{2}\right)\, a_{\mathrm{prev},bd}" in text
    # the survivor keeps d
    assert r"\mathrm{dWaa}_{ab} = \sum_{d} \mathrm{dz}_{ad}\, a_{\mathrm{prev},bd}" in text
    assert r"\mathrm{dWaa}_{cd}" not in text and "F_{abcd}" not in text
    assert "`dWaa_ab = Σ_i dz_ai a_prev_bi`" in text
    assert "2 terms of 3 do not contain Waa and vanish" in text
    # the function keeps its name f, its argument is z, and the readable form's names
    assert "dz = (1 - f**2) * da\ndWaa = dz @ a_prev.T" in text


def test_rnn_bias_statements_are_true():
    text = _explain(f'explain "{RNN}" --shapes "{RNN_SHAPES}" --wrt ba --cotangent da')
    assert "Each summed index joins two factors" not in text
    assert "The summed index i appears in dz only, so it is summed out" in text
    assert "The free index b appears on the left only: dba's axis 2 has size 1" in text
    assert "$b$ appears on the left only: it is ba's axis 2, of size 1" in text
    assert "1 term of 2" not in text and "2 terms of 3 do not contain ba and vanish" in text


def test_one_term_is_singular():
    f = ed.parse("W @ x + b", shapes="W[n,m] x[m] b[n]")
    assert "1 term of 2 does not contain W and vanishes" in ed.explain(f, "W")


def test_a_program_keeps_its_names_and_shows_its_program_form():
    text = "z = W @ x + b\na = tanh(z)\nL = sum(a * a)"
    f = ed.parse(text, shapes="W[n,m] x[m] b[n]")
    out = ed.explain(f, "W", text=text)
    assert out.startswith(
        "# Derivation: ∂L/∂W for L = `z = W @ x + b; a = tanh(z); L = sum(a * a)`")
    assert "```python\nz = W @ x + b\na = np.tanh(z)\nL = (a**2).sum()\n```" in out
    # the axis of z and a is i everywhere, W's indices are a, b
    assert r"$$z_{i} = \sum_{j} W_{ij}\, x_{j} + b_{i}$$" in out
    assert r"$$a_{i} = \tanh\left(z_{i}\right)$$" in out
    assert r"\partial a_{i} = \left(1 - a_{i}^{2}\right)\, \partial z_{i}" in out
    assert "dz = 2 * (1 - a**2) * a\ndW = np.outer(dz, x)" in out


def test_explain_is_markdown_for_notebooks():
    out = ed.explain(ed.parse("W @ x", shapes="W[n,m] x[m]"), "x", cotangent="g")
    assert isinstance(out, Markdown) and isinstance(out, str)
    assert out._repr_markdown_() == str(out)
    assert out.splitlines()[0] == "# Derivation: backprop of f = `W @ x` to x"


def test_explain_past_eight_letters():
    out = ed.explain(ed.parse("x * 2", shapes="x[a,b,c,d,e,f,g,h,i]"), "x")
    # letters past h, comma-separated; f is the function's name, so no index is called f
    assert "F_{a,b,c,d,e,g,h,a7,a8," in out


def test_index_program_has_no_numpy_code():
    f = ed.parse(RNN, shapes=RNN_SHAPES)
    text = index_program(ed.vjp(f, "Waa", "da"), "dWaa")
    assert text == "dWaa_ab = Σ_i (1 - tanh(ba_a1 + Σ_j Wax_aj x_ji + Σ_j Waa_aj a_prev_ji)²) " \
                   "da_ai a_prev_bi"
    h = ed.hessian(ed.parse("sum(softplus(-y * (X @ w)))", shapes="X[n,d] w[d] y[n]"), "w")
    assert index_program(h, "H") == (
        "s_a = σ(-Σ_i y_a X_ai w_i)\nH_ab = Σ_i X_ia X_ib y_i² s_i (1 - s_i)")


def test_cli_index_format_of_a_vjp():
    out = subprocess.run(
        [sys.executable, "-m", "einderiv", "vjp", RNN, "--shapes", RNN_SHAPES, "--wrt", "Waa",
         "--cotangent", "da", "--format", "index"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("dWaa_ab = Σ_i ") and "np." not in out.stdout
    assert "**" not in out.stdout and "F_" not in out.stdout
