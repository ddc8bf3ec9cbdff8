"""The readable form: to_program lines evaluate like the expression, name parts as a person does.

Checked numerically (exec of the program against ``evaluate``, distinct sizes per dim) on
the render gallery and on random derivatives, plus the forum's BPTT backward pass line
by line, linear size in the number of steps, and names that never clash.
"""

from __future__ import annotations

import ast

import numpy as np
import pytest
from support.gallery import GALLERY
from support.oracle import values_for

import einderiv as ed
from einderiv.render.naming import plan_names


def run_program(source: str, values: dict, name: str) -> np.ndarray:
    namespace: dict = {}
    exec(source, {"np": np, **values}, namespace)  # noqa: S102 - the test runs our own output
    return namespace[name]


def check_program(e: ed.Expr, name: str = "out", values: dict | None = None) -> str:
    source = e.to_program(name)
    vals = values if values is not None else values_for(e)
    for sym in ed.ir.inputs_of(e):  # inputs used only for a size
        vals.setdefault(sym.name, np.ones(tuple(values_for(sym)[sym.name].shape)))
    got = run_program(source, vals, name)
    want = e.evaluate(vals)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=1e-9, atol=1e-9)
    return source


@pytest.mark.parametrize("name,build", GALLERY, ids=[g[0] for g in GALLERY])
def test_program_evaluates_like_the_expression(name, build):
    e = build()
    source = check_program(e)
    tree = ast.parse(source)
    assert all(isinstance(s, ast.Assign) for s in tree.body)
    assert tree.body[-1].targets[0].id == "out"


def test_program_reads_only_inputs_numpy_and_its_own_lines():
    e = ed.grad(ed.parse("s = sigmoid(X @ w)\nL = sum(y * log(s) + (1 - y) * log(1 - s))",
                         shapes="X[n,d] w[d] y[n]"), "w")
    tree = ast.parse(e.to_program())
    assigned = [s.targets[0].id for s in tree.body]
    loaded = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    assert loaded <= {"np", "X", "w", "y", *assigned}
    assert len(assigned) == len(set(assigned)), "every line defines a new name"


def _bptt(T: int) -> tuple[ed.Expr, dict]:
    lines = [f"a{t} = tanh(Waa @ a{t - 1} + Wax @ x{t} + ba)" for t in range(1, T + 1)]
    shapes = "Waa[n,n] Wax[n,k] a0[n,m] ba[n,1] " + " ".join(f"x{t}[k,m]" for t in range(1, T + 1))
    f = ed.parse("\n".join(lines), shapes=shapes)
    rng = np.random.default_rng(T)
    sizes = {"n": 4, "k": 3, "m": 5}
    values = {
        sym.name: rng.normal(size=tuple(1 if d == "1" else sizes[d] for d in sym.dims))
        for sym in ed.ir.inputs_of(f)
    }
    values["da3"] = rng.normal(size=(4, 5))
    values[f"da{T}"] = rng.normal(size=(4, 5))
    return f, values


def test_bptt_program_reads_as_the_textbook_backward_pass():
    """The forum question: dz3, dz2, dz1 and dWaa = dz1 @ a0.T + dz2 @ a1.T + dz3 @ a2.T."""
    f, values = _bptt(3)
    g = ed.vjp(f, "Waa", "da3")
    source = check_program(g, "dWaa", values)
    assert source.splitlines() == [
        "a1 = np.tanh(Waa @ a0 + Wax @ x1 + ba)",
        "a2 = np.tanh(Waa @ a1 + Wax @ x2 + ba)",
        "a3 = np.tanh(Waa @ a2 + Wax @ x3 + ba)",
        "dz3 = (1 - a3**2) * da3",
        "dz2 = (1 - a2**2) * (Waa.T @ dz3)",
        "dz1 = (1 - a1**2) * (Waa.T @ dz2)",
        "dWaa = dz1 @ a0.T + dz2 @ a1.T + dz3 @ a2.T",
    ]
    assert g.to_program().splitlines()[-1].startswith("dWaa = ")  # named after wrt
    db = ed.vjp(f, "ba", "da3").to_program().splitlines()[-1]
    assert db == "dba = (dz1 + dz2 + dz3).sum(axis=1, keepdims=True)"


def test_a_single_rnn_step_names_z_and_dz():
    f = ed.parse("z = Waa @ a_prev + Wax @ x + ba\na = tanh(z)",
                 shapes="Waa[n,n] Wax[n,k] a_prev[n,m] x[k,m] ba[n,1]")
    source = check_program(ed.vjp(f, "Waa", "da"), "dWaa")
    assert "dz = (1 - a**2) * da" in source.splitlines()
    assert source.splitlines()[-1] == "dWaa = dz @ a_prev.T"
    assert "dx = Wax.T @ dz" in ed.vjp(f, "x", "da").to_program()


