"""Worked models: the RNN step, an affine layer, Jacobians, Hessians, BPTT.

Each symbolic result is compared with the formula a person writes by hand in numpy,
and with central finite differences.
"""

from __future__ import annotations

import numpy as np
import pytest

import einderiv as ed
from einderiv.ir.traversal import topological
from einderiv.testing import check_derivative

N, K, M = 3, 4, 5  # distinct sizes for n, k, m


# -- the RNN step ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def rnn():
    Waa, Wax, a_prev, x, ba = ed.symbols("Waa[n,n] Wax[n,k] a_prev[n,m] x[k,m] ba[n,1]")
    z = Waa @ a_prev + Wax @ x + ba
    a = ed.tanh(z)
    rng = np.random.default_rng(7)
    values = {
        "Waa": rng.normal(size=(N, N)),
        "Wax": rng.normal(size=(N, K)),
        "a_prev": rng.normal(size=(N, M)),
        "x": rng.normal(size=(K, M)),
        "ba": rng.normal(size=(N, 1)),
        "da": rng.normal(size=(N, M)),
    }
    v = values
    av = np.tanh(v["Waa"] @ v["a_prev"] + v["Wax"] @ v["x"] + v["ba"])
    dz = v["da"] * (1 - av**2)
    expected = {
        "Waa": dz @ v["a_prev"].T,
        "Wax": dz @ v["x"].T,
        "a_prev": v["Waa"].T @ dz,
        "x": v["Wax"].T @ dz,
        "ba": dz.sum(axis=1, keepdims=True),
    }
    return a, values, expected


def test_rnn_step_shapes(rnn):
    a, _, _ = rnn
    assert a.shape == ("n", "m")
    shapes = {w: ed.vjp(a, w, "da").shape for w in ("Waa", "Wax", "a_prev", "x", "ba")}
    assert shapes == {
        "Waa": ("n", "n"),
        "Wax": ("n", "k"),
        "a_prev": ("n", "m"),
        "x": ("k", "m"),
        "ba": ("n", "1"),
    }


