"""Numpy-like operators on expressions, installed onto :class:`~einderiv.ir.Expr`.

The IR layer defines the nodes; this layer gives them ``+ - * / ** @ .T .sum()`` with
numpy's semantics (broadcasting by position).  Installing from here, rather than
importing the builders from the IR, keeps the IR at the bottom of the layers.

>>> import einderiv as ed
>>> W, x = ed.symbols("W[n,m] x[m]")
>>> (W @ x).shape, W.T.shape
(('n',), ('m', 'n'))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from einderiv.ir.nodes import Expr

Builder = Callable[..., Expr]


def install(
    *,
    add: Builder,
    subtract: Builder,
    multiply: Builder,
    divide: Builder,
    power: Builder,
    matmul: Builder,
    transpose: Builder,
    reduce_sum: Builder,
) -> None:
    """Give :class:`Expr` its arithmetic operators, built by the given builders (idempotent)."""

    def _sum(self: Expr, axis: int | Iterable[int] | None = None, keepdims: bool = False) -> Expr:
        """Sum over ``axis`` (all axes by default), as ``ndarray.sum``."""
        return reduce_sum(self, axis=axis, keepdims=keepdims)

    def _transposed(self: Expr) -> Expr:
        """Transpose (reverses the axes, as numpy's ``.T``)."""
        return transpose(self)

    methods: dict[str, Any] = {
        "__add__": lambda self, other: add(self, other),
        "__radd__": lambda self, other: add(other, self),
        "__sub__": lambda self, other: subtract(self, other),
        "__rsub__": lambda self, other: subtract(other, self),
        "__mul__": lambda self, other: multiply(self, other),
        "__rmul__": lambda self, other: multiply(other, self),
        "__truediv__": lambda self, other: divide(self, other),
        "__rtruediv__": lambda self, other: divide(other, self),
        "__neg__": lambda self: multiply(-1.0, self),
        "__pow__": lambda self, exponent: power(self, exponent),
        "__matmul__": lambda self, other: matmul(self, other),
        "__rmatmul__": lambda self, other: matmul(other, self),
        "T": property(_transposed),
        "sum": _sum,
    }
    for name, method in methods.items():
        setattr(Expr, name, method)
