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

from einderiv.build import arithmetic, operators
from einderiv.build import einsum as einsum_module
from einderiv.build.arithmetic import broadcast_dims, broadcast_to
from einderiv.build.elementwise import size
from einderiv.build.inputs import keeps_inputs
from einderiv.build.registry import BUILDERS
from einderiv.build.symbols import as_expr, parse_dims, symbols

# Every public builder reads its operands' bodies and keeps their inputs (build/inputs.py);
# the registry's builders are wrapped where they are made (build/registry.py).
add = keeps_inputs(arithmetic.add)
subtract = keeps_inputs(arithmetic.subtract)
multiply = keeps_inputs(arithmetic.multiply)
divide = keeps_inputs(arithmetic.divide)
power = keeps_inputs(arithmetic.power)
scale = keeps_inputs(arithmetic.scale)
einsum = keeps_inputs(einsum_module.einsum)
matmul = BUILDERS["matmul"]
transpose = BUILDERS["transpose"]
reduce_sum = BUILDERS["sum"]
mean = BUILDERS["mean"]
logsumexp = BUILDERS["logsumexp"]
softmax = BUILDERS["softmax"]
trace = BUILDERS["trace"]
diag = BUILDERS["diag"]
outer = BUILDERS["outer"]
dot = BUILDERS["dot"]

operators.install(
    add=add, subtract=subtract, multiply=multiply, divide=divide, power=power,
    matmul=matmul, transpose=transpose, reduce_sum=reduce_sum,
)

abs_ = BUILDERS["abs"]
_NAMED = {name: fn for name, fn in BUILDERS.items() if not hasattr(builtins, name)}
globals().update(_NAMED)

__all__ = [
    "BUILDERS", "abs_", "add", "as_expr", "broadcast_dims", "broadcast_to", "diag", "divide",
    "dot", "einsum", "logsumexp", "matmul", "mean", "multiply", "outer", "parse_dims", "power",
    "reduce_sum", "scale", "size", "softmax", "subtract", "symbols", "trace", "transpose",
]
__all__ += sorted(set(_NAMED) - set(__all__))
