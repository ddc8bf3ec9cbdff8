"""Composing matrix-form trees: chains, elementwise products and scales."""

from __future__ import annotations

from einderiv.render.tree import (
    Expand,
    MatMul,
    MNode,
    Mul,
    Num,
    ReduceSum,
    Scale,
    order_key,
    transpose,
)


def matmul(*items: MNode) -> MNode:
    """``items[0] @ items[1] @ ...`` with nested chains flattened."""
    flat: list[MNode] = []
    last = len(items) - 1
    for index, item in enumerate(items):
        if isinstance(item, MatMul) and item.rank == 1 and last > 0:
            # a vector chain is a column (M @ v) or a row (v @ M); it joins a chain on
            # the left as a row and on the right as a column, or the order would change
            column = item.items[-1].rank == 1
            if (index < last and column) or (index > 0 and not column):
                item = MatMul(1, tuple(transpose(i) for i in reversed(item.items)))
        flat.extend(item.items if isinstance(item, MatMul) else (item,))
    rank = 0
    if flat[0].rank == 2 and flat[-1].rank == 2:
        rank = 2
    elif flat[0].rank == 2 or flat[-1].rank == 2:
        rank = 1
    elif len(flat) == 1:
        rank = flat[0].rank
    return MatMul(rank, tuple(flat))


def mul(*items: MNode) -> MNode:
    """Elementwise product with nested products flattened and scales pulled out."""
    flat: list[MNode] = []
    coeff = 1.0
    for item in items:
        if isinstance(item, Scale):
            coeff *= item.coeff
            item = item.arg
        if isinstance(item, Mul):
            flat.extend(item.items)
        elif isinstance(item, Num):
            coeff *= item.value
        else:
            flat.append(item)
    rank = max((i.rank for i in flat), default=0)
    if not flat:
        return Num(0, coeff)
    node = flat[0] if len(flat) == 1 else Mul(rank, tuple(sorted(flat, key=_mul_order)))
    return scale(coeff, node)


def _mul_order(node: MNode) -> tuple:
    """Scalars first, then vectors placed along an axis, then the rest, by structure."""
    kind = 0 if node.rank == 0 else (1 if isinstance(node, Expand) else 2)
    return (kind, order_key(node))


def expand(node: MNode, axis: int) -> MNode:
    """A vector placed along ``axis`` of a matrix: ``v[:, None]`` (0) or ``v[None, :]`` (1).

    A row or column sum placed back along its own axis is numpy's ``keepdims=True``:
    ``X.sum(axis=1)[:, None]`` is ``X.sum(axis=1, keepdims=True)``.
    """
    if isinstance(node, ReduceSum) and node.axis == 1 - axis and node.arg.rank == 2:
        return ReduceSum(2, node.arg, node.axis, True, node.mean)
    return Expand(2, node, axis)


def scale(coeff: float, node: MNode) -> MNode:
    """``coeff * node`` (nested scales multiplied out)."""
    if isinstance(node, Scale):
        coeff *= node.coeff
        node = node.arg
    if isinstance(node, Num):
        return Num(0, coeff * node.value)
    if coeff == 1.0:
        return node
    return Scale(node.rank, coeff, node)
