"""The text front end's tables: limits, callable names, operators and refused syntax."""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from einderiv import build as builders
from einderiv.functions import FUNCTIONS as REGISTRY
from einderiv.functions import public_names
from einderiv.ir.nodes import Expr

"""Longest text :func:`parse` accepts, in characters."""
"""Deepest nesting :func:`parse` accepts (chains like ``a + b + c`` count once)."""
"""Every function name text may call (besides ``einsum``), with its parameters: the public
entries of the registry (:mod:`einderiv.functions`) and their aliases."""

MAX_LENGTH = 100_000

MAX_DEPTH = 100

NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
PREFIXES = {"np", "numpy", "np.linalg", "numpy.linalg", "scipy.special", "jnp", "jax.numpy"}
CONSTANTS = {"pi": math.pi, "e": math.e}
EXAMPLE = "write numpy-like text such as 'tanh(W @ x + b)' or 'sum(a * g)'"


# -- the function table: read from the registry ------------------------------------------


@dataclass(frozen=True)
class CallSpec:
    """A callable name: its builder and its parameters (from its registry entry).

    ``exprs`` are the expression parameters (positional, required); ``options`` the
    static parameters with their defaults (literals: integers, tuples, ``None``, bools).
    """

    build: Callable[..., Expr]
    exprs: tuple[str, ...]
    options: tuple[tuple[str, Any], ...] = ()


def _calls() -> dict[str, CallSpec]:
    calls: dict[str, CallSpec] = {}
    for name in public_names():
        entry = REGISTRY[name]
        spec = CallSpec(builders.BUILDERS[name], entry.arrays, entry.options)
        for alias in (name, *entry.aliases):
            calls[alias] = spec
    return calls


FUNCTIONS: dict[str, CallSpec] = _calls()

METHODS = {name for name in public_names() if REGISTRY[name].method}


#: numpy calls the renderer writes in ``to_numpy()``, read back in those forms only
RENDERED = {"ones", "zeros", "ones_like", "zeros_like", "eye", "float", "heaviside", "pinv"}
SLOGDET = {"np.linalg.slogdet", "numpy.linalg.slogdet"}
LOG_NAMES = {"np.log", "numpy.log", "log", "jnp.log", "jax.numpy.log"}
EXP_NAMES = {"np.exp", "numpy.exp", "exp", "jnp.exp", "jax.numpy.exp"}

BINOPS: dict[type, tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.Pow: ("**", operator.pow),
    ast.MatMult: ("@", operator.matmul),
}

UNSUPPORTED: dict[type, str] = {
    ast.Subscript: "indexing and slicing (x[...]) are not supported; use einsum, diag or "
    "trace, or declare the piece you need as its own symbol",
    ast.Lambda: "lambda is not supported",
    ast.ListComp: "comprehensions are not supported",
    ast.SetComp: "comprehensions are not supported",
    ast.DictComp: "comprehensions are not supported",
    ast.GeneratorExp: "generator expressions are not supported",
    ast.Compare: "comparisons are not supported; the text is an arithmetic expression",
    ast.BoolOp: "'and'/'or' are not supported; the text is an arithmetic expression",
    ast.IfExp: "conditional expressions (a if c else b) are not supported",
    ast.Dict: "dict literals are not supported",
    ast.Set: "set literals are not supported",
    ast.List: "list literals are only allowed as axis= arguments",
    ast.Tuple: "tuples are only allowed as axis= arguments",
    ast.Starred: "'*' unpacking is not supported",
    ast.JoinedStr: "f-strings are not supported",
    ast.NamedExpr: "':=' is not supported; use an assignment on its own line",
    ast.Await: "'await' is not supported",
    ast.Yield: "'yield' is not supported",
    ast.YieldFrom: "'yield' is not supported",
    ast.Slice: "slices are not supported",
}


def op_text(op: ast.AST) -> str:
    """The Python spelling of an operator node (``//``, ``%``...), for messages."""
    names: dict[type, str] = {
        ast.FloorDiv: "//", ast.Mod: "%", ast.LShift: "<<", ast.RShift: ">>",
        ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^", ast.Add: "+", ast.Sub: "-",
        ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.MatMult: "@",
    }
    return names.get(type(op), type(op).__name__)



def function_list() -> str:
    """Every callable name, for the hint of an unknown function."""
    return " ".join(sorted([*FUNCTIONS, "einsum"]))
