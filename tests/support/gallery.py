"""The render gallery: named derivatives of textbook functions, shared by several test files.

``GALLERY`` is a list of ``(id, build)`` pairs; every entry renders einsum-free and matches
``evaluate`` (``tests/render/test_render.py`` checks it).  The module-level symbols have
distinct sizes per dim (see ``support.oracle.SIZES``).
"""

from __future__ import annotations

import einderiv as ed


def rnn():
    Waa, Wax, a_prev, x, ba = ed.symbols("Waa[n,n] Wax[n,k] a_prev[n,m] x[k,m] ba[n,1]")
    return ed.tanh(Waa @ a_prev + Wax @ x + ba)


def lstm_gate():
    Wf, Uf, h, x, bf = ed.symbols("Wf[n,n] Uf[n,k] h[n,m] x[k,m] bf[n,1]")
    return ed.sigmoid(Wf @ h + Uf @ x + bf)


def affine():
    X, W, b = ed.symbols("X[m,k] W[k,n] b[n]")
    return X @ W + b


def softmax_ce():
    W, x, y = ed.symbols("W[n,k] x[k] y[n]")
    return -ed.sum(y * ed.log(ed.softmax(W @ x)))


def softmax_ce_batch():
    Z, Y = ed.symbols("Z[m,n] Y[m,n]")
    return -ed.sum(Y * ed.log(ed.softmax(Z, axis=1)))


def lstsq():
    X, y, w = ed.symbols("X[m,d] y[m] w[d]")
    return ed.sum((X @ w - y) ** 2)


def logreg():
    X, y, w = ed.symbols("X[m,d] y[m] w[d]")
    z = X @ w
    return ed.sum(ed.log1p(ed.exp(z)) - y * z)


def logreg_sigmoid():
    X, y, w = ed.symbols("X[m,d] y[m] w[d]")
    s = ed.sigmoid(X @ w)
    return -ed.sum(y * ed.log(s) + (1 - y) * ed.log(1 - s))


def mf():
    U, V, R = ed.symbols("U[m,r] V[n,r] R[m,n]")
    return ed.sum((U @ V.T - R) ** 2)


def mlp():
    W1, W2, x, y = ed.symbols("W1[n,k] W2[m,n] x[k] y[m]")
    return ed.sum((W2 @ ed.tanh(W1 @ x) - y) ** 2)


def sym(spec: str):
    return ed.symbols(spec)


A, B, X, Xs = ed.symbols("A[n,n] B[n,n] X[n,n] Xs[n,m]")
a, b, x, v = ed.symbols("a[n] b[n] x[n] v[n]")
S = ed.symbols("S[n,n]:sym")
W, u = ed.symbols("W[n,m] u[m]")
c = ed.symbols("c")

