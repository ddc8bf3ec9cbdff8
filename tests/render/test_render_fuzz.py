"""Seeded random einsum networks: the matrix form always evaluates like ``evaluate``."""

from __future__ import annotations

import random

import numpy as np
import pytest
from support.oracle import check_numeric, latex_ok
from support.random_exprs import ALL, A, random_expr

import einderiv as ed


@pytest.mark.parametrize("seed", range(60))
def test_random_networks(seed):
    rng = random.Random(seed)
    e = random_expr(rng)
    text = check_numeric(e, seed, ALL)
    pytest.importorskip("matplotlib")
    latex_ok(e.to_latex())
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
