"""Numpy-like arithmetic on expressions: broadcasting, +, -, *, /, **, @ and transpose."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from numbers import Number
from typing import Any

from einderiv.build.einsum import einsum
from einderiv.build.symbols import as_expr
from einderiv.errors import ShapeError
from einderiv.ir.nodes import Dims, Expr, constant_value
from einderiv.rewrite.elementwise import make_func
from einderiv.rewrite.terms import make_product, make_sum

# -- broadcasting arithmetic ----------------------------------------------------------


def broadcast_dims(left: Dims, right: Dims, op: str = "+") -> Dims:
    """Numpy broadcasting of two dims tuples, by position from the right."""
    width = max(len(left), len(right))
    lpad = ("1",) * (width - len(left)) + tuple(left)
    rpad = ("1",) * (width - len(right)) + tuple(right)
    result = []
    for axis, (a, b) in enumerate(zip(lpad, rpad, strict=True)):
        if a == b or b == "1":
            result.append(a)
        elif a == "1":
            result.append(b)
        else:
            raise ShapeError(
                f"operands of '{op}' do not broadcast: axis {axis - width} is dim '{a}' "
                "on the left "
                f"(dims {list(left)}) and dim '{b}' on the right (dims {list(right)}); "
                "transpose one operand or declare a size-1 axis as '1'"
            )
    # A "1" only survives where both were 1 or missing.
    return tuple(result)


def _aligned_labels(dims: Dims, out: Dims, ldims: dict[int, str]) -> tuple[int, ...]:
    """Labels for an operand of ``dims`` broadcast into ``out`` (labels 0..len(out)-1)."""
    offset = len(out) - len(dims)
    labels = []
    for axis, dim in enumerate(dims):
        target = axis + offset
        if dim == out[target]:
            labels.append(target)
        else:  # a size-1 axis broadcast against a real dim: summed over its single entry
            label = max(ldims) + 1
            ldims[label] = "1"
            labels.append(label)
    return tuple(labels)


def broadcast_to(expr: Expr, out: Dims) -> Expr:
    """``expr`` broadcast to dims ``out`` (``out`` must be a broadcast of its dims)."""
    if expr.dims == tuple(out):
        return expr
    ldims = dict(enumerate(out))
    labels = _aligned_labels(expr.dims, tuple(out), ldims)
    return make_product(1.0, [(expr, labels)], tuple(range(len(out))), ldims)


def add(left: Any, right: Any) -> Expr:
    """``left + right`` with numpy broadcasting."""
    a, b = as_expr(left, "left operand of '+'"), as_expr(right, "right operand of '+'")
    out = broadcast_dims(a.dims, b.dims, "+")
    return make_sum([broadcast_to(a, out), broadcast_to(b, out)], out)


def subtract(left: Any, right: Any) -> Expr:
    """``left - right`` with numpy broadcasting."""
    a, b = as_expr(left, "left operand of '-'"), as_expr(right, "right operand of '-'")
    out = broadcast_dims(a.dims, b.dims, "-")
    return make_sum([broadcast_to(a, out), scale(broadcast_to(b, out), -1.0)], out)


def scale(expr: Expr, factor: float) -> Expr:
    """``factor * expr`` for a number ``factor``."""
    labels = tuple(range(len(expr.dims)))
    return make_product(factor, [(expr, labels)], labels, expr.dims)


def multiply(left: Any, right: Any) -> Expr:
    """``left * right`` elementwise (Hadamard) with numpy broadcasting."""
    if isinstance(left, Number) and isinstance(right, Expr):
        return scale(right, float(left))  # type: ignore[arg-type]
    if isinstance(right, Number) and isinstance(left, Expr):
        return scale(left, float(right))  # type: ignore[arg-type]
    a, b = as_expr(left, "left operand of '*'"), as_expr(right, "right operand of '*'")
    out = broadcast_dims(a.dims, b.dims, "*")
    ldims = dict(enumerate(out))
    la = _aligned_labels(a.dims, out, ldims)
    lb = _aligned_labels(b.dims, out, ldims)
    return make_product(1.0, [(a, la), (b, lb)], tuple(range(len(out))), ldims)


def divide(left: Any, right: Any) -> Expr:
    """``left / right`` elementwise with numpy broadcasting."""
    if isinstance(right, Number):
        if right == 0:
            raise ShapeError("division by the constant 0")
        return multiply(left, 1.0 / float(right))  # type: ignore[arg-type]
    return multiply(left, power(right, -1.0))


def power(base: Any, exponent: Any) -> Expr:
    """``base ** exponent`` for a constant exponent."""
    if isinstance(exponent, Expr):
        value = constant_value(exponent)
        if value is None or exponent.dims:
            raise ShapeError(
                "'**' needs a constant exponent (a number); for x**y with y an expression "
                "write exp(y * log(x))"
            )
        exponent = value
    if not isinstance(exponent, Number) or isinstance(exponent, complex):
        raise ShapeError(f"'**' needs a real number exponent, got {type(exponent).__name__}")
    return make_func("pow", as_expr(base, "base of '**'"), float(exponent))  # type: ignore[arg-type]


def matmul(a: Any, b: Any) -> Expr:
    """``a @ b`` with numpy's rules for 1-D and 2-D operands (and stacked batches)."""
    a, b = as_expr(a, "left operand of '@'"), as_expr(b, "right operand of '@'")
    if not a.dims or not b.dims:
        raise ShapeError(
            f"'@' needs operands of rank >= 1, got dims {list(a.dims)} @ {list(b.dims)}; "
            "use '*' to scale by a scalar"
        )
    ka = a.dims[-1]
    kb = b.dims[0] if len(b.dims) == 1 else b.dims[-2]
    if ka != kb:
        raise ShapeError(
            f"'@' contracts the left operand's last axis (dim '{ka}', dims {list(a.dims)}) "
            "with the "
            f"right operand's {'only' if len(b.dims) == 1 else 'second-to-last'} axis "
            f"(dim '{kb}', dims {list(b.dims)}), and these dims differ; "
            "check the order of the operands or transpose one with .T"
        )
    if len(a.dims) <= 2 and len(b.dims) <= 2:
        letters = {
            (1, 1): "k,k->",
            (2, 1): "ik,k->i",
            (1, 2): "k,kj->j",
            (2, 2): "ik,kj->ij",
        }[(len(a.dims), len(b.dims))]
        return einsum(letters, a, b)
    # Batched matmul: broadcast the leading dims.
    ba = a.dims[:-2] if len(a.dims) >= 2 else ()
    bb = b.dims[:-2] if len(b.dims) >= 2 else ()
    batch = broadcast_dims(ba, bb, "@")
    ldims: dict[int, str] = dict(enumerate(batch))
    nb = len(batch)
    i, k, j = nb, nb + 1, nb + 2
    ldims[k] = ka
    out: list[int] = list(range(nb))
    if len(a.dims) >= 2:
        ldims[i] = a.dims[-2]
        la = _aligned_labels(ba, batch, ldims) + (i, k)
        out.append(i)
    else:
        la = (k,)
    if len(b.dims) >= 2:
        ldims[j] = b.dims[-1]
        lb = _aligned_labels(bb, batch, ldims) + (k, j)
        out.append(j)
    else:
        lb = (k,)
    return make_product(1.0, [(a, la), (b, lb)], tuple(out), ldims)


