"""Kronecker deltas in products: which outputs a delta joins, and where it meets a sum.

Contract: a delta that survives in a product joins two of its output labels (delta
elimination removes every other one), so a node *carries* deltas as pairs of its output
positions -- a delta itself ``(0, 1)``, a product or a sum those of its factors or terms
that land on its outputs.  A carrier used at some labels *meets* a contraction when one
of its pairs lands on a summed label (or twice on one label, a trace): then it must be
inlined (or a sum distributed) so that elimination sees the delta; otherwise it may stay
one node.

>>> import einderiv as ed
>>> from einderiv.ir.nodes import Delta
>>> d = Delta.make("n")
>>> delta_pairs(d)
frozenset({(0, 1)})
>>> delta_meets(d, (0, 1), {0, 1}), delta_meets(d, (0, 1), {0})
(False, True)
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet

from einderiv.ir.nodes import Delta, Expr, Product, Sum, unmemoized

Pairs = frozenset[tuple[int, int]]

_NONE: Pairs = frozenset()


def delta_pairs(node: Expr) -> Pairs:
    """The pairs of output positions of ``node`` that a surviving delta joins (memoized)."""
    if isinstance(node, Delta):
        return frozenset({(0, 1)})
    if not isinstance(node, Product | Sum):
        return _NONE
    cached = node._cache.get("delta_pairs")
    if cached is not None:
        return cached
    for current in unmemoized(node, "delta_pairs"):
        current._cache["delta_pairs"] = _pairs_of(current)
    return node._cache["delta_pairs"]


def _pairs_of(node: Expr) -> Pairs:
    """The pairs of one node, its operands' pairs already known."""
    if isinstance(node, Delta):
        return frozenset({(0, 1)})
    if isinstance(node, Sum):
        found: set[tuple[int, int]] = set()
        for term in node.terms:
            found |= delta_pairs(term)
        return frozenset(found) if found else _NONE
    if not isinstance(node, Product):
        return _NONE
    position = {label: pos for pos, label in enumerate(node.out)}
    pairs: set[tuple[int, int]] = set()
    for factor, labels in node.factors:
        for p, q in delta_pairs(factor):
            a, b = labels[p], labels[q]
            if a in position and b in position:
                pairs.add((position[a], position[b]))
    return frozenset(pairs) if pairs else _NONE


def carries_delta(node: Expr) -> bool:
    """True for a delta, or a product or sum with a delta joining two of its outputs."""
    return bool(delta_pairs(node))


def delta_meets(node: Expr, labels: tuple[int, ...], out: AbstractSet[int]) -> bool:
    """True when a delta of ``node`` at ``labels`` lands on a summed label (or a trace).

    ``out`` are the output labels of the product ``node`` is a factor of; elimination
    would then remove the delta.
    """
    for p, q in delta_pairs(node):
        a, b = labels[p], labels[q]
        if a == b or a not in out or b not in out:
            return True
    return False


def eliminate_deltas(
    flat: list[tuple[Expr, tuple[int, ...]]], out_set: set[int], universe: set[int]
) -> list[tuple[Expr, tuple[int, ...]]]:
    """Delta elimination: rename a summed index into its partner (``Σ_j A_ij δ_jk = A_ik``).

    ``universe`` (the labels in use) loses every label renamed away.
    """
    changed = True
    while changed:
        changed = False
        for index, (factor, labels) in enumerate(flat):
            if not isinstance(factor, Delta):
                continue
            a, b = labels
            if a == b:
                del flat[index]
                changed = True
                break
            if b in out_set and a in out_set:
                continue
            old, new = (b, a) if b not in out_set else (a, b)
            del flat[index]
            flat = [(f, tuple(new if x == old else x for x in ls)) for f, ls in flat]
            universe.discard(old)
            changed = True
            break
    return flat
