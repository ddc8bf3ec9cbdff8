"""Elementwise functions as builders, one per registry entry."""

from __future__ import annotations

from typing import Any

from einderiv.build.arithmetic import power
from einderiv.build.symbols import as_expr
from einderiv.ir.nodes import Expr, Size
from einderiv.rewrite.elementwise import make_func


def _elementwise(name: str):
    def build(expr: Any) -> Expr:
        return make_func(name, as_expr(expr, f"{name} operand"))

    build.__name__ = name
    build.__doc__ = f"Elementwise ``{name}``."
    return build


tanh = _elementwise("tanh")
exp = _elementwise("exp")
log = _elementwise("log")
log1p = _elementwise("log1p")
sigmoid = _elementwise("sigmoid")
sqrt = _elementwise("sqrt")
abs_ = _elementwise("abs")
relu = _elementwise("relu")
softplus = _elementwise("softplus")
sin = _elementwise("sin")
cos = _elementwise("cos")
sign = _elementwise("sign")


def square(expr: Any) -> Expr:
    """Elementwise square."""
    return power(expr, 2.0)


def size(dim: str) -> Expr:
    """The size of ``dim`` as a scalar expression."""
    return Size.make(dim)