# (id, expression); every entry renders einsum-free and matches evaluate.
GALLERY = [
    ("vjp_Wx_x", lambda: ed.vjp(W @ u, "u", "g")),
    ("vjp_Wx_W", lambda: ed.vjp(W @ u, "W", "g")),
    ("jvp_Wx_W", lambda: ed.jvp(W @ u, "W", "V")),
    ("jvp_Wx_x", lambda: ed.jvp(W @ u, "u", "t")),
    ("diff_Wx_x", lambda: ed.diff(W @ u, "u")),
    ("affine_dW", lambda: ed.vjp(affine(), "W", "G")),
    ("affine_dX", lambda: ed.vjp(affine(), "X", "G")),
    ("affine_db", lambda: ed.vjp(affine(), "b", "G")),
    ("rnn_dWaa", lambda: ed.vjp(rnn(), "Waa", "da")),
    ("rnn_dWax", lambda: ed.vjp(rnn(), "Wax", "da")),
    ("rnn_da_prev", lambda: ed.vjp(rnn(), "a_prev", "da")),
    ("rnn_dx", lambda: ed.vjp(rnn(), "x", "da")),
    ("rnn_dba", lambda: ed.vjp(rnn(), "ba", "da")),
    ("lstm_dWf", lambda: ed.vjp(lstm_gate(), "Wf", "df")),
    ("lstm_dUf", lambda: ed.vjp(lstm_gate(), "Uf", "df")),
    ("lstm_dh", lambda: ed.vjp(lstm_gate(), "h", "df")),
    ("lstm_dbf", lambda: ed.vjp(lstm_gate(), "bf", "df")),
    ("softmax_ce_dW", lambda: ed.grad(softmax_ce(), "W")),
    ("softmax_ce_dx", lambda: ed.grad(softmax_ce(), "x")),
    ("softmax_ce_batch_dZ", lambda: ed.grad(softmax_ce_batch(), "Z")),
    ("xAx_grad", lambda: ed.grad(x @ A @ x, "x")),
    ("xSx_grad", lambda: ed.grad(x @ S @ x, "x")),
    ("xAx_hessian", lambda: ed.hessian(x @ A @ x, "x")),
    ("xAx_dA", lambda: ed.grad(x @ A @ x, "A")),
    ("aXb_dX", lambda: ed.grad(a @ X @ b, "X")),
    ("trAX_dX", lambda: ed.grad(ed.trace(A @ X), "X")),
    ("trAXB_dX", lambda: ed.grad(ed.trace(A @ X @ B), "X")),
    ("trXAXt_dX", lambda: ed.grad(ed.trace(X @ A @ X.T), "X")),
    ("trXtX_dX", lambda: ed.grad(ed.trace(X.T @ X), "X")),
    ("trXX_dX", lambda: ed.grad(ed.trace(X @ X), "X")),
    ("det_dX", lambda: ed.grad(ed.det(X), "X")),
    ("logdet_dX", lambda: ed.grad(ed.logdet(X), "X")),
    ("a_invX_b_dX", lambda: ed.grad(a @ ed.inv(X) @ b, "X")),
    ("tr_invX_dX", lambda: ed.grad(ed.trace(ed.inv(X)), "X")),
    ("sumsq_dX", lambda: ed.grad(ed.sum(X * X), "X")),
    ("norm2_dx", lambda: ed.grad(ed.norm(x) ** 2, "x")),
    ("sum_exp_dx", lambda: ed.grad(ed.sum(ed.exp(x)), "x")),
    ("diag_dX", lambda: ed.grad(ed.sum(ed.diag(X) * v), "X")),
    ("lstsq_grad", lambda: ed.grad(lstsq(), "w")),
    ("lstsq_hessian", lambda: ed.hessian(lstsq(), "w")),
    ("lstsq_dX", lambda: ed.grad(lstsq(), "X")),
    ("logreg_grad", lambda: ed.grad(logreg(), "w")),
    ("logreg_hessian", lambda: ed.hessian(logreg(), "w")),
    ("logreg_sigmoid_grad", lambda: ed.grad(logreg_sigmoid(), "w")),
    ("mf_dU", lambda: ed.grad(mf(), "U")),
    ("mf_dV", lambda: ed.grad(mf(), "V")),
    ("mlp_dW1", lambda: ed.grad(mlp(), "W1")),
    ("mlp_dW2", lambda: ed.grad(mlp(), "W2")),
    ("relu_layer_dW", lambda: ed.grad(ed.sum(ed.relu(W @ u)), "W")),
    ("tanh_layer_dW", lambda: ed.grad(ed.sum(ed.tanh(W @ u)), "W")),
    ("scalar_c_dc", lambda: ed.grad(c * (x @ x), "c")),
    ("scalar_c_dx", lambda: ed.grad(c * (x @ x), "x")),
    ("ridge_grad", lambda: ed.grad(lstsq() + c * ed.sum(ed.symbols("w[d]") ** 2), "w")),
    ("mean_sq_grad", lambda: ed.grad(ed.mean((Xs @ u - a) ** 2), "u")),
    ("outer_dx", lambda: ed.vjp(ed.outer(a, b), "a", "G")),
    ("rowsum_dX", lambda: ed.vjp(ed.sum(Xs * Xs, axis=1, keepdims=True), "Xs", "G")),
]
