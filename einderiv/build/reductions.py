"""Structural reductions: sum, mean, logsumexp and softmax over axes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from einderiv.build.arithmetic import normalize_axes, subtract
from einderiv.build.symbols import as_expr
from einderiv.errors import ShapeError
from einderiv.ir.nodes import Expr, LogSumExp, Size
from einderiv.rewrite.elementwise import make_func
from einderiv.rewrite.terms import make_product


def reduce_sum(a: Any, axis: int | Iterable[int] | None = None, keepdims: bool = False) -> Expr:
    """Sum over ``axis`` (all by default), as ``np.sum``; ``keepdims`` leaves size-1 axes.

    >>> import einderiv as ed
    >>> X = ed.symbols("X[n,m]")
    >>> ed.sum(X, axis=1, keepdims=True).shape
    ('n', '1')
    """
    e = as_expr(a, "sum operand")
    return _reduce(e, normalize_axes(axis, len(e.dims), "sum"), keepdims, mean=False)


def mean(a: Any, axis: int | Iterable[int] | None = None, keepdims: bool = False) -> Expr:
    """Mean over ``axis`` (all by default), as ``np.mean``."""
    e = as_expr(a, "mean operand")
    return _reduce(e, normalize_axes(axis, len(e.dims), "mean"), keepdims, mean=True)


def _reduce(e: Expr, axes: tuple[int, ...], keepdims: bool, *, mean: bool) -> Expr:
    rank = len(e.dims)
    ldims: dict[int, str] = dict(enumerate(e.dims))
    out: list[int] = []
    for axis in range(rank):
        if axis not in axes:
            out.append(axis)
        elif keepdims:
            label = max(ldims) + 1
            ldims[label] = "1"
            out.append(label)
    factors: list[tuple[Expr, tuple[int, ...]]] = [(e, tuple(range(rank)))]
    if mean:
        for axis in axes:
            if e.dims[axis] != "1":
                factors.append((make_func("pow", Size.make(e.dims[axis]), -1.0), ()))
    return make_product(1.0, factors, tuple(out), ldims)


def logsumexp(a: Any, axis: int | Iterable[int] | None = None, keepdims: bool = False) -> Expr:
    """``log(sum(exp(x), axis))`` evaluated stably (all axes by default, as jax)."""
    e = as_expr(a, "logsumexp operand")
    axes = normalize_axes(axis, len(e.dims), "logsumexp")
    result: Expr = LogSumExp.make(e, axes)
    if keepdims:
        rank = len(e.dims)
        ldims = {i: ("1" if i in axes else e.dims[i]) for i in range(rank)}
        kept = tuple(i for i in range(rank) if i not in axes)
        result = make_product(1.0, [(result, kept)], tuple(range(rank)), ldims)
    return result


def softmax(x: Any, axis: int | Iterable[int] = -1) -> Expr:
    """``exp(x - logsumexp(x, axis, keepdims=True))`` (last axis by default)."""
    e = as_expr(x, "softmax operand")
    if not e.dims:
        raise ShapeError("softmax needs an operand of rank >= 1")
    axes = normalize_axes(axis, len(e.dims), "softmax")
    lse = LogSumExp.make(e, axes)
    kept = [i for i in range(len(e.dims)) if i not in axes]
    ldims = dict(enumerate(e.dims))
    spread = make_product(1.0, [(lse, tuple(kept))], tuple(range(len(e.dims))), ldims)
    return make_func("exp", subtract(e, spread))
