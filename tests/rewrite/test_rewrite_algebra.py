"""The elementwise normal form: textbook forms of the famous derivatives, and properties.

Golden cases are structural: the derivative *is* the textbook expression (``==`` on interned
nodes, or :func:`einderiv.ir.canonical.same`), not a string.  Random elementwise expressions
(hypothesis) check that :func:`einderiv.rewrite.normalize` never changes a value, never
grows the DAG, and that derivatives after normalization match central differences.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import einderiv as ed
from einderiv.ir.canonical import same
from einderiv.ir.traversal import topological
from einderiv.rewrite import normalize, recording
from einderiv.rewrite.algebra import Costs
from einderiv.rewrite.identities import RULES
from einderiv.testing import check_derivative

LOGISTIC = "-sum(y * log(sigmoid(X @ w)) + (1 - y) * log(1 - sigmoid(X @ w)))"
LOGISTIC_SHAPES = "X[n,d] w[d] y[n]"


def _parse(text, shapes):
    return ed.parse(text, shapes=shapes)


SIZES = {"n": 5, "d": 3, "m": 4, "h": 6, "k": 7}


def _values(expr, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    sizes = {**SIZES, "1": 1}
    return {name: scale * rng.normal(size=tuple(sizes[d] for d in sym.dims))
            for name, sym in expr.symbols().items()}


def _evaluate(expr, values):
    return expr.evaluate(values, sizes=SIZES)


def _assert_same_value(got, want, values):
    np.testing.assert_allclose(_evaluate(got, values), _evaluate(want, values),
                               rtol=1e-9, atol=1e-11)


# -- the textbook forms ---------------------------------------------------------------


def test_logistic_cross_entropy_gradient_is_x_transpose_times_s_minus_y():
    f = _parse(LOGISTIC, LOGISTIC_SHAPES)
    g = ed.grad(f, "w")
    assert g == _parse("X.T @ (sigmoid(X @ w) - y)", LOGISTIC_SHAPES)
    assert len(g.to_numpy()) < 45  # 165 characters before the normal form
    check_derivative(f, "w")


def test_logistic_cross_entropy_hessian_is_x_transpose_diag_x():
    f = _parse(LOGISTIC, LOGISTIC_SHAPES)
    h = ed.hessian(f, "w")
    want = _parse("X.T @ diag(sigmoid(X @ w) * (1 - sigmoid(X @ w))) @ X", LOGISTIC_SHAPES)
    assert h == want
    assert len(h.to_numpy()) < 100  # 798 characters before
    _assert_same_value(h, want, _values(f))


def test_logistic_written_with_softplus_has_the_same_gradient():
    f = _parse("sum(y * softplus(-(X @ w)) + (1 - y) * softplus(X @ w))", LOGISTIC_SHAPES)
    assert ed.grad(f, "w") == _parse("X.T @ (sigmoid(X @ w) - y)", LOGISTIC_SHAPES)


@pytest.mark.parametrize("text", ["-sum(y * log(exp(z) / sum(exp(z))))",
                                  "-sum(y * log(softmax(z)))"])
def test_softmax_cross_entropy_gradient_is_p_times_sum_y_minus_y(text):
    f = _parse(text, "z[n] y[n]")
    g = ed.grad(f, "z")
    assert g == _parse("softmax(z) * sum(y) - y", "z[n] y[n]")
    check_derivative(f, "z")


def test_softmax_cross_entropy_through_a_linear_layer():
    f = _parse("-sum(y * log(softmax(W @ x)))", "W[k,d] x[d] y[k]")
    g = ed.grad(f, "W")
    assert same(g, _parse("outer(softmax(W @ x) * sum(y) - y, x)", "W[k,d] x[d] y[k]"))


def test_gru_interpolation_pulls_the_common_factor_out():
    f = _parse("(1 - z) * n_ + z * hp", "z[h] n_[h] hp[h]")
    assert ed.vjp(f, "z", "dh") == _parse("dh * (hp - n_)", "n_[h] hp[h] dh[h]")


def test_variance_gradient_drops_the_term_that_is_identically_zero():
    f = _parse("mean((x - mean(x))**2)", "x[n]")
    g = ed.grad(f, "x")
    assert g == _parse("2 * (x - mean(x)) / x.shape[0]", "x[n]")
    check_derivative(f, "x")


def test_sigmoid_derivative_reads_s_times_one_minus_s():
    f = _parse("sigmoid(u)", "u[n]")
    assert ed.vjp(f, "u", "g") == _parse("g * sigmoid(u) * (1 - sigmoid(u))", "u[n] g[n]")


def test_sigmoid_and_its_mirror_sum_to_one():
    u = ed.symbols("u[n]")
    assert normalize(ed.sigmoid(u) + ed.sigmoid(-u)) == ed.parse("1 + 0 * u", shapes="u[n]")
    s = ed.sigmoid(u)
    assert normalize(s * (1 - s) / (1 - s)) == s
    assert normalize((1 - s) / ed.sigmoid(-u)) == ed.parse("1 + 0 * u", shapes="u[n]")


def test_normal_form_rules_are_recorded_by_name():
    X, w, y = ed.symbols("X[n,d] w[d] y[n]")
    s = ed.sigmoid(X @ w)
    with recording() as log:
        out = normalize((1 - y) * s - y * (1 - s))
    assert log and all(rule in RULES for rule, _, _ in log)
    assert log[-1][2] is out
    with recording() as log:
        ed.grad(_parse(LOGISTIC, LOGISTIC_SHAPES), "w")
    names = {rule for rule, _, _ in log}
    assert {"log sigmoid", "log one minus sigmoid", "sigmoid complement",
            "matrix common factor"} <= names


def test_common_elementwise_factor_comes_out_of_a_sum():
    a, b, c = ed.symbols("a[n] b[n] c[n]")
    assert normalize(a * b - a * c) == a * (b - c)
    assert normalize(2 * a * b + 2 * a * c) == 2 * a * (b + c)


def test_cancellation_of_a_sum_base():
    a, b, c = ed.symbols("a[n] b[n] c[n]")
    assert normalize((a + b) * c / (a + b)) == c
    assert normalize((2 * a + 2 * b) / (a + b) * c) == 2 * c


def test_normal_form_keeps_a_shared_node_shared():
    """A node used twice stays one node; nothing is copied into its users."""
    x, y = ed.symbols("x[n] y[n]")
    t = ed.tanh(x) + y  # shared by two users
    e = ed.exp(t) * (t + 1) + ed.sin(t)
    out = normalize(e)
    assert sum(1 for node in topological(out) if node == t) == 1
    _assert_same_value(out, e, _values(e))


def test_deep_composition_stays_linear():
    x = ed.symbols("x[n]")
    e = x
    for _ in range(60):
        e = ed.sigmoid(e) * (1 - ed.sigmoid(e)) + e
    g = ed.grad(ed.sum(e), "x")
    nodes = len(topological(g))
    assert nodes < 60 * 20


# -- properties -----------------------------------------------------------------------

x, y, v = ed.symbols("x[n] y[n] v[n]")
c = ed.symbols("c")
M = ed.symbols("M[n,m]")
b = ed.symbols("b[m]")
LEAVES = [x, y, v, c, M @ b]


@st.composite
def elementwise(draw, depth):
    """A random elementwise expression of dims (n,), defined for every real input."""
    if depth == 0 or draw(st.integers(0, 6)) == 0:
        leaf = draw(st.sampled_from(range(len(LEAVES) + 3)))
        if leaf < len(LEAVES):
            return LEAVES[leaf] * 1.0 if LEAVES[leaf].dims else LEAVES[leaf] + 0 * x
        return [x * 0 + 1.0, x * 0 + 2.0, x * 0 - 0.5][leaf - len(LEAVES)]
    sub = elementwise(depth - 1)
    op = draw(st.sampled_from(
        ["add", "sub", "mul", "div", "sq", "sig", "onem", "tanh", "exp", "logsig", "logexp",
         "shared"]))
    a = draw(sub)
    if op == "add":
        return a + draw(sub)
    if op == "sub":
        return a - draw(sub)
    if op == "mul":
        return a * draw(sub)
    if op == "div":  # by something positive
        return a / draw(st.sampled_from([ed.sigmoid, ed.exp, lambda e: 1 + e**2]))(draw(sub))
    if op == "sq":
        return a**2
    if op == "sig":
        return ed.sigmoid(a)
    if op == "onem":
        return 1 - ed.sigmoid(a)
    if op == "tanh":
        return ed.tanh(a)
    if op == "exp":
        return ed.exp(ed.tanh(a))
    if op == "logsig":
        return ed.log(ed.sigmoid(a))
    if op == "logexp":
        return ed.log(ed.exp(ed.tanh(a)) * ed.sigmoid(draw(sub)))
    return a * draw(sub) + a  # a used twice


#: examples per property (EINDERIV_ALGEBRA_EXAMPLES=2000 for a longer local search)
EXAMPLES = int(os.environ.get("EINDERIV_ALGEBRA_EXAMPLES", "150"))


def _close(got, want):
    finite = np.isfinite(want)
    scale = 1.0 + np.max(np.abs(want[finite]), initial=0.0)
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-7, atol=1e-9 * scale)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(elementwise(4), st.integers(0, 10_000), st.sampled_from([1.0, 6.0]))
def test_normal_form_is_equal_and_never_larger(expr, seed, scale):
    out = normalize(expr)
    values = _values(expr, seed, scale)  # scale 6: sigmoid arguments well beyond ±10
    with np.errstate(all="ignore"):
        _close(_evaluate(out, values), _evaluate(expr, values))
    assert Costs()(out) <= Costs()(expr)


@settings(max_examples=EXAMPLES // 5, deadline=None, suppress_health_check=list(HealthCheck))
@given(elementwise(3))
def test_derivatives_after_normalization_match_central_differences(expr):
    for wrt in sorted(expr.symbols()):
        check_derivative(expr, wrt)


def test_a_very_deep_island_is_cut_not_a_recursion_error():
    x, y = ed.symbols("x[n] y[n]")
    e = x
    for _ in range(2000):
        e = e * y + x
    g = ed.grad(ed.sum(e), "x")
    assert len(topological(g)) < 2 * 2000 + 10
    values = {"x": np.full(3, 0.5), "y": np.full(3, 0.5)}
    np.testing.assert_allclose(g.evaluate(values), np.full(3, 2.0 - 0.5**2000), rtol=1e-12)


def test_simplify_reaches_the_normal_form():
    u, y = ed.symbols("u[n] y[n]")
    s = ed.sigmoid(u)
    assert ed.simplify((1 - y) * s - y * (1 - s)) == s - y
    assert ed.simplify(ed.exp(u) * ed.exp(-u) * y) == y
