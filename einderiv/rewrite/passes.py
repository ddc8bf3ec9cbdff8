"""Whole-DAG rewrite passes: rebuild through the smart constructors, flatten single-use products."""

from __future__ import annotations

from collections.abc import Set as AbstractSet

from einderiv.ir.nodes import (
    Expr,
    Func,
    LogSumExp,
    MatFunc,
    Product,
    Sum,
    reannotate,
    unwrap,
)
from einderiv.ir.traversal import topological
from einderiv.rewrite.elementwise import make_func
from einderiv.rewrite.matrix import make_matfunc
from einderiv.rewrite.normal_form import normalize
from einderiv.rewrite.record import record
from einderiv.rewrite.terms import make_product, make_sum


def simplify(expr: Expr) -> Expr:
    """Rebuild ``expr`` bottom-up through the smart constructors, then :func:`finish` it."""
    done: dict[str, Expr] = {}
    for node in topological(expr):
        done[node.key] = _rebuild(node, done, inline=True)
    return reannotate(expr, finish(done[unwrap(expr).key]))


def finish(expr: Expr) -> Expr:
    """The last passes of every derivative: the algebra's normal form, then flattening.

    :func:`~einderiv.rewrite.algebra.normalize` works on the DAG with its sharing intact;
    :func:`flatten_single_use` then inlines what is used once.
    """
    return flatten_single_use(normalize(expr))


def flatten_single_use(expr: Expr) -> Expr:
    """Inline product factors used only once in the DAG (shared ones stay one node).

    The derivative passes build with ``inline=False`` so that an adjoint used by
    several rules is computed once; this pass then flattens what is not shared, which
    keeps results readable without giving up linear size.
    """
    return flatten_with_map(expr)[0]


def flatten_with_map(
    expr: Expr, keep: AbstractSet[str] = frozenset()
) -> tuple[Expr, dict[str, Expr]]:
    """:func:`flatten_single_use`, and what every node of ``expr`` became (by old key).

    Nodes whose key is in ``keep`` stay nodes of their own, like shared ones (the
    adjoints a readable backward pass names, ``dz1``).
    """
    order = topological(expr)
    uses: dict[str, int] = {}
    for node in order:
        for child in node.children:
            uses[child.key] = uses.get(child.key, 0) + 1
    done: dict[str, Expr] = {}
    # Every shared node (rebuilt), not only the current node's direct factors: inlining
    # a single-use factor must not inline the shared products inside it as well, which
    # would copy them into every user (quadratic size, e.g. BPTT adjoint chains).
    shared: set[str] = set()
    for node in order:
        if isinstance(node, Product):
            factors = [(done[f.key], ls) for f, ls in node.factors]
            done[node.key] = make_product(
                node.coeff, factors, node.out, node.ldims, keep=shared
            )
        else:
            done[node.key] = _rebuild(node, done, inline=True)
        if uses.get(node.key, 0) > 1 or node.key in keep:
            shared.add(done[node.key].key)
    return reannotate(expr, done[unwrap(expr).key]), done


def _rebuild(node: Expr, done: dict[str, Expr], *, inline: bool) -> Expr:
    if isinstance(node, Product):
        factors = [(done[f.key], ls) for f, ls in node.factors]
        result = make_product(node.coeff, factors, node.out, node.ldims, inline=inline)
    elif isinstance(node, Sum):
        result = make_sum([done[t.key] for t in node.terms], node.dims)
    elif isinstance(node, Func):
        result = make_func(node.name, [done[a.key] for a in node.args], node.param)
    elif isinstance(node, MatFunc):
        result = make_matfunc(node.name, [done[a.key] for a in node.args])
    elif isinstance(node, LogSumExp):
        result = LogSumExp.make(done[node.arg.key], node.axes)
    else:
        result = node
    if result is not node and not isinstance(node, (Sum,)):
        record(node.kind, node, result)
    return result
