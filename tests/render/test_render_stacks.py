"""Rank-3 work in numpy's own spellings: ``*``, ``.transpose(...)``, ``@`` on stacks, ``.sum``.

``np.einsum`` only where numpy has nothing shorter, and then cheap to run (``optimize=True``
past two operands).  Golden spellings for the issue's examples; a seeded property over
random einsum networks with rank-3 factors: the printed text evaluates like ``evaluate``,
parses back to the same values, and uses einsum only for what the stack rules cannot read
(a diagonal, an axis no factor spans, broadcasting that does not line up).
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from support.random_exprs import random_network

import einderiv as ed

SIZES = {"a": 2, "b": 3, "c": 4, "d": 5, "e": 6}


def _values(e: ed.Expr, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {s.name: rng.normal(size=tuple(SIZES[d] for d in s.dims))
            for s in sorted(ed.ir.inputs_of(e), key=lambda s: s.name)}


def check(e: ed.Expr, shapes: str) -> str:
    """``to_numpy`` of ``e`` evaluates like ``evaluate`` and parses back to the same values."""
    text = e.to_numpy()
    values = _values(e)
    want = e.evaluate(values)
    got = eval(text, {"np": np, **values})  # noqa: S307 - the library's own text
    assert np.shape(got) == np.shape(want), text
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=text)
    back = ed.parse(text, shapes=shapes)
    np.testing.assert_allclose(back.evaluate(values), want, rtol=1e-10, atol=1e-12)
    return text


@pytest.mark.parametrize(("text", "shapes", "want"), [
    ("T * U", "T[a,b,c] U[a,b,c]", "T * U"),
    ("T * v", "T[a,b,c] v[c]", "T * v"),
    ("T * M", "T[a,b,c] M[b,c]", "M * T"),
    ("T.transpose(2, 0, 1)", "T[a,b,c]", "T.transpose(2, 0, 1)"),
    ("T.transpose(2, 0, 1).transpose(1, 2, 0)", "T[a,b,c]", "T"),
    ("T @ U", "T[a,b,c] U[a,c,d]", "T @ U"),
    ("T @ M", "T[a,b,c] M[c,d]", "T @ M"),
    ("M @ T", "M[d,b] T[a,b,c]", "M @ T"),
    ("T @ x", "T[a,b,c] x[c]", "T @ x"),
    ("y @ T", "T[a,b,c] y[b]", "y @ T"),
    ("sum(T, axis=1)", "T[a,b,c]", "T.sum(axis=1)"),
    ("T.sum(axis=(0, 2))", "T[a,b,c]", "T.sum(axis=(0, 2))"),
    ("sum(T * U)", "T[a,b,c] U[a,b,c]", "(T * U).sum()"),
    ("einsum('abc,cd,de->abe', T, M, N)", "T[a,b,c] M[c,d] N[d,e]", "T @ M @ N"),
    ("einsum('abc,abc->ab', T, U)", "T[a,b,c] U[a,b,c]", "(T * U).sum(axis=2)"),
])
def test_numpy_spellings_for_stacks(text, shapes, want):
    assert check(ed.parse(text, shapes=shapes), shapes) == want


def test_the_issues_examples():
    T, U, g = ed.symbols("T[a,b,c] U[a,b,c] g[c,a,b]")
    assert (T * U).to_numpy() == "T * U"
    assert ed.einsum("cab->abc", g).to_numpy() == "g.transpose(1, 2, 0)"
    assert ed.vjp(T * U, "T", "G").to_numpy() == "G * U"


def test_einsum_is_the_last_resort_and_cheap():
    shapes = "T[a,a,b] v[a] w[b]"
    diagonal = ed.parse("einsum('aab,b->a', T, w)", shapes=shapes)
    assert "np.einsum" in check(diagonal, shapes)  # a diagonal: numpy has nothing shorter
    shapes = "A[a,b] B[b,c] C[c,d] D[d,a] E[a,e]"
    many = ed.parse("einsum('ab,bc,cd,da,ae->e', A, B, C, D, E)", shapes=shapes)
    check(many, shapes)


def test_a_third_derivative_prints_a_fast_einsum():
    """Issue 13: a 23-operand einsum without optimize= ran 10^11 steps; now milliseconds."""
    x, W = ed.symbols("x[n] W[n,n]")
    f = ed.sum(ed.tanh(W @ ed.tanh(W @ x)) ** 2)
    d3 = ed.diff(ed.hessian(f, "x"), "x")
    text = d3.to_numpy()
    values = {"x": np.linspace(-1, 1, 6), "W": np.random.default_rng(0).normal(size=(6, 6))}
    got = eval(text, {"np": np, **values})  # noqa: S307 - the library's own text
    np.testing.assert_allclose(got, d3.evaluate(values), rtol=1e-9, atol=1e-9)
    for call in text.split("np.einsum(")[1:]:
        operands = call.split("->")[1].split(")")[0].count(",")
        assert operands <= 2 or "optimize=True" in call


@pytest.mark.parametrize("seed", range(60))
def test_random_stacks_print_like_they_evaluate(seed):
    e, shapes = random_network(random.Random(seed))
    check(e, shapes)
    for name in sorted(e.symbols()):
        if e.dims:
            g = ed.symbols("G[" + ",".join(e.dims) + "]")
            d = ed.vjp(e, name, g)
            check(d, shapes + " G[" + ",".join(e.dims) + "]")
        else:
            check(ed.grad(e, name), shapes)
