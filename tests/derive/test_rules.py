"""Every derivative rule against central finite differences (float64, random values).

Each case is checked by :func:`einderiv.testing.check_derivative` in forward (jvp),
reverse (vjp) and full (diff) mode.  Dims get distinct sizes (3, 4, 5, ...) so that a
transposed result cannot pass by luck; square matrices appear wherever the order of
the factors matters.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import einderiv as ed
from einderiv.testing import check_derivative

A, B, S = ed.symbols("A[n,n] B[n,n] S[n,n]:sym")
X, W, x, y = ed.symbols("X[n,m] W[m,k] x[n] y[m]")
ba, r, c = ed.symbols("ba[n,1] r[1,m] c")
T3 = ed.symbols("T3[n,m,k]")

_rng = np.random.default_rng(1234)


def _positive(*shape: int) -> np.ndarray:
    return _rng.uniform(0.5, 2.0, size=shape)


def _spd(n: int) -> np.ndarray:
    m = _rng.normal(size=(n, n))
    return m @ m.T + n * np.eye(n)


def _well_conditioned(n: int) -> np.ndarray:
    return _rng.normal(size=(n, n)) + 3 * np.eye(n)


POS_X = {"X": _positive(3, 4)}

# (id, expression, wrt, values overriding the random ones)
CASES = [
    # products / einsum
    ("matmul-left", X @ W, "X", None),
    ("matmul-right", X @ W, "W", None),
    ("square-AB-A", A @ B, "A", None),
    ("square-AB-B", A @ B, "B", None),
    ("square-ABA", A @ B @ A, "A", None),
    ("matvec", X.T @ x, "x", None),
    ("einsum-trace", ed.einsum("ii->", A), "A", None),
    ("einsum-diagonal", ed.einsum("ii->i", A), "A", None),
    ("einsum-diagonal-squared", ed.einsum("ii->i", A) ** 2, "A", None),
    ("einsum-diag-times", ed.einsum("ii,ij->j", A, X), "A", None),
    ("einsum-diag-times-X", ed.einsum("ii,ij->j", A, X), "X", None),
    ("einsum-frobenius", ed.einsum("ij,ij->", X, X), "X", None),
    ("einsum-3d", ed.einsum("ijk,jk->i", T3, X.T @ X @ W), "T3", None),
    ("einsum-3d-W", ed.einsum("ijk,jk->i", T3, X.T @ X @ W), "W", None),
    ("einsum-implicit", ed.einsum("ij,jk", X, W), "W", None),
    ("hadamard", X * X, "X", None),
    # broadcasting with size-1 dims
    ("bias-n1", ed.tanh(X + ba), "ba", None),
    ("bias-n1-X", ed.tanh(X + ba), "X", None),
    ("row-1m", X * r, "r", None),
    ("outer-n1-1m", ba * r, "ba", None),
    ("outer-n1-1m-r", ba * r, "r", None),
    ("einsum-n1", ed.einsum("ij,jk->ik", ba, r), "ba", None),
    ("scalar-c", c * X + c, "c", None),
    ("scalar-c-squared", ed.sum(c * c * X), "c", None),
    ("vector-broadcast", X + y, "y", None),
    ("bcast-3d", ed.einsum("ij,k->ijk", X, x) + ed.einsum("ik,j->ijk", A, y), "A", None),
    # sums and means
    ("sum-all", ed.sum(X * X), "X", None),
    ("sum-axis0", ed.sum(X * X, axis=0), "X", None),
    ("sum-axis1-keepdims", ed.sum(X * X, axis=1, keepdims=True), "X", None),
    ("sum-keepdims-bias", ed.sum(ba, axis=1, keepdims=True) * X, "ba", None),
    ("mean-all", ed.mean(X * X), "X", None),
    ("mean-axis0-keepdims", ed.mean(X * X, axis=0, keepdims=True), "X", None),
    ("mean-over-size1", ed.mean(ba, axis=1), "ba", None),
    ("centre", X - ed.mean(X, axis=1, keepdims=True), "X", None),
    # transpose
    ("transpose", X.T, "X", None),
    ("transpose-square", A.T @ B, "A", None),
    ("transpose-3d", ed.transpose(T3, (2, 0, 1)), "T3", None),
    # elementwise functions
    ("tanh", ed.tanh(X @ W), "W", None),
    ("exp", ed.exp(X), "X", None),
    ("log", ed.log(X), "X", POS_X),
    ("log1p", ed.log1p(X), "X", POS_X),
    ("sigmoid", ed.sigmoid(X), "X", None),
    ("sqrt", ed.sqrt(X), "X", POS_X),
    ("abs", ed.abs(X), "X", None),
    ("relu", ed.relu(X), "X", None),
    ("softplus", ed.softplus(X), "X", None),
    ("sin", ed.sin(X), "X", None),
    ("cos", ed.cos(X), "X", None),
    ("square", ed.square(X), "X", None),
    ("pow-3", X**3, "X", None),
    ("pow-neg-int", X**-2, "X", POS_X),
    ("pow-neg-one", X**-1, "X", POS_X),
    ("pow-half", X**0.5, "X", POS_X),
    ("pow-neg-frac", X**-1.5, "X", POS_X),
    ("divide", X / (X * X + 1.0), "X", None),
    ("rdivide", ed.sum(2.0 / (x * x + 1.0)), "x", None),
    ("rsub", ed.sum(1.0 - x / 2.0), "x", None),
    ("neg", -ed.exp(X), "X", None),
    # matrix functions
    ("inv", ed.inv(A), "A", {"A": _well_conditioned(3)}),
    ("inv-chain", ed.inv(A @ B) @ A, "A", {"A": _spd(3), "B": _spd(3)}),
    ("det", ed.det(A), "A", None),
    ("det-product", ed.det(A @ B), "B", None),
    ("logdet", ed.logdet(A), "A", {"A": _spd(3)}),
    ("logdet-sym", ed.logdet(S), "S", {"S": _spd(3)}),
    ("inv-sym", ed.inv(S), "S", {"S": _spd(3)}),
    ("sym-times", S @ A, "S", None),
    # reductions with softmax structure
    ("logsumexp-all", ed.logsumexp(X), "X", None),
    ("logsumexp-axis", ed.logsumexp(X, axis=1), "X", None),
    ("logsumexp-keepdims", ed.logsumexp(X, axis=0, keepdims=True), "X", None),
    ("logsumexp-tuple-keepdims", ed.logsumexp(X, axis=(0, 1), keepdims=True), "X", None),
    ("softmax", ed.softmax(X), "X", None),
    ("softmax-axis0", ed.softmax(X, axis=0), "X", None),
    ("softmax-vector", ed.softmax(x), "x", None),
    # structural builders
    ("diag-vector", ed.diag(x), "x", None),
    ("diag-matrix", ed.diag(A), "A", None),
    ("diag-of-product", ed.diag(A @ B), "B", None),
    ("outer-left", ed.outer(x, y), "x", None),
    ("outer-right", ed.outer(x, y), "y", None),
    ("norm-matrix", ed.norm(X), "X", None),
    ("norm-vector", ed.norm(x), "x", None),
    ("trace", ed.trace(A @ B), "A", None),
    ("trace-sym", ed.trace(S @ A), "S", None),
    ("trace-diagonal-sym", ed.einsum("ii->i", S), "S", None),
]


@pytest.mark.parametrize(
    ("expr", "wrt", "values"),
    [pytest.param(e, w, v, id=name) for name, e, w, v in CASES],
)
def test_rule_matches_finite_differences(expr, wrt, values):
    report = check_derivative(expr, wrt, values=values)
    assert set(report) == {"forward", "reverse", "full"}


# Second derivatives: the derivative of a gradient, again against differences.
SECOND = [
    ("hess-logsumexp", ed.grad(ed.logsumexp(x), x), "x", None),
    ("jac-softmax", ed.diff(ed.softmax(X), X), "X", None),
    ("grad-det", ed.grad(ed.det(A), A), "A", None),
    ("grad-logdet", ed.grad(ed.logdet(A), A), "A", {"A": _spd(3)}),
    ("grad-trace-inv", ed.grad(ed.trace(ed.inv(A) @ B), A), "A", {"A": _spd(3)}),
    ("grad-logdet-sym", ed.grad(ed.logdet(S), S), "S", {"S": _spd(3)}),
    ("grad-norm", ed.grad(ed.norm(X), X), "X", None),
    ("grad-relu-times", ed.grad(ed.sum(ed.relu(X) * X), X), "X", None),
    ("grad-abs-times", ed.grad(ed.sum(ed.abs(X) * X), X), "X", None),
    ("grad-softplus", ed.grad(ed.sum(ed.softplus(X)), X), "X", None),
    ("grad-sqrt", ed.grad(ed.sum(ed.sqrt(X)), X), "X", POS_X),
    ("grad-pow-frac", ed.grad(ed.sum((X * X + 1.0) ** -0.5), X), "X", None),
    ("hess-sym-quadratic", ed.grad(ed.sum(ed.exp(S @ x)), x), "x", None),
    ("grad-sym-wrt-sym", ed.grad(ed.sum(ed.tanh(S @ x)), S), S, None),
]


@pytest.mark.parametrize(
    ("expr", "wrt", "values"),
    [pytest.param(e, w, v, id=name) for name, e, w, v in SECOND],
)
def test_second_derivative_matches_finite_differences(expr, wrt, values):
    check_derivative(expr, wrt, values=values)


def test_symmetric_gradient_is_symmetric_part():
    """grad of x^T S x wrt symmetric S is the symmetric part of x x^T (here x x^T itself)."""
    v = np.array([1.0, 2.0, -1.0])
    g = ed.grad(x @ S @ x, S).evaluate({"x": v})
    np.testing.assert_allclose(g, np.outer(v, v))
    g2 = ed.grad(ed.einsum("i,ij,j->", x, S, ed.symbols("z[n]")), S)
    w = np.array([0.5, -1.0, 3.0])
    got = g2.evaluate({"x": v, "z": w})
    np.testing.assert_allclose(got, (np.outer(v, w) + np.outer(w, v)) / 2)


def test_check_derivative_reports_a_wrong_rule():
    """The helper itself must fail loudly on a wrong derivative (reports both numbers)."""
    import einderiv.functions as functions

    entry = functions.FUNCTIONS["sin"]
    wrong = dataclasses.replace(entry, derivative=lambda arg, p, f: f("sin", arg))
    expr = ed.sin(ed.symbols("q[n]") * 2.0)
    functions.FUNCTIONS["sin"] = wrong
    try:
        with pytest.raises(AssertionError, match="disagrees with central differences"):
            check_derivative(expr, "q")
    finally:
        functions.FUNCTIONS["sin"] = entry
