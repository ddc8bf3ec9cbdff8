"""Resolving the arguments of a derivative: wrt, cotangent and tangent."""

from __future__ import annotations

import difflib
import keyword
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


def _clash(what: str, name: str) -> str:
    other = f"'g' or 'd{name}'" if what == "cotangent" else f"'V' or 'v_{name}'"
    return (
        f"{what} '{name}' is already an input of the expression, so the {what} would be that "
        f"input itself; pick a new name, such as {other}"
    )


def tensor_argument(f: Expr, value: Any, dims: tuple[str, ...], what: str) -> Expr:
    """A cotangent/tangent given as a name (new symbol) or an expression of ``dims``."""
    if isinstance(value, str):
        existing = {sym.name: sym for sym in inputs_of(f)}.get(value)
        if existing is not None and existing.dims != dims:
            raise DerivativeError(
                f"{what} '{value}' must have dims {list(dims)}, but the expression already has a "
                f"symbol '{value}' with dims {list(existing.dims)}; pick another name"
            )
        if existing is not None:
            raise DerivativeError(_clash(what, value))
        if not value.isidentifier() or keyword.iskeyword(value):
            problem = (
                "is a Python keyword, so printed code (to_numpy(), codegen) could not use it"
                if keyword.iskeyword(value) else "is not an identifier"
            )
            raise DerivativeError(
                f"{what} name {value!r} {problem}; pick another name, such as "
                f"{'g' if what == 'cotangent' else 'V'!r}"
            )
        return Symbol.make(value, dims)
    if isinstance(value, Expr):
        if value.dims != dims:
            raise DerivativeError(
                f"{what} has dims {list(value.dims)} but must have dims {list(dims)}"
            )
        if isinstance(value, Symbol) and f.symbols().get(value.name) == value:
            raise DerivativeError(_clash(what, value.name))
        return value
    raise DerivativeError(f"{what} must be a name or an expression, got {type(value).__name__}")
