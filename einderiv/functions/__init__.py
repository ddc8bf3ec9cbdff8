"""The ONE function registry: every function a user can call, one entry each.

Contract: :data:`FUNCTIONS` maps each function's name to its entry (schema in
:mod:`einderiv.functions.schema`): builders (``ed.<name>``), the text front end,
derivative rules, evaluation on every backend, the numpy / torch / jax and LaTeX
printers and codegen all look names, signatures, spellings and rules up here, and keep
no list of their own.  Adding a function is one entry (in
:mod:`~einderiv.functions.elementwise`, :mod:`~einderiv.functions.matrix` or
:mod:`~einderiv.functions.composite`) plus its tests.  The registry sits just above the
IR: it imports only :mod:`einderiv.ir` and :mod:`einderiv.errors`; derivative rules
get the builder injected, composites the builders.

>>> FUNCTIONS["tanh"].numpy
'np.tanh({0})'
>>> import numpy as np
>>> float(FUNCTIONS["sigmoid"].evaluate(np.array(0.0)))
0.5
>>> FUNCTIONS["solve"].arrays
('a', 'b')
"""

from __future__ import annotations

import math

from einderiv.functions import composite, elementwise, matrix
from einderiv.functions.schema import (
    ArrayFunction,
    Build,
    Composite,
    Elementwise,
    Entry,
    Example,
    Function,
    Matrix,
    namespace,
)
from einderiv.ir.nodes import Expr, Func, Symbol
from einderiv.ir.traversal import topological

_ENTRIES: list[Entry] = [*elementwise.ENTRIES, *matrix.ENTRIES, *composite.ENTRIES]
FUNCTIONS: dict[str, Entry] = {entry.name: entry for entry in _ENTRIES}
"""Every function by name."""


def public_names() -> list[str]:
    """Names users call (``ed.<name>``, text), aliases excluded, sorted.

    >>> "solve" in public_names(), "pow" in public_names()
    (True, False)
    """
    return sorted(name for name, entry in FUNCTIONS.items() if entry.public)


def symbol_domains(*exprs: Expr) -> dict[str, tuple[float, float]]:
    """The interval each symbol's values must lie in, for the functions applied to it directly.

    A symbol that is an argument of ``arcsin`` lies in ``(-1, 1)``, of ``log`` in
    ``(0, inf)`` (several functions: the intersection); what samplers draw from.  Symbols
    under no restricted function are left out.

    >>> import einderiv as ed
    >>> x, y = ed.symbols("x[n] y[n]")
    >>> symbol_domains(ed.arcsin(x) + ed.log(x) * y)
    {'x': (0.0, 1.0)}
    """
    found: dict[str, tuple[float, float]] = {}
    for expr in exprs:
        for node in topological(expr):
            if not isinstance(node, Func) or node.name not in FUNCTIONS:
                continue
            low, high = FUNCTIONS[node.name].domain
            if (low, high) == (-math.inf, math.inf):
                continue
            for arg in node.args:
                if isinstance(arg, Symbol):
                    was = found.get(arg.name, (-math.inf, math.inf))
                    found[arg.name] = (max(was[0], low), min(was[1], high))
    return found


#: the older name of :class:`Elementwise`
ElementwiseFunction = Elementwise

__all__ = [
    "FUNCTIONS", "ArrayFunction", "Build", "Composite", "Elementwise", "ElementwiseFunction",
    "Entry", "Example", "Function", "Matrix", "namespace", "public_names", "symbol_domains",
]
