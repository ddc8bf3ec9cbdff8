"""Generated code answers exactly as the interpreter, its reference path, does.

Every textbook case's derivative and seeded random networks (with their gradients and
vjps) are compiled twice, with generated bodies and with ``generate=False``, and run on the
same float64 and float32 values: the values, shapes and dtypes agree, and no generated body
fell back to the interpreter (a fallback would hide a bug in the generator).  The values
are also evaluated twice in a row, since the second call runs the cached body directly.
"""

from __future__ import annotations

import random
import re

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


def _most_alive(source: str, pattern: str) -> int:
    """The most temporaries (``tK``) assigned ``pattern`` that a body keeps alive at once."""
    alive: set[str] = set()
    most = 0
    for line in source.splitlines():
        line = line.strip()
        if line.startswith("del "):
            alive.discard(line[4:])
        elif re.match(r"^t\d+ = " + pattern, line):
            alive.add(line.split(" = ")[0])
        most = max(most, len(alive))
    return most


def _bptt_gradient(steps: int) -> ed.Expr:
    Waa, Wax, a0 = ed.symbols("Waa[n,n] Wax[n,k] a0[n,m]")
    a, loss = a0, None
    for t in range(steps):
        xt, gt = ed.symbols(f"x{t}[k,m] g{t}[n,m]")
        a = ed.tanh(Waa @ a + Wax @ xt)
        term = ed.sum(a * gt)
        loss = term if loss is None else loss + term
    return ed.grad(loss, "Waa")


def test_a_sum_of_many_terms_accumulates_as_they_come():
    """BPTT's ``dW = sum_t dz_t @ h_t.T``: each term is added in as soon as it exists.

    Keeping the T products alive until the last one is computed costs T fresh n x n
    buffers (page faults at n = 256: 1.7x the hand-written loop); the hand-written loop
    keeps T states and one running total, and so does the generated body.
    """
    steps = 12
    g = _bptt_gradient(steps)
    rng = np.random.default_rng(2)
    n, k, m = 6, 4, 5
    values = {"Waa": rng.normal(size=(n, n)) / 3, "Wax": rng.normal(size=(n, k)) / 2,
              "a0": rng.normal(size=(n, m))}
    for t in range(steps):
        values[f"x{t}"] = rng.normal(size=(k, m))
        values[f"g{t}"] = rng.normal(size=(n, m))
    _agree(g, values)
    source = Compiled(g).source(values)
    outer = r"np\.matmul\(t\d+, t\d+\.T\)"  # dz_t @ h_t.T, the terms of dW
    assert source.count("np.matmul(") >= steps and re.search(outer, source), source
    assert _most_alive(source, outer) <= 2, source
    # an independent oracle: the hand-written loop
    states = [values["a0"]]
    for t in range(steps):
        states.append(np.tanh(values["Waa"] @ states[-1] + values["Wax"] @ values[f"x{t}"]))
    dW, da = np.zeros((n, n)), np.zeros((n, m))
    for t in reversed(range(steps)):
        dz = (values[f"g{t}"] + da) * (1 - states[t + 1] ** 2)
        dW += dz @ states[t].T
        da = values["Waa"].T @ dz
    np.testing.assert_allclose(Compiled(g)(values), dW, rtol=1e-10, atol=1e-12)
