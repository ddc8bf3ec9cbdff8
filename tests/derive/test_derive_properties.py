"""Property: on random expression trees, vjp, jvp and diff agree with finite differences.

Trees mix einsum products (matmul, contractions, traces, outer products), sums with
broadcasting (size-1 axes, vectors), transposes, reductions and smooth elementwise
functions (tanh, sin, cos, sigmoid, exp of a bounded argument) so that random normal
values never leave a function's domain; one square leaf is a symmetric symbol.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import einderiv as ed
from einderiv.testing import check_derivative, random_values

LEAVES = {
    (): ed.symbols("c d"),
    ("n",): ed.symbols("w[n] u[n]"),
    ("m",): (ed.symbols("v[m]"),),
    ("n", "m"): ed.symbols("X[n,m] Y[n,m]"),
    ("m", "n"): (ed.symbols("Z[m,n]"),),
    ("n", "n"): (*ed.symbols("A[n,n] B[n,n]"), ed.symbols("S[n,n]:sym")),
    ("n", "1"): (ed.symbols("b[n,1]"),),
}
SHAPES = [(), ("n",), ("m",), ("n", "m"), ("m", "n"), ("n", "n")]

SMOOTH = {
    "tanh": ed.tanh,
    "sin": ed.sin,
    "cos": ed.cos,
    "sigmoid": ed.sigmoid,
    "exp-tanh": lambda e: ed.exp(ed.tanh(e)),
    "square-sin": lambda e: ed.sin(e) ** 2,
}


@st.composite
def trees(draw, dims, depth):
    """An expression of ``dims`` built from at most ``depth`` nested operations."""
    if depth == 0 or draw(st.integers(0, 7)) == 0:
        return draw(st.sampled_from(LEAVES[dims]))
    sub = lambda d: trees(d, depth - 1)  # noqa: E731
    options = ["func", "add", "mul", "scale"]
    if dims == ("n", "m"):
        options += ["matmul", "transpose", "bias", "rowvec"]
    if dims == ("m", "n"):
        options += ["transpose"]
    if dims == ("n", "n"):
        options += ["gram", "matmul-square", "outer", "transpose"]
    if dims == ("n",):
        options += ["matvec", "rowsum", "diagonal"]
    if dims == ("m",):
        options += ["colsum"]
    if dims == ():
        options += ["frobenius", "trace", "sumall", "mean"]
    op = draw(st.sampled_from(options))
    if op == "func":
        return SMOOTH[draw(st.sampled_from(sorted(SMOOTH)))](draw(sub(dims)))
    if op == "add":
        return draw(sub(dims)) + draw(sub(dims))
    if op == "mul":
        return draw(sub(dims)) * draw(sub(dims))
    if op == "scale":
        return draw(st.sampled_from([-1.5, 0.5, 2.0])) * draw(sub(dims))
    if op == "matmul":
        return ed.einsum("ik,kj->ij", draw(sub(("n", "n"))), draw(sub(("n", "m"))))
    if op == "transpose":
        return draw(sub(tuple(reversed(dims)))).T
    if op == "bias":
        return draw(sub(("n", "m"))) + LEAVES[("n", "1")][0]
    if op == "rowvec":
        return draw(sub(("n", "m"))) - draw(sub(("m",)))
    if op == "gram":
        return ed.einsum("ik,jk->ij", draw(sub(("n", "m"))), draw(sub(("n", "m"))))
    if op == "matmul-square":
        return draw(sub(("n", "n"))) @ draw(sub(("n", "n")))
    if op == "outer":
        return ed.outer(draw(sub(("n",))), draw(sub(("n",))))
    if op == "matvec":
        return draw(sub(("n", "m"))) @ draw(sub(("m",)))
    if op == "rowsum":
        return ed.sum(draw(sub(("n", "m"))), axis=1)
    if op == "diagonal":
        return ed.einsum("ii->i", draw(sub(("n", "n"))))
    if op == "colsum":
        return ed.sum(draw(sub(("n", "m"))), axis=0)
    if op == "frobenius":
        return ed.einsum("ij,ij->", draw(sub(("n", "m"))), draw(sub(("n", "m"))))
    if op == "trace":
        return ed.trace(draw(sub(("n", "n"))))
    if op == "sumall":
        return ed.sum(draw(sub(draw(st.sampled_from(SHAPES)))))
    if op == "mean":
        return ed.mean(draw(sub(("n", "m"))), axis=(0, 1))
    raise AssertionError(op)


@st.composite
def problems(draw):
    dims = draw(st.sampled_from(SHAPES))
    expr = draw(trees(dims, 4))
    names = sorted(expr.symbols())
    wrt = draw(st.sampled_from(names))
    seed = draw(st.integers(0, 2**16))
    return expr, wrt, seed


@settings(
    max_examples=600,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(problems())
def test_random_trees_match_finite_differences(problem):
    expr, wrt, seed = problem
    check_derivative(expr, wrt, seed=seed, rtol=1e-5, atol=1e-6)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(problems())
def test_random_trees_vjp_equals_contracted_jacobian(problem):
    """vjp(f, X, g) equals diff(f, X) contracted with g over f's axes."""
    expr, wrt, seed = problem
    rng = np.random.default_rng(seed)
    sizes = {"n": 3, "m": 4}
    values = random_values(expr, sizes, rng)  # symmetric symbols get symmetric values
    g = rng.normal(size=tuple(sizes[d] for d in expr.dims))
    cot = ed.ir.Symbol.make("g_cot", expr.dims)
    pulled = ed.vjp(expr, wrt, cot).evaluate({**values, "g_cot": g}, sizes=sizes)
    jac = ed.diff(expr, wrt).evaluate(values, sizes=sizes)
    r = len(expr.dims)
    by_hand = np.tensordot(g, jac, axes=(list(range(r)), list(range(r)))) if r else g * jac
    np.testing.assert_allclose(pulled, by_hand, rtol=1e-9, atol=1e-9)