@pytest.mark.parametrize("T", [5, 20, 60])
def test_bptt_program_is_linear_in_the_steps(T):
    f, values = _bptt(T)
    source = check_program(ed.vjp(f, "Waa", f"da{T}"), "dWaa", values)
    lines = source.splitlines()
    assert len(lines) == 2 * T + 1  # a_t and dz_t for every step, then dWaa
    assert max(len(line) for line in lines) < 60 + 16 * T  # the last line sums T terms


def test_names_never_clash_with_inputs():
    X, w, s = ed.symbols("X[n,d] w[d] s[n]")
    p = ed.sigmoid(X @ w)
    e = ed.sum(p * s) + ed.sum(p)
    names = [name for _, name in plan_names(e)]
    assert names == ["s2"]
    check_program(e)


def test_softmax_and_sigmoid_get_their_usual_names():
    Z, Y = ed.symbols("Z[m,n] Y[m,n]")
    e = ed.grad(-ed.sum(Y * ed.log(ed.softmax(Z, axis=1))), "Z")
    source = check_program(e, "dZ")
    assert any(line.startswith("P = ") for line in source.splitlines())
    z, y = ed.symbols("z[n] y[n]")
    e = ed.grad(-ed.sum(y * ed.log(ed.softmax(z))), "z")
    assert any(line.startswith("p = ") for line in check_program(e, "dz").splitlines())


def test_latex_where_form_names_the_same_parts():
    f = ed.parse("z = W @ x + b\na = tanh(z)", shapes="W[n,m] x[m] b[n]")
    g = ed.vjp(f, "W", "da")
    latex = g.to_latex(where=True)
    assert r"\text{where}" in latex
    assert "dz" in latex.replace("{", "").replace("}", "").replace("_", "")
    import matplotlib.mathtext as mathtext

    parser = mathtext.MathTextParser("path")
    for part in latex.replace(r"\begin{aligned}", "").replace(r"\end{aligned}", "").split(r"\\"):
        parser.parse("$" + part.replace("&", "").replace(r"\text{where}\quad", "") + "$")


def test_deep_composition_prints_without_recursion():
    """2,000 nested tanh print under a small recursion limit (the printers never recurse);
    the readable form names a part every MAX_LINE_DEPTH levels, so each line parses."""
    import sys

    from einderiv.render.naming import MAX_LINE_DEPTH

    x = ed.symbols("x[n]")
    h = x
    for _ in range(2000):
        h = ed.tanh(h)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(400)
    try:
        texts = [h.to_numpy(), h.to_latex(), h.to_einsum(), ed.codegen(h), h.to_program("h")]
    finally:
        sys.setrecursionlimit(limit)
    assert texts[0].count("np.tanh(") == 2000
    value = np.linspace(-1, 1, 3)
    want = value
    for _ in range(2000):
        want = np.tanh(want)
    lines = texts[4].splitlines()
    assert len(lines) == 2000 // MAX_LINE_DEPTH
    assert max(line.count("np.tanh(") for line in lines) == MAX_LINE_DEPTH
    np.testing.assert_allclose(run_program(texts[4], {"x": value}, "h"), want)
    namespace: dict = {}
    exec(texts[3], namespace)  # noqa: S102 - the library's own code
    np.testing.assert_allclose(namespace["f"](value), want)


def test_torch_logsumexp_of_a_scalar_is_the_scalar():
    c = ed.symbols("c")
    f = ed.logsumexp(c)
    assert "def f(c):\n    return c" in ed.codegen(f, module="torch")
    assert eval(f.to_numpy(), {"np": np, "c": 0.25}) == 0.25  # noqa: S307


def test_the_where_form_takes_the_programs_name():
    """``to_latex(where=True, name=...)`` calls the result as ``to_program(name)`` does."""
    X, w, y = ed.symbols("X[n,d] w[d] y[n]")
    g = ed.grad(ed.sum(ed.softplus(X @ w) - y * (X @ w)), "w")
    assert g.to_program("dw").splitlines()[-1].startswith("dw = ")
    assert g.to_latex(where=True, name="dw").startswith(r"\mathrm{dw} = ")
    assert g.to_latex(where=True, name="grad_w").startswith(r"\mathrm{grad}_{w} = ")
    with pytest.raises(ed.EinderivError, match="where=True"):
        g.to_latex(name="dw")


def test_a_size_is_read_off_the_functions_symbols_before_the_cotangent():
    """Batch norm's 1/m is X.shape[0], not dout.shape[0] (both carry m)."""
    f = ed.parse("mu = mean(X, axis=0); var = mean((X - mu) ** 2, axis=0); "
                 "gamma * (X - mu) / sqrt(var + 1)", shapes="X[m,d] gamma[d]")
    g = ed.vjp(f, "X", "dout")
    text = g.to_program("dX")
    assert "X.shape[0]" in text and "dout.shape" not in text, text
    rng = np.random.default_rng(0)
    vals = {"X": rng.normal(size=(5, 3)), "gamma": rng.normal(size=3),
            "dout": rng.normal(size=(5, 3))}
    scope = {"np": np, **vals}
    exec(text, scope)  # noqa: S102 - the library's own program
    np.testing.assert_allclose(scope["dX"], g.evaluate(vals), rtol=1e-10, atol=1e-12)
