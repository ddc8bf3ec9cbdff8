"""Recording of rewrites: named rules observed as (rule, before, after) triples."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from einderiv.ir.nodes import (
    Expr,
)

_RECORDERS: list[list[tuple[str, Expr, Expr]]] = []


@contextlib.contextmanager
def recording() -> Iterator[list[tuple[str, Expr, Expr]]]:
    """Collect ``(rule, before, after)`` for rewrites done inside the ``with`` block."""
    log: list[tuple[str, Expr, Expr]] = []
    _RECORDERS.append(log)
    try:
        yield log
    finally:
        _RECORDERS.remove(log)


def record(rule: str, before: Expr, after: Expr) -> None:
    """Log one rewrite to every active :func:`recording`."""
    for log in _RECORDERS:
        log.append((rule, before, after))


def active() -> bool:
    """True inside a :func:`recording` (so that a rule builds its ``before`` only then)."""
    return bool(_RECORDERS)
