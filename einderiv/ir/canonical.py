"""Canonical form of einsum terms: equal up to renaming summed indices and reordering factors.

Contract: :func:`canonical_factors` orders a product's factors (and the two labels of
a symmetric factor) by colour refinement on its tensor network, so that products that
differ only by factor order or by the names of summed labels usually become the same
interned node.  Colour refinement is an invariant, not a proof: :func:`equivalent`
decides exactly, by graph isomorphism of the tensor networks (networkx), and
:func:`invariant` is the cheap hash to try first.

>>> import einderiv as ed
>>> A, B = ed.symbols("A[n,n] B[n,n]")
>>> left = ed.einsum("ij,jk->ik", A, B)
>>> right = ed.einsum("jk,ij->ik", B, A)
>>> left == right
True
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import networkx as nx

from einderiv.ir.nodes import Delta, Expr, Func, MatFunc, Product, Sum, Symbol, as_product, digest

FactorList = Sequence[tuple[Expr, tuple[int, ...]]]


def is_symmetric(node: Expr) -> bool:
    """True when ``node`` is a square matrix known to equal its transpose."""
    if len(node.dims) != 2 or node.dims[0] != node.dims[1]:
        return False
    cached = node._cache.get("symmetric")
    if cached is not None:
        return cached
    if isinstance(node, Symbol):
        result = node.symmetric
    elif isinstance(node, Delta):
        result = True
    elif isinstance(node, Func):
        result = all(is_symmetric(arg) for arg in node.args)
    elif isinstance(node, MatFunc):
        result = node.name == "inv" and is_symmetric(node.arg)
    elif isinstance(node, Sum):
        result = bool(node.terms) and all(is_symmetric(t) for t in node.terms)
    elif isinstance(node, Product):
        result = _product_symmetric(node)
    else:
        result = False
    node._cache["symmetric"] = result
    return result


def _product_symmetric(node: Product) -> bool:
    """A product is symmetric when swapping its two output labels gives the same term."""
    a, b = node.out
    swapped = Product.make(node.coeff, node.factors, (b, a), node.ldims)
    return canonical_key(swapped) == canonical_key(node)


def _rank(items: dict) -> dict:
    """Replace each value by its rank among the sorted distinct values (deterministic)."""
    order = {value: rank for rank, value in enumerate(sorted(set(items.values())))}
    return {key: order[value] for key, value in items.items()}


def _refine(factors: FactorList, out: Sequence[int], ldims: dict[int, str]):
    """Colour refinement on the tensor network.

    Colours are ranks (ints), so sorting by them is deterministic across processes.
    """
    start: dict[int, tuple] = {}
    for pos, label in enumerate(out):
        start[label] = ("o", pos, ldims[label])
    occurrences: dict[int, list[tuple[int, int]]] = defaultdict(list)
    symmetric = [is_symmetric(f) for f, _ in factors]
    for index, (_, labels) in enumerate(factors):
        for pos, label in enumerate(labels):
            if label not in start:
                start[label] = ("s", "", ldims[label])
            occurrences[label].append((index, -1 if symmetric[index] else pos))
    colours = _rank(start)
    keys = [f.key for f, _ in factors]
    signatures: list[tuple] = []
    classes = len(set(colours.values()))
    for _ in range(min(len(colours), 6) + 1):
        signatures = []
        for index, (_, labels) in enumerate(factors):
            seq = [colours[label] for label in labels]
            if symmetric[index]:
                seq.sort()
            signatures.append((keys[index], tuple(seq)))
        factor_rank = _rank(dict(enumerate(signatures)))
        colours = _rank(
            {
                label: (colours[label], tuple(sorted((factor_rank[i], p) for i, p in occ)))
                for label, occ in occurrences.items()
            }
            | {label: (colours[label], ()) for label in colours if label not in occurrences}
        )
        new_classes = len(set(colours.values()))
        if new_classes == classes:
            break
        classes = new_classes
    return colours, signatures, symmetric


def canonical_factors(
    factors: FactorList, out: Sequence[int], ldims: dict[int, str]
) -> list[tuple[Expr, tuple[int, ...]]]:
    """Factors sorted into canonical order, symmetric factors' labels ordered too."""
    if len(factors) <= 1 and not any(is_symmetric(f) for f, _ in factors):
        return list(factors)
    colours, signatures, symmetric = _refine(factors, out, ldims)
    ordered = sorted(range(len(factors)), key=lambda i: (factors[i][0].key, signatures[i]))
    result = []
    for index in ordered:
        factor, labels = factors[index]
        if symmetric[index]:
            labels = tuple(sorted(labels, key=lambda label: colours[label]))
        result.append((factor, tuple(labels)))
    return result


