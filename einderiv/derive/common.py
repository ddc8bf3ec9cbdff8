"""Pieces both derivative modes share."""

from __future__ import annotations

from einderiv.functions import FUNCTIONS, Elementwise
from einderiv.ir.nodes import (
    Expr,
    Func,
    LogSumExp,
    Symbol,
)
from einderiv.ir.traversal import topological
from einderiv.rewrite.elementwise import make_func
from einderiv.rewrite.terms import make_product, make_sum


def dependents(root: Expr, wrt: Symbol) -> tuple[list[Expr], set[str]]:
    """The DAG in topological order and the keys of the nodes that depend on ``wrt``."""
    order = topological(root)
    depends: set[str] = set()
    for node in order:
        if node == wrt or any(child.key in depends for child in node.children):
            depends.add(node.key)
    return order, depends


def label_range(n: int, start: int = 0) -> tuple[int, ...]:
    """The labels ``start, start + 1, ..., start + n - 1``."""
    return tuple(range(start, start + n))


def softmax_of(node: LogSumExp) -> Expr:
    """``exp(arg - lse)`` broadcast over the reduced axes (dims of ``arg``)."""
    arg = node.arg
    full = label_range(len(arg.dims))
    kept = tuple(i for i in full if i not in node.axes)
    spread = make_product(1.0, [(node, kept)], full, dict(enumerate(arg.dims)))
    shifted = make_sum([arg, make_product(-1.0, [(spread, full)], full, arg.dims)], arg.dims)
    return make_func("exp", shifted)


def partials_of(node: Func) -> tuple[Expr, ...]:
    """The partial derivative of ``node`` in each argument, elementwise (the arguments' dims)."""
    entry = FUNCTIONS[node.name]
    assert isinstance(entry, Elementwise), node.name
    return entry.partials(node.args, node.param, make_func)


def derivative_of(node: Func) -> Expr:
    """The elementwise derivative ``f'(arg)`` of a function of one argument."""
    (partial,) = partials_of(node)
    return partial
