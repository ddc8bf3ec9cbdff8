"""canonical.same: equality up to summed-index renaming and factor/term order."""

from __future__ import annotations

import einderiv as ed
from einderiv.ir.canonical import same
from einderiv.ir.nodes import Product, Sum

A, B, X = ed.symbols("A[n,n] B[n,n] X[n,n]")
x, y = ed.symbols("x[n] y[n]")


def test_same_up_to_renaming_and_order():
    left = ed.einsum("ij,jk,k->i", A, B, x)
    right = ed.einsum("ab,bc,c->a", A, B, x)
    assert same(left, right)
    raw = Product.make(1.0, [(x, (2,)), (B, (1, 2)), (A, (0, 1))], (0,), ["n", "n", "n"])
    assert same(left, raw)
    terms = Sum.make([A @ x, B @ y], ("n",))
    swapped = Sum.make([B @ y, A @ x], ("n",))
    assert same(terms, swapped)
    assert same(ed.tanh(left), ed.tanh(raw))


def test_not_same():
    assert not same(A @ x, A.T @ x)
    assert not same(A @ x, 2 * A @ x)
    assert not same(A @ x + B @ x, A @ x)
    assert not same(ed.tanh(A @ x), ed.exp(A @ x))
    assert not same(ed.trace(A), ed.det(A))
    assert not same(A @ B, B @ A)
