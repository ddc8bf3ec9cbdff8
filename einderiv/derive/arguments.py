"""Resolving the arguments of a derivative: wrt, cotangent and tangent."""

from __future__ import annotations

import difflib
from typing import Any

from einderiv.errors import DerivativeError
from einderiv.ir.nodes import Expr, Symbol, inputs_of

# -- resolving arguments --------------------------------------------------------------


def resolve_wrt(f: Expr, wrt: Any) -> Symbol:
    """The symbol named by ``wrt`` (a name or a symbol) in ``f``; a clear error otherwise."""
    if not isinstance(f, Expr):
        raise DerivativeError(
            f"expected an einderiv expression to differentiate, got {type(f).__name__}"
        )
    table = {sym.name: sym for sym in inputs_of(f)}  # declared inputs too, even cancelled ones
    if isinstance(wrt, Symbol):
        other = table.get(wrt.name)
        if other is not None and other != wrt:
            raise DerivativeError(
                f"wrt symbol '{wrt.name}' has dims {list(wrt.dims)} but the expression's "
                f"'{wrt.name}' has dims {list(other.dims)}"
            )
        return wrt
    if isinstance(wrt, str):
        if wrt in table:
            return table[wrt]
        known = ", ".join(sorted(table)) or "none"
        close = difflib.get_close_matches(wrt, list(table), n=1)
        guess = f"; did you mean '{close[0]}'?" if close else ""
        raise DerivativeError(
            f"cannot differentiate with respect to '{wrt}': the expression has no symbol of "
            f"that name (its symbols: {known}){guess} (to differentiate with respect to a "
            "symbol the expression does not use, which gives zero, pass the symbol itself)"
        )
    raise DerivativeError(f"wrt must be a symbol or a symbol's name, got {type(wrt).__name__}")


def tensor_argument(f: Expr, value: Any, dims: tuple[str, ...], what: str) -> Expr:
    """A cotangent/tangent given as a name (new symbol) or an expression of ``dims``."""
    if isinstance(value, str):
        existing = {sym.name: sym for sym in inputs_of(f)}.get(value)
        if existing is not None and existing.dims != dims:
            raise DerivativeError(
                f"{what} '{value}' must have dims {list(dims)}, but the expression already has a "
                f"symbol '{value}' with dims {list(existing.dims)}; pick another name"
            )
        if not value.isidentifier():
            raise DerivativeError(f"{what} name {value!r} is not an identifier")
        return Symbol.make(value, dims)
    if isinstance(value, Expr):
        if value.dims != dims:
            raise DerivativeError(
                f"{what} has dims {list(value.dims)} but must have dims {list(dims)}"
            )
        return value
    raise DerivativeError(f"{what} must be a name or an expression, got {type(value).__name__}")
