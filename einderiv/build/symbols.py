"""Declaring symbols: names with symbolic dims (W[n,m]), symmetric matrices, scalars."""

from __future__ import annotations

import re
from collections.abc import Sequence
from numbers import Number
from typing import Any

from einderiv.errors import ParseError, ShapeError, SymbolError
from einderiv.ir.nodes import Dims, Expr, Symbol, constant

_NAME = r"[A-Za-z_][A-Za-z_0-9]*"
_DIM = r"(?:[A-Za-z_][A-Za-z_0-9]*|1)"
_SPEC = re.compile(
    rf"\s*(?P<name>{_NAME})\s*(?:\[(?P<dims>[^\]]*)\])?\s*(?P<sym>:\s*sym(?:metric)?)?\s*(?:,(?=\s*[A-Za-z_]))?"
)


# -- symbols --------------------------------------------------------------------------


def parse_dims(text: str | Sequence[str], *, owner: str = "?") -> tuple[Dims, bool]:
    """Parse a dims declaration (``"n m"``, ``"n,m"``, ``"n n:sym"`` or a tuple).

    Returns the dims and whether ``:sym`` was given.

    >>> parse_dims("n n:sym")
    (('n', 'n'), True)
    """
    symmetric = False
    if isinstance(text, str):
        body = text.strip()
        if body.endswith(":sym") or body.endswith(":symmetric"):
            symmetric = True
            body = body.rsplit(":", 1)[0]
        body = body.strip("[]() ")
        parts = [p for p in re.split(r"[\s,]+", body) if p]
        if re.search(r",\s*,|^\s*,|,\s*$", body):
            raise SymbolError(
                f"symbol '{owner}': empty dimension name in {text!r}; "
                "write dims like 'n m' or 'n,m'"
            )
    else:
        parts = [str(p) for p in text]
    for part in parts:
        if not re.fullmatch(_DIM, part):
            raise SymbolError(
                f"symbol '{owner}': dimension name {part!r} is not an identifier or 1; "
                "write dims like 'n m' or 'n,m'"
            )
    dims = tuple(parts)
    if symmetric and (len(dims) != 2 or dims[0] != dims[1]):
        raise SymbolError(
            f"symbol '{owner}': ':sym' needs a square matrix with equal dims, got {list(dims)}"
        )
    return dims, symmetric


def symbols(spec: str) -> Any:
    """Declare symbols: ``"W[n,m] x[m] c A[n,n]:sym"``; one name gives one symbol.

    >>> W = symbols("W[n,m]")
    >>> W.shape
    ('n', 'm')
    >>> A, c = symbols("A[n,n]:sym c")
    >>> A.symmetric, c.shape
    (True, ())
    """
    if not isinstance(spec, str):
        raise SymbolError(f"symbols() takes a string like 'W[n,m] x[m]', got {type(spec).__name__}")
    found: list[Symbol] = []
    names: set[str] = set()
    pos = 0
    text = spec.rstrip()
    while pos < len(text):
        match = _SPEC.match(text, pos)
        if match is None or match.end() == pos:
            raise ParseError(
                "cannot read symbol declaration",
                text=spec,
                column=pos + (len(text[pos:]) - len(text[pos:].lstrip())),
                hint="declare symbols like 'W[n,m] x[m] c', ':sym' for symmetric 'A[n,n]:sym'",
            )
        name = match.group("name")
        if name in names:
            raise SymbolError(f"symbol '{name}' is declared twice in {spec!r}")
        names.add(name)
        dims, _ = parse_dims(match.group("dims") or "", owner=name)
        symmetric = bool(match.group("sym"))
        if symmetric and (len(dims) != 2 or dims[0] != dims[1]):
            raise SymbolError(
                f"symbol '{name}': ':sym' needs a square matrix with equal dims, got {list(dims)}"
            )
        found.append(Symbol.make(name, dims, symmetric))
        pos = match.end()
    if not found:
        raise SymbolError("symbols() got no names; write e.g. 'W[n,m] x[m]'")
    return found[0] if len(found) == 1 else tuple(found)


def as_expr(value: Any, what: str = "operand") -> Expr:
    """Numbers become constants; expressions pass through; anything else is an error."""
    if isinstance(value, Expr):
        return value
    if isinstance(value, Number) and not isinstance(value, complex):
        return constant(float(value))  # type: ignore[arg-type]
    raise ShapeError(
        f"{what}: expected an einderiv expression or a number, got {type(value).__name__}; "
        "declare arrays as symbols with ed.symbols('W[n,m]') and pass values to evaluate()"
    )
