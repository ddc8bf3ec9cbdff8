"""Matrix-form rendering: a gallery of derivatives, each checked numerically and in LaTeX."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

import einderiv as ed
from einderiv.render.api import to_latex, to_numpy

SIZES = {"n": 3, "m": 4, "k": 5, "d": 6, "p": 7, "r": 2, "1": 1}


def values_for(e: ed.Expr, seed: int = 0, extra=()) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    table = {s.name: s for s in extra}
    table.update(e.symbols())
    for name, sym in sorted(table.items()):
        shape = tuple(SIZES[d] for d in sym.dims)
        value = rng.uniform(0.5, 1.5, size=shape) * rng.choice([1.0, 1.0, -1.0], size=shape)
        if sym.symmetric:
            value = value + value.T
        if name.startswith("P"):  # positive values for log/sqrt arguments
            value = np.abs(value)
        out[name] = value
    return out


def _lost_symbols(e: ed.Expr, text: str, vals: dict) -> dict[str, np.ndarray]:
    """Arrays for inputs a result uses only for a dim size (its symbols were lost)."""
    found = {}
    inputs = {sym.name: sym for sym in ed.ir.inputs_of(e)}
    for name in set(re.findall(r"\b(\w+)\.shape\[", text)) - set(vals):
        sym = inputs[name]
        found[name] = np.ones(tuple(SIZES.get(d, 1) for d in sym.dims))
    return found


def check_numeric(e: ed.Expr, seed: int = 0, extra=()) -> str:
    text = to_numpy(e)
    vals = values_for(e, seed, extra)
    vals.update(_lost_symbols(e, text, vals))
    got = eval(text, {"np": np, **vals})  # noqa: S307 - the test checks the contract
    want = e.evaluate(vals)
    np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=1e-9, atol=1e-9)
    assert np.shape(got) == np.shape(want)
    return text


def _rnn():
    Waa, Wax, a_prev, x, ba = ed.symbols("Waa[n,n] Wax[n,k] a_prev[n,m] x[k,m] ba[n,1]")
    return ed.tanh(Waa @ a_prev + Wax @ x + ba)


def _lstm_gate():
    Wf, Uf, h, x, bf = ed.symbols("Wf[n,n] Uf[n,k] h[n,m] x[k,m] bf[n,1]")
    return ed.sigmoid(Wf @ h + Uf @ x + bf)


def _affine():
    X, W, b = ed.symbols("X[m,k] W[k,n] b[n]")
    return X @ W + b


def _softmax_ce():
    W, x, y = ed.symbols("W[n,k] x[k] y[n]")
    return -ed.sum(y * ed.log(ed.softmax(W @ x)))


def _softmax_ce_batch():
    Z, Y = ed.symbols("Z[m,n] Y[m,n]")
    return -ed.sum(Y * ed.log(ed.softmax(Z, axis=1)))


def _lstsq():
    X, y, w = ed.symbols("X[m,d] y[m] w[d]")
    return ed.sum((X @ w - y) ** 2)


def _logreg():
    X, y, w = ed.symbols("X[m,d] y[m] w[d]")
    z = X @ w
    return ed.sum(ed.log1p(ed.exp(z)) - y * z)


def _logreg_sigmoid():
    X, y, w = ed.symbols("X[m,d] y[m] w[d]")
    s = ed.sigmoid(X @ w)
    return -ed.sum(y * ed.log(s) + (1 - y) * ed.log(1 - s))


def _mf():
    U, V, R = ed.symbols("U[m,r] V[n,r] R[m,n]")
    return ed.sum((U @ V.T - R) ** 2)


def _mlp():
    W1, W2, x, y = ed.symbols("W1[n,k] W2[m,n] x[k] y[m]")
    return ed.sum((W2 @ ed.tanh(W1 @ x) - y) ** 2)


def _sym(spec: str):
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
    ("affine_dW", lambda: ed.vjp(_affine(), "W", "G")),
    ("affine_dX", lambda: ed.vjp(_affine(), "X", "G")),
    ("affine_db", lambda: ed.vjp(_affine(), "b", "G")),
    ("rnn_dWaa", lambda: ed.vjp(_rnn(), "Waa", "da")),
    ("rnn_dWax", lambda: ed.vjp(_rnn(), "Wax", "da")),
    ("rnn_da_prev", lambda: ed.vjp(_rnn(), "a_prev", "da")),
    ("rnn_dx", lambda: ed.vjp(_rnn(), "x", "da")),
    ("rnn_dba", lambda: ed.vjp(_rnn(), "ba", "da")),
    ("lstm_dWf", lambda: ed.vjp(_lstm_gate(), "Wf", "df")),
    ("lstm_dUf", lambda: ed.vjp(_lstm_gate(), "Uf", "df")),
    ("lstm_dh", lambda: ed.vjp(_lstm_gate(), "h", "df")),
    ("lstm_dbf", lambda: ed.vjp(_lstm_gate(), "bf", "df")),
    ("softmax_ce_dW", lambda: ed.grad(_softmax_ce(), "W")),
    ("softmax_ce_dx", lambda: ed.grad(_softmax_ce(), "x")),
    ("softmax_ce_batch_dZ", lambda: ed.grad(_softmax_ce_batch(), "Z")),
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
    ("lstsq_grad", lambda: ed.grad(_lstsq(), "w")),
    ("lstsq_hessian", lambda: ed.hessian(_lstsq(), "w")),
    ("lstsq_dX", lambda: ed.grad(_lstsq(), "X")),
    ("logreg_grad", lambda: ed.grad(_logreg(), "w")),
    ("logreg_hessian", lambda: ed.hessian(_logreg(), "w")),
    ("logreg_sigmoid_grad", lambda: ed.grad(_logreg_sigmoid(), "w")),
    ("mf_dU", lambda: ed.grad(_mf(), "U")),
    ("mf_dV", lambda: ed.grad(_mf(), "V")),
    ("mlp_dW1", lambda: ed.grad(_mlp(), "W1")),
    ("mlp_dW2", lambda: ed.grad(_mlp(), "W2")),
    ("relu_layer_dW", lambda: ed.grad(ed.sum(ed.relu(W @ u)), "W")),
    ("tanh_layer_dW", lambda: ed.grad(ed.sum(ed.tanh(W @ u)), "W")),
    ("scalar_c_dc", lambda: ed.grad(c * (x @ x), "c")),
    ("scalar_c_dx", lambda: ed.grad(c * (x @ x), "x")),
    ("ridge_grad", lambda: ed.grad(_lstsq() + c * ed.sum(ed.symbols("w[d]") ** 2), "w")),
    ("mean_sq_grad", lambda: ed.grad(ed.mean((Xs @ u - a) ** 2), "u")),
    ("outer_dx", lambda: ed.vjp(ed.outer(a, b), "a", "G")),
    ("rowsum_dX", lambda: ed.vjp(ed.sum(Xs * Xs, axis=1, keepdims=True), "Xs", "G")),
]


@pytest.mark.parametrize("name,build", GALLERY, ids=[g[0] for g in GALLERY])
def test_gallery_numeric_and_einsum_free(name, build):
    e = build()
    text = check_numeric(e)
    assert "einsum" not in text, text
    assert text == to_numpy(build())  # deterministic


def test_gallery_size():
    assert len(GALLERY) >= 40


EXPECTED = {
    "vjp_Wx_x": "W.T @ g",
    "vjp_Wx_W": "np.outer(g, u)",
    "jvp_Wx_W": "V @ u",
    "affine_dW": "X.T @ G",
    "affine_dX": "G @ W.T",
    "affine_db": "G.sum(axis=0)",
    "xAx_grad": "(A + A.T) @ x",
    "xSx_grad": "2 * S @ x",
    "xAx_hessian": "A + A.T",
    "aXb_dX": "np.outer(a, b)",
    "trAX_dX": "A.T",
    "trAXB_dX": "A.T @ B.T",
    "det_dX": "np.linalg.det(X) * np.linalg.inv(X).T",
    "logdet_dX": "np.linalg.inv(X).T",
    "lstsq_grad": "2 * X.T @ (X @ w - y)",
    "lstsq_hessian": "2 * X.T @ X",
    "sumsq_dX": "2 * X",
    "mean_sq_grad": "2 * Xs.T @ (Xs @ u - a) / Xs.shape[0]",
    "rowsum_dX": "2 * G * Xs",
    "mf_dU": "2 * (U @ V.T - R) @ V",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_expected_strings(name):
    build = dict(GALLERY)[name]
    assert to_numpy(build()) == EXPECTED[name]


def test_rnn_textbook_order():
    dz = "((1 - np.tanh(Waa @ a_prev + Wax @ x + ba)**2) * da)"
    rnn = _rnn()
    assert to_numpy(ed.vjp(rnn, "Waa", "da")) == f"{dz} @ a_prev.T"
    assert to_numpy(ed.vjp(rnn, "Wax", "da")) == f"{dz} @ x.T"
    assert to_numpy(ed.vjp(rnn, "a_prev", "da")) == f"Waa.T @ {dz}"
    assert to_numpy(ed.vjp(rnn, "x", "da")) == f"Wax.T @ {dz}"
    assert to_numpy(ed.vjp(rnn, "ba", "da")) == f"{dz}.sum(axis=1, keepdims=True)"


def test_logistic_hessian_scales_rows():
    text = to_numpy(ed.hessian(_logreg(), "w"))
    assert text.startswith("X.T @ (")
    assert "[:, None] * X" in text


def test_fallback_for_rank4_is_einsum_and_correct():
    e = ed.diff(A @ X, "X")
    text = check_numeric(e)
    assert "np.einsum" in text


def test_rank3_factor_reads_as_a_stack():
    T = ed.symbols("T[n,m,k]")
    e = ed.einsum("ijk,k->ij", T, ed.symbols("z[k]"))
    assert check_numeric(e) == "T @ z"  # numpy's @ on a stack (tests/test_render_stacks.py)
    e2 = ed.grad(ed.sum(ed.einsum("ijk,k->ij", T, ed.symbols("z[k]")) ** 2), "z")
    check_numeric(e2)


def test_trace_outer_and_broadcast_forms():
    assert to_numpy(ed.trace(A @ B)) in ("np.trace(A @ B)", "np.trace(B @ A)")
    assert to_numpy(ed.outer(a, b)) == "np.outer(a, b)"
    check_numeric(ed.trace(A @ B))
    check_numeric(ed.vjp(ed.sum(Xs * Xs), "Xs", "g"))
    check_numeric(ed.diag(v))
    check_numeric(ed.einsum("ii->", A))
    check_numeric(ed.einsum("ij,ij->", A, B))
    check_numeric(ed.einsum("i,ij,j->", a, A, b))
    check_numeric(ed.einsum("i,ij->ij", a, Xs))
    check_numeric(ed.einsum("j,ij->ij", u, Xs))
    check_numeric(ed.einsum("ij,jk,kl->il", A, B, X))
    check_numeric(ed.einsum("ij,kj,kl->li", A, B, X))


def test_broadcast_terms_in_sums():
    e = ed.grad(ed.sum(X @ X), "X")
    assert check_numeric(e) == "X.sum(axis=0)[:, None] + X.sum(axis=1)"
    assert to_latex(e) == (
        r"\left(X^\top \mathbf{1}\right) \mathbf{1}^\top"
        r" + \mathbf{1} \left(X \mathbf{1}\right)^\top"
    )


def test_vector_chains_keep_their_orientation():
    Xm, wv, g, Q = ed.symbols("Xm[m,n] wv[n] g[m] Q[n,n]")
    assert check_numeric(ed.norm(Xm @ wv)) == "np.sqrt(wv @ Xm.T @ Xm @ wv)"
    assert check_numeric((Xm @ wv) @ (Xm @ wv)) == "wv @ Xm.T @ Xm @ wv"
    assert check_numeric(Q @ (g @ Xm)) == "Q @ Xm.T @ g"
    check_numeric(ed.einsum("i,ij,jk->k", g, Xm, Q) @ (Q @ wv))
    assert to_latex(x @ A @ B @ v) == r"x^\top A B v"


def test_zero_and_constants():
    assert check_numeric(ed.grad(x @ x, "x")) == "2 * x"
    assert check_numeric(ed.grad(ed.sum(a * b), "a")) == "b"
    zero = ed.vjp(W @ u + 0 * a, "u", "g")
    assert check_numeric(zero) == "W.T @ g"


def _latex_ok(text: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.mathtext import MathTextParser

    MathTextParser("path").parse(f"${text}$")
    from matplotlib import mathtext

    mathtext.math_to_image(f"${text}$", io.BytesIO(), format="png")


@pytest.mark.parametrize("name,build", GALLERY, ids=[g[0] for g in GALLERY])
def test_gallery_latex_compiles(name, build):
    pytest.importorskip("matplotlib")
    text = to_latex(build())
    assert text
    _latex_ok(text)


def test_latex_forms():
    assert to_latex(ed.vjp(W @ u, "u", "g")) == r"W^\top g"
    assert to_latex(ed.grad(ed.det(X), "X")) == r"\det\left(X\right) X^{-\top}"
    assert r"\odot" in to_latex(ed.vjp(_rnn(), "Waa", "da"))
    assert r"\mathrm{tr}" in to_latex(ed.trace(A @ B))
    assert to_latex(ed.grad(x @ S @ x, "x")) == "2 S x"
    rank4 = to_latex(ed.diff(X @ A, "X"))
    assert rank4.startswith("F_{abcd} = ")
    pytest.importorskip("matplotlib")
    _latex_ok(rank4)


def test_repr_uses_matrix_form():
    assert repr(ed.vjp(W @ u, "u", "g")) == "W.T @ g"


def test_deep_bptt_renders_and_repr_stays_short():
    Waa, Wax, h0, b = ed.symbols("Waa[n,n] Wax[n,k] h0[n] b[n]")
    h = h0
    xs = []
    for t in range(40):
        xt = ed.symbols(f"x{t}[k]")
        xs.append(xt)
        h = ed.tanh(Waa @ h + Wax @ xt + b)
    L = ed.sum(h * h)
    g = ed.grad(L, "Wax")
    assert len(repr(g)) < 200
    from einderiv.codewriter import codegen

    source = codegen(g, name="bptt")
    vals = values_for(g)
    scope: dict = {}
    exec(compile(source, "<bptt>", "exec"), scope)  # noqa: S102
    np.testing.assert_allclose(scope["bptt"](**vals), g.evaluate(vals), rtol=1e-8)
    assert "einsum" not in source


def test_deterministic_across_rebuilds():
    first = [to_numpy(build()) for _, build in GALLERY]
    second = [to_numpy(build()) for _, build in reversed(GALLERY)][::-1]
    assert first == second
    assert [to_latex(b()) for _, b in GALLERY] == [to_latex(b()) for _, b in GALLERY]