def transpose(a: Any, axes: Sequence[int] | int | None = None) -> Expr:
    """Permute axes (reverse them by default), as ``np.transpose``.

    >>> import einderiv as ed
    >>> ed.transpose(ed.symbols("X[n,m,k]"), (2, 0, 1)).shape
    ('k', 'n', 'm')
    """
    e = as_expr(a, "transpose operand")
    rank = len(e.dims)
    if isinstance(axes, int):  # (a bool is refused as an axis below)
        axes = (axes,)
    if axes is None:
        perm = tuple(reversed(range(rank)))
    else:
        perm = tuple(_normalize_axis(axis, rank, "transpose") for axis in axes)
        if sorted(perm) != list(range(rank)):
            raise ShapeError(f"transpose: axes {list(axes)} are not a permutation of {rank} axes")
    labels = tuple(range(rank))
    return make_product(1.0, [(e, labels)], perm, e.dims)


def _normalize_axis(axis: Any, rank: int, what: str) -> int:
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise ShapeError(f"{what}: axis must be an integer, got {axis!r}")
    if not -rank <= axis < rank:
        raise ShapeError(f"{what}: axis {axis} is out of range for an operand of rank {rank}")
    return axis % rank


def normalize_axes(axis: int | Iterable[int] | None, rank: int, what: str) -> tuple[int, ...]:
    """Axis positions of ``axis`` (an int, a tuple or None for all) for an operand of ``rank``."""
    if axis is None:
        return tuple(range(rank))
    if isinstance(axis, int):
        return (_normalize_axis(axis, rank, what),)
    if not isinstance(axis, Iterable) or isinstance(axis, str):
        raise ShapeError(f"{what}: axis must be an integer or a tuple of integers, got {axis!r}")
    axes = tuple(_normalize_axis(a, rank, what) for a in axis)
    if len(set(axes)) != len(axes):
        raise ShapeError(f"{what}: repeated axis in {list(axis)}")
    return axes