@pytest.mark.parametrize("wrt", ["Waa", "Wax", "a_prev", "x", "ba"])
def test_rnn_step_vjp_matches_hand_written_backprop(rnn, wrt):
    a, values, expected = rnn
    got = ed.vjp(a, wrt, "da").evaluate(values)
    assert got.shape == expected[wrt].shape
    np.testing.assert_allclose(got, expected[wrt], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("wrt", ["Waa", "Wax", "a_prev", "x", "ba"])
def test_rnn_step_matches_finite_differences(rnn, wrt):
    a, values, _ = rnn
    point = {k: v for k, v in values.items() if k != "da"}
    check_derivative(a, wrt, values=point)


def test_rnn_square_weight_order_is_not_transposed(rnn):
    """dWaa = dz @ a_prev.T, not a_prev @ dz.T (both are n x n when m = n)."""
    a, values, expected = rnn
    got = ed.vjp(a, "Waa", "da").evaluate(values)
    assert not np.allclose(got, expected["Waa"].T)


# -- affine layer, Jacobian, quadratic form ---------------------------------------------


def test_affine_layer():
    X, W, b = ed.symbols("X[s,d] W[d,h] b[h]")
    f = X @ W + b
    assert f.shape == ("s", "h")
    rng = np.random.default_rng(3)
    v = {"X": rng.normal(size=(3, 4)), "W": rng.normal(size=(4, 5)), "b": rng.normal(size=5)}
    g = rng.normal(size=(3, 5))
    np.testing.assert_allclose(f.evaluate(v), v["X"] @ v["W"] + v["b"])
    np.testing.assert_allclose(ed.vjp(f, "W", "g").evaluate({**v, "g": g}), v["X"].T @ g)
    np.testing.assert_allclose(ed.vjp(f, "X", "g").evaluate({**v, "g": g}), g @ v["W"].T)
    np.testing.assert_allclose(ed.vjp(f, "b", "g").evaluate({**v, "g": g}), g.sum(axis=0))
    for wrt in ("X", "W", "b"):
        check_derivative(f, wrt)


def test_jacobian_of_matmul_is_delta_times_w():
    X, W = ed.symbols("X[a,b] W[b,c]")
    J = ed.diff(X @ W, X)
    assert J.shape == ("a", "c", "a", "b")
    rng = np.random.default_rng(5)
    Wv = rng.normal(size=(4, 5))
    # F_acde = δ_ad W_ec, built by hand
    expected = np.einsum("ad,ec->acde", np.eye(3), Wv)
    got = J.evaluate({"W": Wv}, sizes={"a": 3})
    np.testing.assert_allclose(got, expected)
    # and w.r.t. W: F_acde = X_ad δ_ce
    Xv = rng.normal(size=(3, 4))
    got_w = ed.diff(X @ W, W).evaluate({"X": Xv}, sizes={"c": 5})
    np.testing.assert_allclose(got_w, np.einsum("ad,ce->acde", Xv, np.eye(5)))


def test_quadratic_form_gradient_and_hessian():
    x, A = ed.symbols("x[n] A[n,n]")
    s = x @ A @ x
    g = ed.grad(s, x)
    H = ed.hessian(s, x)
    assert g.shape == ("n",)
    assert H.shape == ("n", "n")
    assert H == A + A.T
    rng = np.random.default_rng(11)
    Av, xv = rng.normal(size=(4, 4)), rng.normal(size=4)
    np.testing.assert_allclose(g.evaluate({"x": xv, "A": Av}), (Av + Av.T) @ xv)
    np.testing.assert_allclose(H.evaluate({"A": Av}), Av + Av.T)
    check_derivative(g, x)


def test_third_derivative_by_differences_of_the_hessian():
    x, A = ed.symbols("x[n] A[m,n]")
    s = ed.sum(ed.exp(A @ x))
    H = ed.hessian(s, x)
    T = ed.diff(H, x)
    assert T.shape == ("n", "n", "n")
    rng = np.random.default_rng(2)
    Av, xv = rng.normal(size=(4, 3)) * 0.5, rng.normal(size=3)
    h = 1e-6
    numeric = np.stack(
        [
            (
                H.evaluate({"A": Av, "x": xv + h * e}) - H.evaluate({"A": Av, "x": xv - h * e})
            ) / (2 * h)
            for e in np.eye(3)
        ],
        axis=-1,
    )
    np.testing.assert_allclose(T.evaluate({"A": Av, "x": xv}), numeric, rtol=1e-6, atol=1e-7)
    # closed form: T_ijk = Σ_r exp(Ax)_r A_ri A_rj A_rk
    e = np.exp(Av @ xv)
    closed = np.einsum("r,ri,rj,rk->ijk", e, Av, Av, Av)
    np.testing.assert_allclose(T.evaluate({"A": Av, "x": xv}), closed)
    check_derivative(H, x)


def test_third_derivative_of_a_cubic_is_constant():
    x = ed.symbols("x[n]")
    s = ed.einsum("i,i,i->", x, x, x)  # Σ x_i^3
    T = ed.diff(ed.hessian(s, x), x)
    got = T.evaluate({"x": np.arange(3.0)}, sizes={"n": 3})
    expected = np.zeros((3, 3, 3))
    for i in range(3):
        expected[i, i, i] = 6.0
    np.testing.assert_allclose(got, expected)


@pytest.mark.parametrize(
    ("build", "wrt"),
    [
        (lambda X, W, V: ed.tanh(X @ W), "W"),
        (lambda X, W, V: ed.softmax(X @ W) * V, "X"),
        (lambda X, W, V: ed.sum(X @ W * V, axis=0), "W"),
        (lambda X, W, V: (X @ W) ** 2 + V, "X"),
    ],
)
def test_vjp_equals_diff_contracted_with_cotangent(build, wrt):
    X, W, V = ed.symbols("X[a,b] W[b,c] V[a,c]")
    f = build(X, W, V)
    g = ed.symbols("g[" + ",".join(f.dims) + "]") if f.dims else ed.symbols("g")
    rng = np.random.default_rng(9)
    sizes = {"a": 3, "b": 4, "c": 5}
    values = {
        "X": rng.normal(size=(3, 4)),
        "W": rng.normal(size=(4, 5)),
        "V": rng.normal(size=(3, 5)),
        "g": rng.normal(size=tuple(sizes[d] for d in f.dims)),
    }
    r = len(f.dims)
    letters = "pqrstuvw"
    fl, wl = letters[:r], letters[r : r + 2]
    # symbolically: einsum(diff(f, X), g) over f's indices
    contracted = ed.einsum(f"{fl}{wl},{fl}->{wl}", ed.diff(f, wrt), g)
    pulled = ed.vjp(f, wrt, g)
    assert pulled.shape == contracted.shape
    np.testing.assert_allclose(
        pulled.evaluate(values, sizes=sizes), contracted.evaluate(values, sizes=sizes), atol=1e-12
    )
    # numerically, contracting the evaluated Jacobian by hand
    jac = ed.diff(f, wrt).evaluate(values, sizes=sizes)
    by_hand = np.tensordot(values["g"], jac, axes=(list(range(r)), list(range(r))))
    np.testing.assert_allclose(pulled.evaluate(values, sizes=sizes), by_hand, atol=1e-12)


# -- backpropagation through time -------------------------------------------------------


def _unrolled(steps: int):
    Waa, Wax, ba, a0 = ed.symbols("Waa[n,n] Wax[n,k] ba[n,1] a0[n,m]")
    a = a0
    loss = None
    for t in range(steps):
        xt, gt = ed.symbols(f"x{t}[k,m] g{t}[n,m]")
        a = ed.tanh(Waa @ a + Wax @ xt + ba)
        term = ed.sum(a * gt)
        loss = term if loss is None else loss + term
    return loss


def _numpy_bptt(values, steps):
    Waa, Wax, ba = values["Waa"], values["Wax"], values["ba"]
    states = [values["a0"]]
    for t in range(steps):
        states.append(np.tanh(Waa @ states[-1] + Wax @ values[f"x{t}"] + ba))
    dWaa, dWax, dba = np.zeros_like(Waa), np.zeros_like(Wax), np.zeros_like(ba)
    da_next = np.zeros_like(states[0])
    for t in reversed(range(steps)):
        da = values[f"g{t}"] + da_next
        dz = da * (1 - states[t + 1] ** 2)
        dWaa += dz @ states[t].T
        dWax += dz @ values[f"x{t}"].T
        dba += dz.sum(axis=1, keepdims=True)
        da_next = Waa.T @ dz
    return {"Waa": dWaa, "Wax": dWax, "ba": dba, "a0": da_next}


def _bptt_values(steps, seed=0):
    rng = np.random.default_rng(seed)
    n, k, m = 3, 4, 5
    values = {
        "Waa": rng.normal(size=(n, n)) * 0.5,
        "Wax": rng.normal(size=(n, k)) * 0.5,
        "ba": rng.normal(size=(n, 1)),
        "a0": rng.normal(size=(n, m)),
    }
    for t in range(steps):
        values[f"x{t}"] = rng.normal(size=(k, m))
        values[f"g{t}"] = rng.normal(size=(n, m))
    return values


def test_bptt_20_steps_linear_and_correct():
    loss20 = _unrolled(20)
    grads = {w: ed.grad(loss20, w) for w in ("Waa", "Wax", "ba", "a0")}
    assert grads["Waa"].shape == ("n", "n")
    assert grads["ba"].shape == ("n", "1")

    values = _bptt_values(20)
    expected = _numpy_bptt(values, 20)
    for name, g in grads.items():
        np.testing.assert_allclose(g.evaluate(values), expected[name], rtol=1e-10, atol=1e-10)


def test_bptt_size_grows_linearly_with_steps():
    nodes = {}
    for steps in (10, 20, 40):
        nodes[steps] = len(topological(ed.grad(_unrolled(steps), "Waa")))
    assert nodes[20] < 2.5 * nodes[10]
    assert nodes[40] < 2.5 * nodes[20]
    # and the gradient is a small multiple of the forward graph, not exponential in it
    assert nodes[20] < 4 * len(topological(_unrolled(20)))


def test_bptt_last_step_only_vjp():
    steps = 20
    Waa, Wax, ba, a0 = ed.symbols("Waa[n,n] Wax[n,k] ba[n,1] a0[n,m]")
    a = a0
    for t in range(steps):
        a = ed.tanh(Waa @ a + Wax @ ed.symbols(f"x{t}[k,m]") + ba)
    dWaa = ed.vjp(a, Waa, "da")
    values = _bptt_values(steps, seed=1)
    values = {k: v for k, v in values.items() if not k.startswith("g")}
    da = np.random.default_rng(4).normal(size=(3, 5))
    for t in range(steps):
        values[f"g{t}"] = da if t == steps - 1 else np.zeros_like(da)
    expected = _numpy_bptt(values, steps)["Waa"]
    np.testing.assert_allclose(dWaa.evaluate({**values, "da": da}), expected, rtol=1e-10)


def test_bptt_matches_finite_differences_short():
    check_derivative(_unrolled(4), "Waa")
    check_derivative(_unrolled(4), "ba")


def _size(expr):
    """Nodes plus edges of the DAG: grows with the factors inlined into products too."""
    return sum(1 + len(node.children) for node in topological(expr))


def _last_state(steps):
    Waa, Wax, ba, a0 = ed.symbols("Waa[n,n] Wax[n,k] ba[n,1] a0[n,m]")
    a = a0
    for t in range(steps):
        a = ed.tanh(Waa @ a + Wax @ ed.symbols(f"x{t}[k,m]") + ba)
    return a


def test_bptt_last_step_gradient_size_is_linear():
    """Inlining single-use adjoints must not copy shared ones (was quadratic)."""
    sizes = {steps: _size(ed.grad(ed.sum(_last_state(steps)), "Waa")) for steps in (10, 20, 40)}
    assert sizes[20] < 2.5 * sizes[10]
    assert sizes[40] < 2.5 * sizes[20]


def test_bptt_hessian_derives_fast_and_linear():
    """Forward over reverse (a Hessian) through 20 steps (took 35 s before the fix)."""
    sizes = {}
    for steps in (10, 20):
        H = ed.hessian(ed.sum(_last_state(steps)), "ba")
        assert H.shape == ("n", "1", "n", "1")
        sizes[steps] = _size(H)
    assert sizes[20] < 2.5 * sizes[10]
    check_derivative(ed.grad(ed.sum(_last_state(4)), "ba"), "ba")
