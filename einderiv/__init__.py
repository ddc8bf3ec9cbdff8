"""einderiv: differentiate tensor expressions in einsum / index notation.

Build expressions with :func:`symbols`, :func:`einsum` and numpy-like operators (or
:func:`parse` text), differentiate with :func:`diff`, :func:`grad`, :func:`vjp`,
:func:`jvp`, :func:`hessian`, and evaluate fast with :func:`compile`.

>>> import numpy as np, einderiv as ed
>>> W, x = ed.symbols("W[n,m] x[m]")
>>> ed.vjp(W @ x, "x", "g").shape
('m',)
"""

from __future__ import annotations

from einderiv import build, evaluate, render  # noqa: F401 - installs Expr's methods
from einderiv.build import abs_ as abs  # noqa: A004 - numpy-like public API (ed.abs)
from einderiv.build import (
    cos,
    det,
    diag,
    einsum,
    exp,
    inv,
    log,
    log1p,
    logdet,
    logsumexp,
    matmul,
    mean,
    norm,
    outer,
    relu,
    sigmoid,
    sign,
    sin,
    softmax,
    softplus,
    sqrt,
    square,
    symbols,
    tanh,
    trace,
    transpose,
)
from einderiv.build import reduce_sum as sum  # noqa: A004 - numpy-like public API (ed.sum)
from einderiv.claims import Verdict, verify
from einderiv.codewriter import codegen
from einderiv.derive import diff, grad, hessian, jvp, vjp
from einderiv.errors import (
    DerivativeError,
    EinderivError,
    EvaluationError,
    ParseError,
    ShapeError,
    SubscriptError,
    SymbolError,
)
from einderiv.evaluate import Compiled, compile  # noqa: A004 - the contract's name
from einderiv.explanation import explain
from einderiv.ir import Expr, Symbol
from einderiv.rewrite import simplify
from einderiv.text import parse

__version__ = "0.1.0"

__all__ = [
    "Compiled",
    "DerivativeError",
    "EinderivError",
    "EvaluationError",
    "Expr",
    "ParseError",
    "ShapeError",
    "SubscriptError",
    "Symbol",
    "Verdict",
    "SymbolError",
    "abs",
    "codegen",
    "compile",
    "cos",
    "det",
    "diag",
    "diff",
    "einsum",
    "exp",
    "explain",
    "grad",
    "hessian",
    "inv",
    "jvp",
    "log",
    "log1p",
    "logdet",
    "logsumexp",
    "matmul",
    "mean",
    "norm",
    "outer",
    "parse",
    "relu",
    "sigmoid",
    "sign",
    "simplify",
    "sin",
    "softmax",
    "softplus",
    "sqrt",
    "square",
    "sum",
    "symbols",
    "tanh",
    "trace",
    "transpose",
    "verify",
    "vjp",
]
