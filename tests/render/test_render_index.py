"""Index form and the vec/Kronecker form of 4-D matrix-by-matrix derivatives."""

from __future__ import annotations

import numpy as np
import pytest

import einderiv as ed
from einderiv.render.kronecker import kronecker_numpy, to_kronecker


def jacobian_colmajor(F: np.ndarray) -> np.ndarray:
    p, q, r, s = F.shape
    return F.reshape(p * q, r * s, order="F")


CASES = [
    ("XW_dX", lambda X, W, A, B: ed.diff(X @ W, "X"), "vec(dY) = (W.T ⊗ I) vec(dX)"),
    ("XW_dW", lambda X, W, A, B: ed.diff(X @ W, "W"), "vec(dY) = (I ⊗ X) vec(dX)"),
    ("AXB_dX", lambda X, W, A, B: ed.diff(A @ X @ B, "X"), "vec(dY) = (B.T ⊗ A) vec(dX)"),
    ("X_dX", lambda X, W, A, B: ed.diff(X, "X"), "vec(dY) = (I ⊗ I) vec(dX)"),
    ("2X_dX", lambda X, W, A, B: ed.diff(2 * X @ W, "X"), "vec(dY) = 2 * (W.T ⊗ I) vec(dX)"),
    ("inv_dX", lambda X, W, A, B: ed.diff(ed.inv(A), "A"), None),
]


def _symbols():
    return ed.symbols("X[n,m] W[m,k] A[n,n] B[m,d]")


@pytest.mark.parametrize("name,build,text", CASES, ids=[c[0] for c in CASES])
def test_kronecker_matches_tensor(name, build, text, values_for):
    e = build(*_symbols())
    form = to_kronecker(e)
    assert form is not None
    if text is not None:
        assert form == text + "  [column-major vec]"
    vals = values_for(e, extra=_symbols())
    J = eval(kronecker_numpy(e), {"np": np, **vals})  # noqa: S307
    np.testing.assert_allclose(J, jacobian_colmajor(e.evaluate(vals)), atol=1e-9)


def test_inverse_kronecker_text():
    X, W, A, B = _symbols()
    assert to_kronecker(ed.diff(ed.inv(A), "A")) == (
        "vec(dY) = -(np.linalg.inv(A).T ⊗ np.linalg.inv(A)) vec(dX)  [column-major vec]"
    )


def test_no_kronecker_form():
    X, W, A, B = _symbols()
    assert to_kronecker(ed.diff(X.T @ X, "X")) is None  # needs a commutation matrix
    assert to_kronecker(ed.diff(X @ W @ ed.symbols("z[k]"), "X")) == (  # 3-D: vector by matrix
        "vec(dY) = ((W @ z).T ⊗ I) vec(dX)  [column-major vec]")
    assert kronecker_numpy(ed.diff(X.T @ X, "X")) is None


def test_index_form():
    X, W, A, B = _symbols()
    assert ed.diff(X @ W, "X").to_index() == "F_abcd = δ_ac W_db"
    assert ed.vjp(X @ W, "X", "g").to_index() == "F_ab = Σ_i g_ai W_bi"


def test_rank4_numpy_fallback_matches(values_for):
    X, W, A, B = _symbols()
    e = ed.diff(X.T @ X, "X")
    text = e.to_numpy()
    vals = values_for(e)
    np.testing.assert_allclose(eval(text, {"np": np, **vals}), e.evaluate(vals))  # noqa: S307
