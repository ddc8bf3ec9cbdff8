"""Every named identity: numerically equal to the expression it rewrites, and recorded.

``before`` is built raw (``Func.make`` / ``MatFunc.make``: no rewriting), ``after`` through
the smart constructors or the normal form; both are evaluated at random float64 values
with distinct sizes per dim, sigmoid arguments up to ±30, and compared wherever
``before`` is finite.  Identities that do not hold for every real input (``log(x*y)`` of
two possibly negative factors, ``log(x**2)``, ``exp(log(x))``) must not fire.
"""

from __future__ import annotations

import numpy as np
import pytest

import einderiv as ed
from einderiv.ir.nodes import Func, MatFunc
from einderiv.rewrite import normalize, recording
from einderiv.rewrite.identities import RULES

SIZES = {"n": 5, "m": 4, "k": 3}

u, v, z, y, p = ed.symbols("u[n] v[n] z[n] y[n] p[n]")
Z = ed.symbols("Z[n,m]")
X, Y, A = ed.symbols("X[n,n] Y[n,n] A[n,n]")
S = ed.symbols("S[n,n]:sym")
x = ed.symbols("x[n]")


def _raw(name, arg):
    return Func.make(name, arg)


def _values(seed, scale):
    rng = np.random.default_rng(seed)
    values = {name: scale * rng.normal(size=(SIZES["n"],)) for name in "uvzyxp"}
    values["p"] = np.abs(values["p"]) + 0.1  # a positive vector for log-power checks
    values["Z"] = scale * rng.normal(size=(SIZES["n"], SIZES["m"]))
    for name in "XYA":
        values[name] = rng.normal(size=(SIZES["n"], SIZES["n"])) + 3 * np.eye(SIZES["n"])
    s = rng.normal(size=(SIZES["n"], SIZES["n"]))
    values["S"] = s + s.T + 6 * np.eye(SIZES["n"])
    return values


def _check(before, after, scales=(1.0, 10.0, 30.0)):
    for seed in range(3):
        for scale in scales:
            values = _values(seed, scale)
            with np.errstate(all="ignore"):
                want = np.asarray(before.evaluate(values, sizes=SIZES), dtype=float)
                got = np.asarray(after.evaluate(values, sizes=SIZES), dtype=float)
            finite = np.isfinite(want)
            assert finite.any()
            np.testing.assert_allclose(got[finite], want[finite], rtol=1e-7, atol=1e-9)


def _built_with(rule, build):
    with recording() as log:
        after = build()
    assert rule in RULES
    assert rule in [name for name, _, _ in log], [name for name, _, _ in log]
    return after


# -- functions ------------------------------------------------------------------------

FUNCTION_CASES = [
    ("log exp", lambda: _raw("log", _raw("exp", u)), lambda: ed.log(ed.exp(u))),
    ("log softmax", lambda: _raw("log", ed.softmax(z)), lambda: ed.log(ed.softmax(z))),
    ("log sigmoid", lambda: _raw("log", _raw("sigmoid", u)), lambda: ed.log(ed.sigmoid(u))),
    # 1 - σ(u) loses all its digits beyond u ~ 15: compared at moderate u only
    ("log one minus sigmoid", lambda: _raw("log", 1 - _raw("sigmoid", u / 5)),
     lambda: ed.log(1 - ed.sigmoid(u / 5))),
    ("softplus", lambda: _raw("log", 1 + _raw("exp", u)), lambda: ed.log(1 + ed.exp(u))),
    ("log product", lambda: _raw("log", _raw("exp", u) * y),
     lambda: ed.log(ed.exp(u) * y)),
    ("log product", lambda: _raw("log", ed.exp(z) / ed.sum(ed.exp(z))),
     lambda: ed.log(ed.exp(z) / ed.sum(ed.exp(z)))),
    ("log product", lambda: _raw("log", 3 * _raw("sigmoid", u) * _raw("exp", v)),
     lambda: ed.log(3 * ed.sigmoid(u) * ed.exp(v))),
    ("log power", lambda: _raw("log", p**3), lambda: ed.log(p**3)),
    ("log power", lambda: _raw("log", 1 / p), lambda: ed.log(1 / p)),
    ("log power", lambda: _raw("log", ed.exp(u) ** 2), lambda: ed.log(ed.exp(u) ** 2)),
    ("log power", lambda: _raw("log", ed.sqrt(p)), lambda: ed.log(ed.sqrt(p))),
    ("log sum exp", lambda: _raw("log", ed.sum(ed.exp(Z), axis=1)),
     lambda: ed.log(ed.sum(ed.exp(Z), axis=1))),
    ("log sum exp", lambda: _raw("log", ed.sum(ed.exp(Z), axis=0)),
     lambda: ed.log(ed.sum(ed.exp(Z), axis=0))),
    ("log sum exp", lambda: _raw("log", 2 * ed.sum(ed.exp(z))),
     lambda: ed.log(2 * ed.sum(ed.exp(z)))),
]


