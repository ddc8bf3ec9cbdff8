"""Matrix-form rendering: a gallery of derivatives, each checked numerically and in LaTeX."""

from __future__ import annotations

import numpy as np
import pytest
from support.gallery import GALLERY, A, B, S, W, X, Xs, a, b, logreg, rnn, u, v, x
from support.oracle import check_numeric, latex_ok, values_for

import einderiv as ed
from einderiv.render.api import to_latex, to_numpy


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
    step = rnn()
    assert to_numpy(ed.vjp(step, "Waa", "da")) == f"{dz} @ a_prev.T"
    assert to_numpy(ed.vjp(step, "Wax", "da")) == f"{dz} @ x.T"
    assert to_numpy(ed.vjp(step, "a_prev", "da")) == f"Waa.T @ {dz}"
    assert to_numpy(ed.vjp(step, "x", "da")) == f"Wax.T @ {dz}"
    assert to_numpy(ed.vjp(step, "ba", "da")) == f"{dz}.sum(axis=1, keepdims=True)"


def test_logistic_hessian_scales_rows():
    text = to_numpy(ed.hessian(logreg(), "w"))
    assert text.startswith("X.T @ (")
    assert "[:, None] * X" in text


def test_fallback_for_rank4_is_einsum_and_correct():
    e = ed.diff(A @ X, "X")
    text = check_numeric(e)
    assert "np.einsum" in text


def test_rank3_factor_reads_as_a_stack():
    T = ed.symbols("T[n,m,k]")
    e = ed.einsum("ijk,k->ij", T, ed.symbols("z[k]"))
    assert check_numeric(e) == "T @ z"  # numpy's @ on a stack (tests/render/test_render_stacks.py)
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


@pytest.mark.parametrize("name,build", GALLERY, ids=[g[0] for g in GALLERY])
def test_gallery_latex_compiles(name, build):
    pytest.importorskip("matplotlib")
    text = to_latex(build())
    assert text
    latex_ok(text)


def test_latex_forms():
    assert to_latex(ed.vjp(W @ u, "u", "g")) == r"W^\top g"
    assert to_latex(ed.grad(ed.det(X), "X")) == r"\det\left(X\right) X^{-\top}"
    assert r"\odot" in to_latex(ed.vjp(rnn(), "Waa", "da"))
    assert r"\mathrm{tr}" in to_latex(ed.trace(A @ B))
    assert to_latex(ed.grad(x @ S @ x, "x")) == "2 S x"
    rank4 = to_latex(ed.diff(X @ A, "X"))
    assert rank4.startswith("F_{abcd} = ")
    pytest.importorskip("matplotlib")
    latex_ok(rank4)


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
