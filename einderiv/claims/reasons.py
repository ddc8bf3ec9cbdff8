"""The index-level reason of a result: why its matrix form reads as it does."""

from __future__ import annotations

from einderiv.ir.nodes import Expr
from einderiv.render.why import reading


def index_reason(expr: Expr, name: str) -> str:
    """Two lines: the index form of ``expr`` and how the matrix order is read off it.

    Written from the renderer's record of its walk (:func:`einderiv.render.why.reading`),
    so the reason always agrees with the matrix form it explains.
    """
    return reading(expr, name)


def factor_name_wrapped(text: str) -> bool:
    """True when ``text`` is one parenthesized group (its outer parentheses can go)."""
    depth = 0
    for pos, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return pos == len(text) - 1
    return False
