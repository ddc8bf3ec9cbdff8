"""Matrix Cookbook first-derivative identities (determinants, traces, linear and quadratic
forms, inverses), stated in text: einderiv's gradient equals the cookbook's formula evaluated
with numpy, and agrees with central finite differences.

Reference: K. B. Petersen, M. S. Pedersen, *The Matrix Cookbook* (2012), sections 2.1
(determinants), 2.2 (inverses), 2.4 (linear and quadratic forms), 2.5 (traces).
"""

from __future__ import annotations

import numpy as np
import pytest

import einderiv as ed
from einderiv.testing import check_derivative

SPEC = (
    "X[n,n] A[n,n] B[n,n] C[n,n] D[n,n] Wm[n,n] a[n] b[n] c[n] x[n] s[n] "
    "R[n,m] Ar[k,n] Br[m,k]"
)
SIZES = {"n": 3, "m": 4, "k": 5}


def _values(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for sym in ed.symbols(SPEC):
        out[sym.name] = rng.normal(size=tuple(SIZES[d] for d in sym.dims))
    # well-conditioned square matrices for inverses and determinants
    for name in ("X", "A", "B"):
        out[name] = out[name] + 3 * np.eye(3)
    return out


inv = np.linalg.inv
det = np.linalg.det

# (name, text, wrt, cookbook gradient as a function of the values)
IDENTITIES = [
    # determinants (2.1.2)
    ("d det(X)", "det(X)", "X", lambda v: det(v["X"]) * inv(v["X"]).T),
    ("d det(AXB)", "det(A @ X @ B)", "X",
     lambda v: det(v["A"] @ v["X"] @ v["B"]) * inv(v["X"]).T),
    ("d det(X^T X)", "det(X.T @ X)", "X", lambda v: 2 * det(v["X"].T @ v["X"]) * inv(v["X"]).T),
    ("d ln|det X|", "logdet(X)", "X", lambda v: inv(v["X"]).T),
    ("d ln det(X^T X)", "logdet(X.T @ X)", "X", lambda v: 2 * inv(v["X"]).T),
    ("d det(X^k), k=2", "det(X @ X)", "X", lambda v: 2 * det(v["X"] @ v["X"]) * inv(v["X"]).T),
    ("d ln det(X^-1)", "logdet(inv(X))", "X", lambda v: -inv(v["X"]).T),
    ("d ln det(AXB)", "logdet(A @ X @ B)", "X", lambda v: inv(v["X"]).T),
    # traces (2.5)
    ("d tr(X)", "trace(X)", "X", lambda v: np.eye(3)),
    ("d tr(XA)", "trace(X @ A)", "X", lambda v: v["A"].T),
    ("d tr(AXB), X rectangular", "trace(Ar @ R @ Br)", "R", lambda v: v["Ar"].T @ v["Br"].T),
    ("d tr(AX^T B)", "trace(A @ X.T @ B)", "X", lambda v: v["B"] @ v["A"]),
    ("d tr(X^T A)", "trace(X.T @ A)", "X", lambda v: v["A"]),
    ("d tr(AX^T)", "trace(A @ X.T)", "X", lambda v: v["A"]),
    ("d tr(X^2)", "trace(X @ X)", "X", lambda v: 2 * v["X"].T),
    ("d tr(X^2 B)", "trace(X @ X @ B)", "X",
     lambda v: (v["X"] @ v["B"] + v["B"] @ v["X"]).T),
    ("d tr(X^T B X)", "trace(X.T @ B @ X)", "X",
     lambda v: v["B"] @ v["X"] + v["B"].T @ v["X"]),
    ("d tr(X B X^T)", "trace(X @ B @ X.T)", "X",
     lambda v: v["X"] @ v["B"].T + v["X"] @ v["B"]),
    ("d tr(AXBX)", "trace(A @ X @ B @ X)", "X",
     lambda v: v["A"].T @ v["X"].T @ v["B"].T + v["B"].T @ v["X"].T @ v["A"].T),
    ("d tr(X^T X)", "trace(X.T @ X)", "X", lambda v: 2 * v["X"]),
    ("d tr(X^T X), X rectangular", "trace(R.T @ R)", "R", lambda v: 2 * v["R"]),
    ("d tr(B X X^T)", "trace(B @ X @ X.T)", "X", lambda v: (v["B"] + v["B"].T) @ v["X"]),
    ("d tr(X^T B X C)", "trace(X.T @ B @ X @ C)", "X",
     lambda v: v["B"] @ v["X"] @ v["C"] + v["B"].T @ v["X"] @ v["C"].T),
    ("d tr(AXBX^T C)", "trace(A @ X @ B @ X.T @ C)", "X",
     lambda v: v["A"].T @ v["C"].T @ v["X"] @ v["B"].T + v["C"] @ v["A"] @ v["X"] @ v["B"]),
    ("d tr(X^3)", "trace(X @ X @ X)", "X", lambda v: 3 * (v["X"] @ v["X"]).T),
    ("d tr(AX^-1B)", "trace(A @ inv(X) @ B)", "X",
     lambda v: -(inv(v["X"]) @ v["B"] @ v["A"] @ inv(v["X"])).T),
    ("d tr(X^-1)", "trace(inv(X))", "X", lambda v: -(inv(v["X"]) @ inv(v["X"])).T),
    ("d tr(X^-1) as einsum", "einsum('ii', inv(X))", "X",
     lambda v: -(inv(v["X"]) @ inv(v["X"])).T),
    # linear and quadratic forms (2.4)
    ("d a^T x", "a @ x", "x", lambda v: v["a"]),
    ("d a^T X b", "a @ X @ b", "X", lambda v: np.outer(v["a"], v["b"])),
    ("d a^T X^T b", "a @ X.T @ b", "X", lambda v: np.outer(v["b"], v["a"])),
    ("d a^T X a", "a @ X @ a", "X", lambda v: np.outer(v["a"], v["a"])),
    ("d b^T X^T X c", "b @ X.T @ X @ c", "X",
     lambda v: v["X"] @ (np.outer(v["b"], v["c"]) + np.outer(v["c"], v["b"]))),
    ("d b^T X^T D X c", "b @ X.T @ D @ X @ c", "X",
     lambda v: v["D"].T @ v["X"] @ np.outer(v["b"], v["c"])
     + v["D"] @ v["X"] @ np.outer(v["c"], v["b"])),
    ("d x^T B x", "x @ B @ x", "x", lambda v: (v["B"] + v["B"].T) @ v["x"]),
    ("d (Xb+c)^T D (Xb+c)", "(X @ b + c) @ D @ (X @ b + c)", "X",
     lambda v: np.outer((v["D"] + v["D"].T) @ (v["X"] @ v["b"] + v["c"]), v["b"])),
    ("d (x-s)^T W (x-s) / ds", "(x - s) @ Wm @ (x - s)", "s",
     lambda v: -(v["Wm"] + v["Wm"].T) @ (v["x"] - v["s"])),
    ("d ||x - a||_2", "norm(x - a)", "x",
     lambda v: (v["x"] - v["a"]) / np.linalg.norm(v["x"] - v["a"])),
    ("d ||X||_F^2", "sum(X * X)", "X", lambda v: 2 * v["X"]),
    # inverses (2.2)
    ("d a^T X^-1 b", "a @ inv(X) @ b", "X",
     lambda v: -inv(v["X"]).T @ np.outer(v["a"], v["b"]) @ inv(v["X"]).T),
    ("d a^T X^-T b", "a @ inv(X).T @ b", "X",
     lambda v: -inv(v["X"]).T @ np.outer(v["b"], v["a"]) @ inv(v["X"]).T),
]


def test_count():
    assert len(IDENTITIES) >= 25


@pytest.mark.parametrize(("name", "text", "wrt", "formula"), IDENTITIES,
                         ids=[i[0] for i in IDENTITIES])
def test_cookbook_identity(name, text, wrt, formula):
    f = ed.parse(text, shapes=SPEC)
    assert f.shape == ()
    values = _values(seed=len(text))
    got = ed.grad(f, wrt).evaluate(values)
    np.testing.assert_allclose(got, formula(values), rtol=1e-9, atol=1e-9, err_msg=name)
    used = {k: v for k, v in values.items() if k in f.symbols()}
    check_derivative(f, wrt, sizes=SIZES, values=used, seed=1)