@pytest.mark.parametrize(("rule", "before", "build"), FUNCTION_CASES,
                         ids=[f"{c[0]}-{k}" for k, c in enumerate(FUNCTION_CASES)])
def test_function_identity(rule, before, build):
    after = _built_with(rule, build)
    assert after != before()
    _check(before(), after)


def test_the_log_identities_reach_their_textbook_forms():
    assert ed.log(ed.sigmoid(u)) == -ed.softplus(-u)
    assert ed.log(1 - ed.sigmoid(u)) == -ed.softplus(u)
    assert ed.log(ed.softmax(z)) == z - ed.logsumexp(z)
    assert ed.log(ed.exp(z) / ed.sum(ed.exp(z))) == z - ed.logsumexp(z)
    assert ed.log(ed.sum(ed.exp(Z), axis=1)) == ed.logsumexp(Z, axis=1)


def test_large_arguments_stay_finite():
    """log(σ(u)) as -softplus(-u) is finite where the raw form underflows to -inf."""
    values = {"u": np.array([-800.0, -40.0, 0.0, 40.0, 800.0])}
    got = ed.log(ed.sigmoid(u)).evaluate(values)
    np.testing.assert_allclose(got, -np.logaddexp(0.0, -values["u"]))
    got = ed.log(1 - ed.sigmoid(u)).evaluate(values)
    np.testing.assert_allclose(got, -np.logaddexp(0.0, values["u"]))


@pytest.mark.parametrize(
    "build",
    [
        lambda: ed.log(u * y),            # both factors may be negative
        lambda: ed.log(u**2),             # log(u**2) = 2 log|u|, not 2 log u
        lambda: ed.exp(ed.log(u)),        # exp(log(u)) = u only for u > 0
        lambda: ed.log(2 * u),            # log 2 + log u is not shorter
        lambda: ed.log(ed.sum(ed.exp(Z) * Z, axis=1)),
    ],
)
def test_identities_that_do_not_hold_everywhere_do_not_fire(build):
    with recording() as log:
        build()
    assert not log


# -- the normal form ------------------------------------------------------------------


def test_sigmoid_complement():
    before = ed.sigmoid(-u) + ed.sigmoid(u) * y + ed.sigmoid(u)
    after = _built_with("sigmoid complement", lambda: normalize(before))
    assert after == 1 + y * ed.sigmoid(u)
    _check(before, after, scales=(1.0, 3.0))
    # no rewrite where it does not remove a term: σ(-u) + y σ(u) stays
    assert normalize(ed.sigmoid(-u) + ed.sigmoid(u) * y) == ed.sigmoid(-u) + ed.sigmoid(u) * y


def test_sigmoid_derivative_is_s_times_one_minus_s():
    assert ed.vjp(ed.sigmoid(u), "u", "g") == ed.parse(
        "g * sigmoid(u) * (1 - sigmoid(u))", shapes="u[n] g[n]")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (ed.exp(u) * ed.exp(-u) * v, v),
        (ed.exp(u) / ed.exp(u - v), ed.exp(v)),
        (ed.softmax(z) * ed.exp(ed.logsumexp(z)), ed.exp(z)),
        (ed.exp(u) * ed.exp(v), ed.exp(u) * ed.exp(v)),  # exp(u + v) is not shorter
    ],
)
def test_exp_product_only_where_it_shortens(before, after):
    assert normalize(before) == after
    _check(before, after, scales=(1.0, 10.0))


def test_cancel_collect_and_factor():
    a, b, c = ed.symbols("a[n] b[n] c[n]")
    cases = [
        (a * b / a, b),
        (a * b + 2 * a * b, 3 * a * b),
        (a * b - a * c, a * (b - c)),
        ((a + b) * c / (a + b), c),
    ]
    for before, after in cases:
        assert normalize(before) == after


