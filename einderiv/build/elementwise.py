"""Sizes as scalars.

Elementwise functions are built from the registry, in :mod:`einderiv.build.registry`.
"""

from __future__ import annotations

from einderiv.ir.nodes import Expr, Size


def size(dim: str) -> Expr:
    """The size of ``dim`` as a scalar expression.

    >>> size("n").dims
    ()
    """
    return Size.make(dim)
