"""The normal-form pass: every island of a DAG normalized, never larger, sharing kept.

:func:`normalize` walks the DAG once, children first; an island's root (a node used more
than once, cut at :data:`~einderiv.rewrite.algebra.ISLAND_DEPTH`, or not inside a larger
island) is replaced by the smallest of itself and its normal forms
(:func:`normalize_island`), by the :class:`Costs` in which shared nodes are free.

>>> import einderiv as ed
>>> X, w, y = ed.symbols("X[n,d] w[d] y[n]")
>>> s = ed.sigmoid(X @ w)
>>> normalize((1 - y) * s - y * (1 - s)) == s - y
True
"""

from __future__ import annotations

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
from einderiv.rewrite.algebra import (
    ISLAND_DEPTH,
    LIMIT,
    Costs,
    Island,
    composite,
    leaves,
    normalize_island,
)
from einderiv.rewrite.elementwise import make_func
from einderiv.rewrite.matrix import make_matfunc
from einderiv.rewrite.polynomials import (
    Poly,
)
from einderiv.rewrite.record import active, record
from einderiv.rewrite.terms import make_product, make_sum


def distribute_contraction(node: Product, shared: set[str], cost: Costs) -> Expr:
    """``Σ_j (a_j + b_j)`` as ``Σ_j a_j + Σ_j b_j`` when terms then cancel (else ``node``).

    The summand of a contraction is elementwise over all of its labels; its polynomial's
    terms are contracted one by one and added, which cancels ``Σ_i (x_i - mean(x))``.
    """
    if not node.summed or not any(composite(f) for f, _ in node.factors):
        return node
    ldims = dict(enumerate(node.ldims))
    island = Island(ldims, shared, cost)
    poly: Poly = {(): node.coeff}
    for factor, labels in node.factors:
        if len(set(labels)) != len(labels):
            return node
        poly = island.multiply(poly, island.poly(factor, labels, True), True)
    if not 2 <= len(poly) <= LIMIT or not _may_cancel(island, poly):
        return node
    terms = [make_product(c, island.factors(m), node.out, ldims) for m, c in poly.items()]
    result = make_sum(terms, node.dims)
    count = len(result.terms) if isinstance(result, Sum) else 1
    if count >= len(poly) or cost(result) > cost(node):
        return node
    if active():
        record("contraction linearity", node, result)
    return result


def _may_cancel(island: Island, poly: Poly) -> bool:
    """True when two terms carry the same leaves (labels and sizes aside): they may merge."""
    seen: set[tuple] = set()
    for mono in poly:
        counts: dict[str, float] = {}
        for base, e in mono:
            keys = (repr(base),) if base[0] == "s" else leaves(island.nodes[base[1]])
            for key in keys:
                counts[key] = counts.get(key, 0.0) + e
        signature = tuple(sorted(counts.items()))
        if signature in seen:
            return True
        seen.add(signature)
    return False






def normalize(expr: Expr) -> Expr:
    """Every island of ``expr`` in normal form, and contractions whose terms cancel split.

    Runs at the end of every derivative (before ``flatten_single_use``) and in
    ``ed.simplify``.  Nodes keep their sharing: a node used more than once is rebuilt once.
    """
    return reannotate(expr, normalize_with_map(unwrap(expr))[0])


def normalize_with_map(expr: Expr) -> tuple[Expr, dict[str, Expr]]:
    """:func:`normalize`, and what every node of ``expr`` became (by old key)."""
    order = topological(expr)
    uses: dict[str, int] = {}
    inner: dict[str, bool] = {}
    for node in order:
        elementwise = composite(node)
        for child in node.children:
            uses[child.key] = uses.get(child.key, 0) + 1
            inner[child.key] = elementwise and inner.get(child.key, True)
    shared = {key for key, count in uses.items() if count > 1}
    # An island deeper than ISLAND_DEPTH is cut: the node at the cut is normalized as an
    # island of its own and is an atom of the island above (like a shared node, though
    # it still counts in that island's size), so no island is deeper than that.
    depth: dict[str, int] = {}
    cut: set[str] = set()
    for node in order:
        if composite(node):
            below = [depth.get(c.key, 0) for c in node.children
                     if c.key not in shared and c.key not in cut]
            depth[node.key] = 1 + max(below, default=0)
            if depth[node.key] >= ISLAND_DEPTH:
                cut.add(node.key)
                depth[node.key] = 0
    cost = Costs(set(shared))
    done: dict[str, Expr] = {}
    atoms: set[str] = set()  # new keys of the nodes an island above keeps as atoms
    for node in order:
        new = _rebuild(node, done)
        if isinstance(new, Product) and not composite(new):
            new = distribute_contraction(new, atoms, cost)
        root = node.key in cut or not (uses.get(node.key, 0) == 1 and inner.get(node.key))
        if composite(new) and root:
            new = normalize_island(new, atoms, cost)
        if node.key in shared or node.key in cut:
            atoms.add(new.key)
        if node.key in shared:
            cost.free.add(new.key)
        done[node.key] = new
    return done[expr.key], done


def _rebuild(node: Expr, done: dict[str, Expr]) -> Expr:
    children = [done[child.key] for child in node.children]
    if all(new is old for new, old in zip(children, node.children, strict=True)):
        return node
    if isinstance(node, Product):
        factors = [(done[f.key], ls) for f, ls in node.factors]
        return make_product(node.coeff, factors, node.out, node.ldims, inline=False)
    if isinstance(node, Sum):
        return make_sum(children, node.dims)
    if isinstance(node, Func):
        return make_func(node.name, children if len(children) > 1 else children[0], node.param)
    if isinstance(node, MatFunc):
        return make_matfunc(node.name, children if len(children) > 1 else children[0])
    if isinstance(node, LogSumExp):
        return LogSumExp.make(children[0], node.axes)
    return node  # pragma: no cover - leaves have no children