def canonical_key(node: Product) -> str:
    """Key of ``node`` with coefficient 1 and canonically ordered factors."""
    cached = node._cache.get("canonical_key")
    if cached is None:
        ordered = canonical_factors(node.factors, node.out, dict(enumerate(node.ldims)))
        cached = Product.make(1.0, ordered, node.out, node.ldims).key
        node._cache["canonical_key"] = cached
    return cached


def invariant(node: Product) -> str:
    """Colour-refinement hash: equal for equivalent products (ignores the coefficient)."""
    cached = node._cache.get("invariant")
    if cached is None:
        colours, signatures, _ = _refine(node.factors, node.out, dict(enumerate(node.ldims)))
        cached = digest((tuple(sorted(signatures)), tuple(colours[label] for label in node.out)))
        node._cache["invariant"] = cached
    return cached


def _network(node: Product) -> nx.MultiGraph:
    graph = nx.MultiGraph()
    out_pos = {label: pos for pos, label in enumerate(node.out)}
    for label, dim in enumerate(node.ldims):
        tag = ("out", out_pos[label]) if label in out_pos else ("sum", dim)
        graph.add_node(("l", label), tag=tag)
    for index, (factor, labels) in enumerate(node.factors):
        sym = is_symmetric(factor)
        graph.add_node(("f", index), tag=("factor", factor.key))
        for pos, label in enumerate(labels):
            graph.add_edge(("f", index), ("l", label), pos=-1 if sym else pos)
    return graph


def equivalent(left: Product, right: Product) -> bool:
    """Exact test: same term up to summed-label renaming and factor order (ignores coeff)."""
    if left.dims != right.dims or len(left.factors) != len(right.factors):
        return False
    if invariant(left) != invariant(right):
        return False
    from networkx.algorithms import isomorphism as iso

    return nx.is_isomorphic(
        _network(left),
        _network(right),
        node_match=iso.categorical_node_match("tag", None),
        edge_match=iso.categorical_multiedge_match("pos", None),
    )


def same(left: Expr, right: Expr) -> bool:
    """True when two expressions are equal up to renaming summed indices and reordering.

    Factors and sum terms may come in any order and summed labels may be named
    differently (graph isomorphism of each term's tensor network); coefficients must agree.

    >>> import einderiv as ed
    >>> A, B, x = ed.symbols("A[n,n] B[n,n] x[n]")
    >>> same(A @ x + B @ x, ed.einsum("ij,j->i", B, x) + ed.einsum("ki,i->k", A, x))
    True
    >>> same(A @ x, A.T @ x)
    False
    """
    if left == right:
        return True
    if left.dims != right.dims or left.kind != right.kind and not (
        isinstance(left, Product) or isinstance(right, Product)
    ):
        return False
    if isinstance(left, Sum) and isinstance(right, Sum):
        if len(left.terms) != len(right.terms):
            return False
        pending = list(right.terms)
        for term in left.terms:
            match = next((k for k, other in enumerate(pending) if same(term, other)), None)
            if match is None:
                return False
            del pending[match]
        return True
    if isinstance(left, Sum) or isinstance(right, Sum):
        return False
    if isinstance(left, Func) and isinstance(right, Func):
        return left.name == right.name and left.param == right.param and _same_args(left, right)
    if isinstance(left, MatFunc) and isinstance(right, MatFunc):
        return left.name == right.name and _same_args(left, right)
    lp, rp = as_product(left), as_product(right)
    return lp.coeff == rp.coeff and equivalent(lp, rp)


def _same_args(left: Func | MatFunc, right: Func | MatFunc) -> bool:
    return len(left.args) == len(right.args) and all(
        same(a, b) for a, b in zip(left.args, right.args, strict=True)
    )
