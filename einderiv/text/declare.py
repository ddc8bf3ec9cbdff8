"""The symbols a text declares: ``shapes`` as a dict or a spec string."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from einderiv import build as builders
from einderiv.errors import ParseError, SymbolError
from einderiv.ir.nodes import Expr, Symbol, unwrap
from einderiv.text.tables import NAME

"""Longest text :func:`parse` accepts, in characters."""
"""Deepest nesting :func:`parse` accepts (chains like ``a + b + c`` count once)."""
"""Every function name text may call (besides ``einsum``), with its parameters: the public
entries of the registry (:mod:`einderiv.functions`) and their aliases."""


def declare(shapes: Mapping[str, Any] | str | None) -> dict[str, Symbol]:
    """The declared symbols by name, from a dict or a spec string."""
    if shapes is None:
        return {}
    if isinstance(shapes, str):
        if not shapes.strip():
            return {}
        found = builders.symbols(shapes)
        found = found if isinstance(found, tuple) else (found,)
        return {sym.name: sym for sym in found}
    if not isinstance(shapes, Mapping):
        raise SymbolError(
            f"shapes must be a dict like {{'W': 'n m'}} or a string like 'W[n,m] x[m]', "
            f"got {type(shapes).__name__}"
        )
    declared: dict[str, Symbol] = {}
    for name, dims in shapes.items():
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise SymbolError(f"shapes: symbol name {name!r} is not an identifier")
        if isinstance(dims, Symbol):
            if dims.name != name:
                raise SymbolError(f"shapes: key {name!r} holds the symbol {dims.name!r}")
            declared[name] = dims
            continue
        if not isinstance(dims, str | Sequence):
            raise SymbolError(
                f"shapes[{name!r}]: dims must be a string like 'n m' or a tuple like "
                f"('n', 'm'), got {type(dims).__name__}"
            )
        parsed, symmetric = builders.parse_dims(dims, owner=name)
        declared[name] = Symbol.make(name, parsed, symmetric)
    return declared


def intermediates(names: Mapping[str, Expr] | None, declared: dict[str, Symbol]) -> dict:
    """The ``names=`` of :func:`~einderiv.text.parse`, checked: identifiers bound to expressions.

    An annotated intermediate (a parsed program) is bound by its body: its inputs are the
    text's own declarations.
    """
    if names is None:
        return {}
    if not isinstance(names, Mapping):
        raise ParseError(
            f"names= must be a dict from name to expression, got {type(names).__name__}"
        )
    for name, value in names.items():
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise ParseError(f"names=: {name!r} is not an identifier")
        if not isinstance(value, Expr):
            raise ParseError(
                f"names[{name!r}] must be an einderiv expression, got {type(value).__name__}"
            )
        if name in declared:
            raise ParseError(
                f"names=: '{name}' is also declared in shapes; an intermediate needs a name "
                "of its own"
            )
    return {name: unwrap(value) for name, value in names.items()}
