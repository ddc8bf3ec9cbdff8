"""Printing numbers."""

from __future__ import annotations


def format_number(c: float) -> str:
    """A number as short text: integers without a decimal point, others by repr."""
    if c == int(c) and abs(c) < 1e15:
        return str(int(c))
    return repr(c)
