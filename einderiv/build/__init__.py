"""Builders: the Python way to make expressions -- symbols, einsum, numpy-like operators.

Contract: every function validates its operands in one pass and raises an
:class:`~einderiv.errors.EinderivError` subclass naming the operand, axis and dims on
bad input; results are simplified (they go through the smart constructors of
:mod:`einderiv.rewrite`).  Broadcasting follows numpy by position, right-aligned; a dim
named ``"1"`` broadcasts.  Every registry function has its builder in :data:`BUILDERS`
(made from its entry, :mod:`einderiv.build.registry`), also a module attribute here
unless its name is a builtin's (``sum`` is :func:`reduce_sum`, ``abs`` is ``abs_``).
Importing this package installs the operators on :class:`~einderiv.ir.Expr`
(:mod:`einderiv.build.operators`).

>>> import einderiv as ed
>>> W, x, b = ed.symbols("W[n,m] x[m] b[n]")
>>> (W @ x + b).shape
('n',)
>>> ed.einsum("ij,j->i", W, x) == W @ x
True
"""

from __future__ import annotations

import builtins

from einderiv.build import operators
from einderiv.build.arithmetic import (
    add,
    broadcast_dims,
    broadcast_to,
    divide,
    matmul,
    multiply,
    power,
    scale,
    subtract,
    transpose,
)
from einderiv.build.einsum import einsum
from einderiv.build.elementwise import size
from einderiv.build.linalg import diag, dot, outer, trace
from einderiv.build.reductions import logsumexp, mean, reduce_sum, softmax
from einderiv.build.registry import BUILDERS
from einderiv.build.symbols import as_expr, parse_dims, symbols

operators.install()

abs_ = BUILDERS["abs"]
_NAMED = {name: fn for name, fn in BUILDERS.items() if not hasattr(builtins, name)}
globals().update(_NAMED)

__all__ = [
    "BUILDERS", "abs_", "add", "as_expr", "broadcast_dims", "broadcast_to", "diag", "divide",
    "dot", "einsum", "logsumexp", "matmul", "mean", "multiply", "outer", "parse_dims", "power",
    "reduce_sum", "scale", "size", "softmax", "subtract", "symbols", "trace", "transpose",
]
__all__ += sorted(set(_NAMED) - set(__all__))
