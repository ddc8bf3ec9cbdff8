"""to_kronecker: vec forms of matrix-by-matrix and vector-by-matrix derivatives, numerically."""

from __future__ import annotations

import numpy as np
import pytest

import einderiv as ed
from einderiv.render.kronecker import kronecker_numpy
from einderiv.testing import default_sizes, random_values


def _cases():
    A, x = ed.symbols("A[n,m] x[m]")
    B, b = ed.symbols("B[n,m] b[n]")
    C, D = ed.symbols("C[k,n] D[n,m]")
    X, W = ed.symbols("X[p,q] W[q,r]")
    return [
        ("A @ x by A", ed.diff(A @ x, "A"), "vec(dy) = (x.T ⊗ I) vec(dA)  [column-major vec]"),
        ("b @ B by B", ed.diff(b @ B, "B"), "vec(dy) = (I ⊗ b.T) vec(dA)  [column-major vec]"),
        ("C @ D @ x by D", ed.diff(C @ D @ x, "D"),
         "vec(dy) = (x.T ⊗ C) vec(dA)  [column-major vec]"),
        ("tanh(A @ x) by A", ed.diff(ed.tanh(A @ x), "A"), None),
        ("X @ W by X", ed.diff(X @ W, "X"), "vec(dy) = (W.T ⊗ I) vec(dA)  [column-major vec]"),
    ]


@pytest.mark.parametrize(("name", "expr", "text"), _cases(), ids=[c[0] for c in _cases()])
def test_kronecker_form_equals_the_reshaped_tensor(name, expr, text):
    form = expr.to_kronecker(y="y", x="A")
    assert form is not None
    if text:
        assert form == text
    sizes = default_sizes(expr)
    values = random_values(expr, sizes, np.random.default_rng(0))
    F = expr.evaluate(values, sizes=sizes)
    J = eval(kronecker_numpy(expr), {"np": np, **values})
    np.testing.assert_allclose(J, F.reshape(F.shape[0] * (F.shape[1] if F.ndim == 4 else 1), -1,
                                            order="F"))


def test_no_kronecker_form_for_a_vector_by_vector_derivative():
    W, x = ed.symbols("W[n,m] x[m]")
    assert ed.diff(W @ x, "x").to_kronecker() is None  # 2-D: the Jacobian is W itself
    assert "vec(df) = (x.T ⊗ I) vec(dW)" in ed.explain(W @ x, "W")  # explain shows it
