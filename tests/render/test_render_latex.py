r"""LaTeX that typesets: every string the printers emit parses in KaTeX and in mathtext.

The strings are collected from ``to_latex()``, ``to_latex(where=True)`` and
``to_index(latex=True)`` over the render gallery, the textbook suite (programs with names
such as ``a_prev``, ``dz3``, ``Waa``), seeded random networks and their derivatives, and
random stacks; KaTeX (the npm package, run by node: ``tests/support/katex.py``) checks all of
them in one batch, mathtext a spread sample (every string with ``MATHTEXT_ALL=1``).
mathtext has no environments, so a multi-line
``\begin{aligned}`` block is checked there row by row (KaTeX checks it whole).  Golden
properties of the spelling: multi-letter names upright and set apart, the index and matrix
forms spell a name alike, and no double subscript (``h_{0}_{c}``).
"""

from __future__ import annotations

import os
import random
import re

import pytest
from support.gallery import GALLERY
from support.katex import katex_errors, missing_tools
from support.random_exprs import random_expr, random_network
from textbook.cases import CASES  # noqa: E402
from textbook.harness import derivative  # noqa: E402

import einderiv as ed
from einderiv.render import to_index

mathtext = pytest.importorskip("matplotlib.mathtext")


def forms(e: ed.Expr) -> list[str]:
    """Every LaTeX string einderiv writes for ``e``."""
    return [e.to_latex(), e.to_latex(where=True), to_index(e, latex=True)]


GALLERY_STRINGS = [text for _, build in GALLERY for text in forms(build())]


def corpus() -> list[str]:
    strings: list[str] = list(GALLERY_STRINGS)
    for case in CASES:
        strings += forms(derivative(case))
    for seed in range(40):
        rng = random.Random(seed)
        e = random_expr(rng)
        strings += forms(e)
        names = sorted(n for n in e.symbols() if n != "s")
        if names:
            target = ed.sum(e * e) if e.dims else e * e
            strings += forms(ed.grad(target, rng.choice(names)))
        stack, _ = random_network(random.Random(seed))
        strings += forms(stack)
    return sorted(set(strings))


STRINGS = corpus()


def mathtext_rows(latex: str) -> list[str]:
    """The pieces mathtext can take: an aligned block row by row, without the ``&``."""
    if latex.startswith(r"\begin{aligned}"):
        body = latex[len(r"\begin{aligned}"):-len(r"\end{aligned}")]
        return [row.replace("&", "") for row in body.split(r" \\ ")]
    return [latex]


def test_corpus_is_large():
    assert len(STRINGS) > 500


def test_every_latex_string_parses_in_katex():
    if missing_tools():
        pytest.skip(f"{' and '.join(missing_tools())} not installed; the KaTeX check needs them")
    refused = katex_errors(STRINGS)
    assert not refused, "\n".join(f"{tex!r}: {error}" for tex, error in refused[:10])


#: mathtext lays out about 15 long formulas a second here: every gallery string and an
#: evenly spread sixth of the others (``MATHTEXT_ALL=1`` checks every one)
SAMPLE = STRINGS if os.environ.get("MATHTEXT_ALL") else sorted(
    set(GALLERY_STRINGS) | set(STRINGS[::6]))


@pytest.mark.parametrize("chunk", range(4))
def test_latex_strings_parse_in_mathtext(chunk):
    parser = mathtext.MathTextParser("path")
    failed = []
    for latex in SAMPLE[chunk::4]:
        for row in mathtext_rows(latex):
            try:
                parser.parse(f"${row}$")
            except Exception as err:  # noqa: BLE001 - collected and reported below
                failed.append((row, f"{type(err).__name__}: {str(err)[:200]}"))
    assert not failed, "\n".join(f"{row!r}: {error}" for row, error in failed[:10])


def test_no_double_scripts():
    double = re.compile(r"_\{[^{}]*\}_|\^\{[^{}]*\}\^|_\{[^{}]*\}\^\\top_")
    assert not [s for s in STRINGS if double.search(s)]


def test_names_upright_and_set_apart():
    Waa, Wax, a_prev, x, ba = ed.symbols("Waa[n,n] Wax[n,k] a_prev[n,m] x[k,m] ba[n,1]")
    f = ed.tanh(Waa @ a_prev + Wax @ x + ba)
    assert f.to_latex() == (
        r"\tanh\left(\mathrm{Waa}\, a_{\mathrm{prev}} + \mathrm{Wax}\, x + \mathrm{ba}\right)")
    W, u = ed.symbols("W[n,m] u[m]")
    assert ed.vjp(W @ u, "u", "g").to_latex() == r"W^\top g"  # single letters: as before


def test_index_and_matrix_forms_spell_a_name_alike():
    Waa, a_prev, h1 = ed.symbols("Waa[n,n] a_prev[n,m] h1[n,m]")
    e = Waa @ a_prev + h1
    index = to_index(e, latex=True)
    assert r"a_{\mathrm{prev},ib}" in index and r"\mathrm{Waa}_{ai}" in index
    assert "h_{1,ab}" in index
    assert r"a_{\mathrm{prev}}" in e.to_latex() and "h_{1}" in e.to_latex()
    g = ed.symbols("dz3[n,m]")
    assert to_index(g, latex=True, name="dh1") == r"\mathrm{dh}_{1,ab} = \mathrm{dz}_{3,ab}"


def test_greek_names():
    gamma, mu, eps = ed.symbols("gamma[n] mu[n] eps")
    assert (gamma * mu + eps).to_latex().count("\\") >= 3
    assert r"\gamma" in (gamma * mu).to_latex() and r"\varepsilon" in (mu + eps).to_latex()
