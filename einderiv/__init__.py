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
from einderiv.build import BUILDERS as _BUILDERS
from einderiv.build import einsum, symbols
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

#: ``ed.<name>`` for every function of the registry (:mod:`einderiv.functions`): ``ed.tanh``,
#: ``ed.sum``, ``ed.solve``, ... (``sum`` and ``abs`` shadow the builtins, as numpy's do)
globals().update(_BUILDERS)

__all__ = [
    "Compiled", "DerivativeError", "EinderivError", "EvaluationError", "Expr", "ParseError",
    "ShapeError", "SubscriptError", "Symbol", "SymbolError", "Verdict", "codegen", "compile",
    "diff", "einsum", "explain", "grad", "hessian", "jvp", "parse", "simplify", "symbols",
    "verify", "vjp",
]
__all__ += sorted(_BUILDERS)
