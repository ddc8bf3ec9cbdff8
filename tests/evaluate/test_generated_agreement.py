"""Generated code answers exactly as the interpreter, its reference path, does.

Every textbook case's derivative and seeded random networks (with their gradients and
vjps) are compiled twice, with generated bodies and with ``generate=False``, and run on the
same float64 and float32 values: the values, shapes and dtypes agree, and no generated body
fell back to the interpreter (a fallback would hide a bug in the generator).  The values
are also evaluated twice in a row, since the second call runs the cached body directly.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from support.random_exprs import ALL, random_expr
from textbook.cases import CASES
from textbook.harness import derivative, sample

import einderiv as ed
from einderiv.evaluate.compiled import Compiled


def _agree(expr: ed.Expr, values: dict[str, object]) -> None:
    fast, slow = Compiled(expr), Compiled(expr, generate=False)
    assert fast.generated is not None
    want = np.asarray(slow(values))
    for _ in range(2):  # the first call generates the body, the second runs it from the cache
        got = np.asarray(fast(values))
        assert got.shape == want.shape and got.dtype == want.dtype
        scale = float(np.max(np.abs(want))) if want.size else 1.0
        tol = 1e-9 if want.dtype == np.float64 else 2e-4
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(scale, 1e-300))
    assert not fast.generated.fallbacks, fast.generated.fallbacks


def _float32(values: dict[str, object]) -> dict[str, object]:
    return {k: np.asarray(v, dtype=np.float32) for k, v in values.items()}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_textbook_derivatives_agree(case):
    g = derivative(case)
    values = sample(case, seed=3)
    _agree(g, values)
    _agree(g, _float32(values))


@pytest.mark.parametrize("seed", range(40))
def test_random_networks_and_their_derivatives_agree(seed):
    rng = random.Random(7000 + seed)
    e = random_expr(rng)
    sizes = {"n": 3, "m": 4, "k": 5}
    values = {
        s.name: np.random.default_rng(seed).normal(size=tuple(sizes[d] for d in s.dims))
        for s in ALL
    }
    _agree(e, values)
    names = sorted(n for n in e.symbols() if n != "s")
    if names:
        wrt = rng.choice(names)
        _agree(ed.grad(ed.sum(e * e) if e.dims else e * e, wrt), values)


@pytest.mark.parametrize("sign", [1, -1])
def test_a_weighted_gram_matrix_at_blas_sizes(sign):
    """``X.T diag(w) X`` with ``w``'s sign proven: the generated body takes the SYRK path."""
    X, w = ed.symbols("X[m,n] w[n]")
    f = ed.sum(ed.log(1 + ed.exp(X @ w))) if sign > 0 else -ed.sum(ed.log(1 + ed.exp(X @ w)))
    h = ed.hessian(f, "w")
    rng = np.random.default_rng(0)
    values = {"X": rng.normal(size=(300, 200)), "w": rng.normal(size=200) / 10}
    _agree(h, values)
    source = Compiled(h).source(values)
    assert "np.sqrt" in source, source  # the rows scaled by sqrt(|w|), then one B.T @ B
    sv = 1 / (1 + np.exp(-values["X"] @ values["w"]))
    want = sign * values["X"].T @ (values["X"] * (sv * (1 - sv))[:, None])
    np.testing.assert_allclose(Compiled(h)(values), want, rtol=1e-9, atol=1e-9)
