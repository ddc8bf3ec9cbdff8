"""Builders: the Python way to make expressions -- symbols, einsum, numpy-like operators.

Contract: every function validates its operands in one pass and raises an
:class:`~einderiv.errors.EinderivError` subclass naming the operand, axis and dims on
bad input; results are simplified (they go through the smart constructors of
:mod:`einderiv.rewrite`).  Broadcasting follows numpy by position, right-aligned; a dim
named ``"1"`` broadcasts.  Importing this package installs the operators on
:class:`~einderiv.ir.Expr` (:mod:`einderiv.build.operators`).

>>> import einderiv as ed
>>> W, x, b = ed.symbols("W[n,m] x[m] b[n]")
>>> (W @ x + b).shape
('n',)
>>> ed.einsum("ij,j->i", W, x) == W @ x
True
"""

from __future__ import annotations

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
from einderiv.build.elementwise import (
    abs_,
    cos,
    exp,
    log,
    log1p,
    relu,
    sigmoid,
    sign,
    sin,
    size,
    softplus,
    sqrt,
    square,
    tanh,
)
from einderiv.build.linalg import det, diag, inv, logdet, outer, trace
from einderiv.build.reductions import logsumexp, mean, norm, reduce_sum, softmax
from einderiv.build.symbols import as_expr, parse_dims, symbols

operators.install()

__all__ = [
    "abs_", "add", "as_expr", "broadcast_dims", "broadcast_to", "cos", "det", "diag", "divide",
    "einsum", "exp", "inv", "log", "log1p", "logdet", "logsumexp", "matmul", "mean", "multiply",
    "norm", "outer", "parse_dims", "power", "reduce_sum", "relu", "scale", "sigmoid", "sign",
    "sin", "size", "softmax", "softplus", "sqrt", "square", "subtract", "symbols", "tanh",
    "trace", "transpose",
]
