"""Traversal of expression DAGs: every distinct node once, children before parents.

>>> import einderiv as ed
>>> x = ed.symbols("x[n]")
>>> e = ed.tanh(x) + ed.exp(ed.tanh(x))
>>> use_counts(e)[ed.tanh(x).key]
2
"""

from __future__ import annotations

from einderiv.ir.nodes import Expr, topological


def use_counts(root: Expr) -> dict[str, int]:
    """How many times each node of the DAG under ``root`` is used as an operand, by key.

    A product that takes a node as two factors uses it twice; the root is used zero times.
    """
    uses: dict[str, int] = {}
    for node in topological(root):
        for child in node.children:
            uses[child.key] = uses.get(child.key, 0) + 1
    return uses


__all__ = ["topological", "use_counts"]
