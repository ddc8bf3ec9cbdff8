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

from einderiv.build import arithmetic, elementwise, linalg, operators, reductions
from einderiv.build import einsum as einsum_module
from einderiv.build.arithmetic import broadcast_dims, broadcast_to
from einderiv.build.elementwise import size
from einderiv.build.inputs import keeps_inputs
from einderiv.build.symbols import as_expr, parse_dims, symbols

# Every public builder reads its operands' bodies and keeps their inputs (build/inputs.py).
add = keeps_inputs(arithmetic.add)
subtract = keeps_inputs(arithmetic.subtract)
multiply = keeps_inputs(arithmetic.multiply)
divide = keeps_inputs(arithmetic.divide)
power = keeps_inputs(arithmetic.power)
matmul = keeps_inputs(arithmetic.matmul)
transpose = keeps_inputs(arithmetic.transpose)
scale = keeps_inputs(arithmetic.scale)
einsum = keeps_inputs(einsum_module.einsum)
reduce_sum = keeps_inputs(reductions.reduce_sum)
mean = keeps_inputs(reductions.mean)
norm = keeps_inputs(reductions.norm)
logsumexp = keeps_inputs(reductions.logsumexp)
softmax = keeps_inputs(reductions.softmax)
trace = keeps_inputs(linalg.trace)
diag = keeps_inputs(linalg.diag)
outer = keeps_inputs(linalg.outer)
inv = keeps_inputs(linalg.inv)
det = keeps_inputs(linalg.det)
logdet = keeps_inputs(linalg.logdet)
tanh = keeps_inputs(elementwise.tanh)
exp = keeps_inputs(elementwise.exp)
log = keeps_inputs(elementwise.log)
log1p = keeps_inputs(elementwise.log1p)
sigmoid = keeps_inputs(elementwise.sigmoid)
sqrt = keeps_inputs(elementwise.sqrt)
abs_ = keeps_inputs(elementwise.abs_)
relu = keeps_inputs(elementwise.relu)
softplus = keeps_inputs(elementwise.softplus)
sin = keeps_inputs(elementwise.sin)
cos = keeps_inputs(elementwise.cos)
sign = keeps_inputs(elementwise.sign)
square = keeps_inputs(elementwise.square)

operators.install(
    add=add, subtract=subtract, multiply=multiply, divide=divide, power=power,
    matmul=matmul, transpose=transpose, reduce_sum=reduce_sum,
)

__all__ = [
    "abs_", "add", "as_expr", "broadcast_dims", "broadcast_to", "cos", "det", "diag", "divide",
    "einsum", "exp", "inv", "log", "log1p", "logdet", "logsumexp", "matmul", "mean", "multiply",
    "norm", "outer", "parse_dims", "power", "reduce_sum", "relu", "scale", "sigmoid", "sign",
    "sin", "size", "softmax", "softplus", "sqrt", "square", "subtract", "symbols", "tanh",
    "trace", "transpose",
]
