"""Arguments checked at the public boundary (issue 13): names that would make generated
code invalid, a cotangent or tangent that is an input, constants that are not finite.

What is a problem was decided by generating the code and running it: a dim's name never
appears in generated code (dims are read off ``X.shape``), so any identifier is a fine dim
name, keywords included; a builtin's name (``exit``, ``sum``) is a fine argument name; a
keyword is not, and neither is the array module's name (``np``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import einderiv as ed


@pytest.mark.parametrize("dim", ["exit", "import", "np", "lambda", "sum"])
def test_any_identifier_is_a_dim_name(dim):
    A = ed.symbols(f"A[{dim},{dim}]")
    for e in (ed.grad(ed.trace(A), "A"), A @ A, ed.grad(ed.sum(A @ A), "A")):
        namespace: dict = {}
        exec(ed.codegen(e), namespace)  # einderiv's own output
        value = np.arange(9.0).reshape(3, 3)
        np.testing.assert_allclose(namespace["f"](A=value), e.evaluate({"A": value}))


@pytest.mark.parametrize("name", ["exit", "sum", "print", "float", "t0", "f"])
def test_builtins_are_fine_argument_names(name):
    W, x = ed.symbols(f"W[n,m] {name}[m]")
    e = ed.tanh(W @ x)
    namespace: dict = {}
    exec(ed.codegen(e, name="fn"), namespace)  # einderiv's own output
    values = {"W": np.ones((2, 3)), name: np.arange(3.0)}
    np.testing.assert_allclose(namespace["fn"](**values), e.evaluate(values))


def test_soft_keywords_are_fine_function_names():
    src = ed.codegen(ed.symbols("x[n]") * 2, name="match")
    compile(src, "<codegen>", "exec")


def test_input_as_its_own_cotangent_was_silently_wrong_and_is_refused():
    b = ed.symbols("b[n]")
    with pytest.raises(ed.DerivativeError, match="cotangent 'b' is already an input"):
        ed.vjp(ed.tanh(b), "b", "b")
    with pytest.raises(ed.DerivativeError, match="cotangent 'b' is already an input"):
        ed.vjp(ed.tanh(b), "b", b)
    with pytest.raises(ed.DerivativeError, match="tangent 'b' is already an input"):
        ed.jvp(ed.tanh(b), "b", "b")
    assert ed.vjp(ed.tanh(b), "b", "db").to_numpy() == "(1 - np.tanh(b)**2) * db"


def test_a_cotangent_named_like_explains_intermediate_is_explained_right():
    W, x = ed.symbols("W[n,m] x[m]")
    f = ed.tanh(W @ x)
    markdown = ed.explain(f, "W", cotangent="z")
    # the intermediate z's name is the cotangent's, so it is u and its adjoint du
    assert "u = W @ x\nf = np.tanh(u)\ndu = (1 - f**2) * z\ndW = np.outer(du, x)" in markdown
    assert "dW = np.outer((1 - np.tanh(W @ x)**2) * z, x)" in markdown


@pytest.mark.parametrize(("text", "column"), [
    ("x / 2**-1074", 2), ("x * 1e308 * 10", 10), ("x + 1e308 + 1e308", 10),
])
def test_overflowing_constants_are_refused_where_they_overflow(text, column):
    with pytest.raises(ed.ParseError, match="not finite") as info:
        ed.parse(text, shapes="x[n]")
    assert info.value.column == column


def test_huge_finite_constants_still_render():
    e = ed.parse("x * 1e308", shapes="x[n]")
    assert e.to_numpy() == "1e+308 * x" and "1e+308" in e.to_latex()
    with pytest.raises(ed.ShapeError, match="not finite"):
        ed.hessian(ed.sum(ed.parse("x ** 1e300", shapes="x[n]")), "x")


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_non_finite_constants_from_python_are_refused(value):
    x = ed.symbols("x[n]")
    with pytest.raises(ed.ShapeError, match="not finite"):
        x * value
    with pytest.raises(ed.ShapeError, match="not finite"):
        x ** value