# -- matrices -------------------------------------------------------------------------

MATRIX_CASES = [
    ("det inverse", lambda: MatFunc.make("det", MatFunc.make("inv", X)),
     lambda: ed.det(ed.inv(X))),
    ("logdet inverse", lambda: MatFunc.make("logdet", MatFunc.make("inv", X)),
     lambda: ed.logdet(ed.inv(X))),
    ("det product", lambda: MatFunc.make("det", X @ Y.T @ X), lambda: ed.det(X @ Y.T @ X)),
    ("det product", lambda: MatFunc.make("det", X.T), lambda: ed.det(X.T)),
    ("logdet product", lambda: MatFunc.make("logdet", X @ Y), lambda: ed.logdet(X @ Y)),
    ("inverse cancel", lambda: A @ ed.inv(X) @ X @ x, lambda: A @ ed.inv(X) @ X @ x),
    ("inverse cancel", lambda: ed.inv(X).T @ X.T, lambda: ed.inv(X).T @ X.T),
    ("inverse cancel", lambda: X @ ed.inv(X) @ Y, lambda: X @ ed.inv(X) @ Y),
    ("inverse cancel", lambda: ed.inv(S) @ S.T, lambda: ed.inv(S) @ S.T),
]


def _raw_matmul(*factors):
    """``A @ B @ ...`` as one raw product (no rewriting), for the numeric reference."""
    from einderiv.ir.nodes import Product

    n = factors[0].dims[0]
    pairs = [(f, (k, k + 1)) for k, f in enumerate(factors)]
    return Product.make(1.0, pairs, (0, len(factors)), [n] * (len(factors) + 1))


def test_matrix_identities_numerically():
    for rule, before, build in MATRIX_CASES:
        after = _built_with(rule, build)
        _check(before(), after, scales=(1.0,))
    _check(_raw_matmul(ed.inv(X), X), ed.inv(X) @ X, scales=(1.0,))
    _check(_raw_matmul(X, ed.inv(X), Y), X @ ed.inv(X) @ Y, scales=(1.0,))


def test_matrix_identities_reach_their_forms():
    assert ed.det(ed.inv(X)) == ed.det(X) ** -1
    assert ed.logdet(ed.inv(X)) == -ed.logdet(X)
    assert ed.det(X @ X @ X) == ed.det(X) ** 3
    assert ed.inv(X) @ X @ x == x
    assert ed.inv(X).T @ X.T @ x == x
    assert X @ ed.inv(X) @ Y == Y


def test_matrix_identities_that_do_not_hold_do_not_fire():
    W = ed.symbols("W[n,k]")
    V = ed.symbols("V[k,n]")
    with recording() as log:
        ed.inv(X) @ X.T @ x          # inv(X) X.T is not I
        ed.det(W @ V)                # W, V are not square
        ed.det(2 * X)                # det(2X) = 2**n det(X): not applied
    assert not [rule for rule, _, _ in log if rule in ("inverse cancel", "det product")]


def test_derivatives_through_matrix_identities():
    f = ed.parse("det(inv(X))", shapes="X[n,n]")
    g = ed.grad(f, "X")
    assert g == ed.parse("-inv(X).T / det(X)", shapes="X[n,n]")
    f = ed.parse("det(X @ X @ X @ X @ X)", shapes="X[n,n]")
    g = ed.grad(f, "X")
    assert g == ed.parse("5 * det(X)**5 * inv(X).T", shapes="X[n,n]")
    values = {"X": _values(0, 1.0)["X"]}
    d = np.linalg.det(values["X"])
    np.testing.assert_allclose(g.evaluate(values), 5 * d**5 * np.linalg.inv(values["X"]).T,
                               rtol=1e-8)


def test_size_one_index_folds():
    shapes = "x[n,1] A[n,n]"
    g = ed.grad(ed.parse("sum(x.T @ A @ x)", shapes=shapes), "x")
    assert g == ed.parse("(A + A.T) @ x", shapes=shapes)
    assert g.to_numpy() == "(A + A.T) @ x"


def test_matrix_common_factor():
    B = ed.symbols("B[n,n]")
    assert normalize(A @ x + B @ x) == (A + B) @ x
    assert normalize(X.T @ u + X.T @ v) == X.T @ (u + v)
    assert ed.grad(ed.parse("x @ A @ x", shapes="x[n] A[n,n]"), "x") == (A + A.T) @ x
