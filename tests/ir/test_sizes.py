"""Results that lost every symbol carrying a dim read its size off their own inputs."""

import numpy as np

import einderiv as ed


def test_identity_gradient_names_its_own_wrt():
    A = ed.symbols("A[n,n]")
    ed.symbols("b_later[n]")  # declared after A: must not be named by A's gradient
    g = ed.grad(ed.trace(A), A)
    assert g.to_numpy() == "np.eye(A.shape[0])"
    value = np.arange(9.0).reshape(3, 3)
    assert np.array_equal(g.evaluate({"A": value}), np.eye(3))
    assert np.array_equal(eval(g.to_numpy(), {"np": np, "A": value}), np.eye(3))


def test_jacobian_of_matmul_reads_p_from_x():
    X, W = ed.symbols("X[p,q] W[q,r]")
    ed.symbols("unrelated[p]")
    J = ed.diff(X @ W, X)
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(3, 4)), rng.normal(size=(4, 5))
    got = J.evaluate({"X": x, "W": w})
    want = np.einsum("ac,db->abcd", np.eye(3), w)
    assert np.allclose(got, want)
    assert "X.shape[0]" in J.to_einsum()
    assert "unrelated" not in ed.codegen(J)
