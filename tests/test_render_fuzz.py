"""Seeded random einsum networks: the matrix form always evaluates like ``evaluate``."""

from __future__ import annotations

import random

import numpy as np
import pytest
from test_render import _latex_ok, check_numeric

import einderiv as ed

A, B, C, u, v, w, s = ed.symbols("A[n,n] B[n,m] C[m,k] u[n] v[m] w[k] s")
OPERANDS = [A, B, C, u, v, w, s, A.T, ed.tanh(B), ed.exp(u), B @ v, u @ B, A @ B, C.T @ v]
ALL = [A, B, C, u, v, w, s]
LETTERS = {"n": "abg", "m": "cd", "k": "ef"}


def random_einsum(rng: random.Random) -> ed.Expr:
    ops = [rng.choice(OPERANDS) for _ in range(rng.randint(1, 4))]
    subs = ["".join(rng.choice(LETTERS[d]) for d in op.dims) for op in ops]
    used = sorted({c for sub in subs for c in sub})
    rng.shuffle(used)
    out = "".join(used[: rng.randint(0, min(2, len(used)))])
    return ed.einsum(",".join(subs) + "->" + out, *ops)


def random_expr(rng: random.Random) -> ed.Expr:
    e = random_einsum(rng)
    roll = rng.random()
    if roll < 0.2:
        e = ed.tanh(e)
    elif roll < 0.4:
        other = random_einsum(rng)
        for _ in range(20):
            if other.dims == e.dims:
                return e - 2 * other
            other = random_einsum(rng)
    return e


@pytest.mark.parametrize("seed", range(60))
def test_random_networks(seed):
    rng = random.Random(seed)
    e = random_expr(rng)
    text = check_numeric(e, seed, ALL)
    pytest.importorskip("matplotlib")
    _latex_ok(e.to_latex())
    if all(len(f.dims) <= 2 for f in e.walk()) and len(e.dims) <= 2:
        assert "einsum" not in text, text


@pytest.mark.parametrize("seed", range(30))
def test_random_derivatives(seed):
    rng = random.Random(1000 + seed)
    e = random_expr(rng)
    names = sorted(n for n in e.symbols() if n != "s")
    if not names:
        pytest.skip("no symbol to differentiate")
    wrt = rng.choice(names)
    target = ed.sum(e * e) if e.dims else e * e
    g = ed.grad(target, wrt)
    assert "einsum" not in check_numeric(g, seed, ALL)
    if e.dims:
        gbar = ed.symbols(f"gbar{seed}[{','.join(e.dims)}]")
        assert "einsum" not in check_numeric(ed.vjp(e, wrt, gbar), seed, [*ALL, gbar])
    else:
        check_numeric(ed.grad(e, wrt), seed, ALL)


def test_values_are_numbers():
    assert np.isfinite(check_numeric(ed.einsum("ab,bc,ca->", A, A, A)) != "")
