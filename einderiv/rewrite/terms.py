"""Smart constructors of einsum terms and sums: ``make_product`` and ``make_sum``.

Contract: ``make_product`` and ``make_sum`` return an equal expression in simplified
form -- nested products inlined, Kronecker deltas eliminated wherever one of their
indices is summed (``Σ_j A_ij δ_jk = A_ik``, ``δ_ii = n``), every summed index over a
size-1 axis folded into one (an output one if any: the rule "size-1 index"),
``inv(X) @ X`` and ``X @ inv(X)`` cancelled to a delta ("inverse cancel"), powers of one
base merged, constants folded, zero terms dropped, terms equal up to summed-index
renaming merged.  A delta survives only when both its indices are output indices.
Every builder and derivative rule goes through these, so results are simplified as they
are built.

Rewrites can be observed: :func:`recording` collects ``(rule, before, after)`` triples.

>>> import einderiv as ed
>>> A, x = ed.symbols("A[n,n] x[n]")
>>> e = ed.einsum("ij,jk,k->i", A, ed.ir.Delta.make("n"), x)
>>> e == A @ x
True
>>> ed.inv(A) @ A @ x == x
True
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from contextvars import ContextVar

from einderiv.ir.canonical import (
    canonical_factors,
    canonical_key,
    equivalent,
    invariant,
    is_symmetric,
)
from einderiv.ir.nodes import (
    Delta,
    Expr,
    Func,
    MatFunc,
    Product,
    Size,
    Sum,
    as_product,
    is_zero,
    unwrap,
    zero,
)
from einderiv.rewrite.deltas import carries_delta, delta_meets, eliminate_deltas
from einderiv.rewrite.powers import make_pow
from einderiv.rewrite.record import active, record

#: most factors a product reaches by inlining its product operands: a longer chain
#: (``x @ W.T @ W @ ...``, a Hadamard chain of adjoints) is a product of products, so
#: building it costs O(length) and the DAG keeps its nodes
MAX_FACTORS = 16

#: most factors of a product (the sum included) in which a sum whose deltas join output
#: labels only is distributed all the same, for the reading (``diag(p) - outer(p, p)``)
SMALL_DISTRIBUTE = 3

_KEPT: ContextVar[AbstractSet[str]] = ContextVar("einderiv_kept", default=frozenset())


@contextlib.contextmanager
def keeping(keys: AbstractSet[str]) -> Iterator[None]:
    """Inside the block, products whose key is in ``keys`` are not inlined by builders.

    The parser keeps a program's names that are used more than once as nodes of their
    own this way (``keys`` may grow while the block runs).  Like ``keep=``, it never
    stops a delta from meeting its contraction.
    """
    token = _KEPT.set(keys)
    try:
        yield
    finally:
        _KEPT.reset(token)


def make_product(
    coeff: float,
    factors: Iterable[tuple[Expr, Sequence[int]]],
    out: Sequence[int],
    ldims: dict[int, str] | Sequence[str],
    *,
    inline: bool = True,
    keep: AbstractSet[str] = frozenset(),
) -> Expr:
    """Build ``coeff * Π factors`` summed over non-output labels, simplified.

    ``inline=False`` keeps product factors as opaque operands (used by the derivative
    passes so that a shared adjoint is one node); ``keep`` names (by key) product
    factors not to inline.  Deltas are eliminated either way.
    """
    ldims = dict(ldims) if isinstance(ldims, dict) else dict(enumerate(ldims))
    out = tuple(out)
    out_set = set(out)
    fresh = max(ldims, default=-1) + 1
    pending = [(unwrap(f), tuple(ls)) for f, ls in factors]
    universe: set[int] = set(out)
    for _, labels in pending:
        universe.update(labels)
    flat: list[tuple[Expr, tuple[int, ...]]] = []
    coeff = float(coeff)
    count = len(pending)  # the factors of the result if nothing more is inlined
    kept = _KEPT.get() if inline else frozenset()
    while pending:
        factor, labels = pending.pop()
        if is_zero(factor):
            return zero(tuple(ldims[label] for label in out))
        if isinstance(factor, Size) and factor.dim == "1":
            count -= 1
            continue
        if isinstance(factor, Product):
            size = len(factor.factors)
            # Within the budget, a product factor is inlined when inlining is asked for
            # and it is not kept, or when it carries a delta (the delta must meet the
            # contraction that eliminates it, even in a shared product), and also past the
            # budget when it is the only factor (a scaled or transposed product does not
            # grow).  A product of one factor (``-g``, ``W.T``) always is: inlining it
            # copies no work.
            wanted = (
                inline and factor.key not in keep and factor.key not in kept
            ) or carries_delta(factor)
            grown = count - 1 + size
            if size <= 1 or (wanted and (grown <= MAX_FACTORS or count == 1)):
                count = grown
                pending.extend(_inlined(factor, labels, ldims, universe, fresh))
                fresh += len(factor.summed)
                coeff *= factor.coeff
                continue
            if delta_meets(factor, labels, out_set):
                # Over the budget: the deltas alone are inlined, the rest stays one node.
                rest, deltas = _hoist_deltas(factor)
                count += len(deltas)
                coeff *= factor.coeff
                mapping = dict(zip(factor.out, labels, strict=True))
                pending.extend((d, tuple(mapping[x] for x in ls)) for d, ls in deltas)
                factor, labels = rest
                labels = tuple(mapping[x] for x in labels)
        flat.append((factor, labels))
    flat.reverse()
    if coeff == 0.0:
        return zero(tuple(ldims[label] for label in out))

    flat = eliminate_deltas(flat, out_set, universe)
    if any(ldims[label] == "1" for label in universe - out_set):
        flat = _fold_size_one(flat, out, ldims, universe, coeff)
    while any(isinstance(f, MatFunc) and f.name == "inv" for f, _ in flat):
        found = _cancel_inverse(flat, out_set)
        if found is None:
            break
        cancelled, label = found
        universe.discard(label)
        if active():
            record("inverse cancel", Product.make(coeff, flat, out, ldims),
                   Product.make(coeff, cancelled, out, ldims))
        flat = eliminate_deltas(cancelled, out_set, universe)

    flat = _merge_powers(flat)

    # Summed labels that no factor carries any more contribute their dim's size.
    present = {x for _, ls in flat for x in ls}
    sizes = [ldims[label] for label in sorted(universe - present - out_set)]
    sizes = [dim for dim in sizes if dim != "1"]
    if sizes:
        flat = _merge_powers(flat + [(Size.make(dim), ()) for dim in sizes])

    # Distribute a sum whose terms carry deltas that meet a contraction here, so that
    # elimination sees them.  Only those terms are split off; the others stay one
    # (shared) sum factor, so that repeated distribution through a deep DAG (forward
    # mode over a reverse pass, e.g. a Hessian of an unrolled RNN) adds O(1) terms per
    # node instead of copying every term of every tangent.  A sum whose deltas all join
    # output labels is distributed only in a small product (``p_i (δ_ij - p_j)`` reads
    # ``diag(p) - outer(p, p)``); in a wide one it stays whole, as distributing it would
    # only copy the other factors into every term (repeated derivatives of a Jacobian).
    small = len(flat) <= SMALL_DISTRIBUTE
    for index, (factor, labels) in enumerate(flat):
        if not isinstance(factor, Sum):
            continue
        parts = [t for t in factor.terms if _distributed(t, labels, out_set, small)]
        if parts:
            others = flat[:index] + flat[index + 1 :]
            plain = [t for t in factor.terms if not _distributed(t, labels, out_set, small)]
            if plain:
                parts.append(make_sum(plain, factor.dims))
            terms = [
                make_product(
                    coeff, [*others, (part, labels)], out, ldims, inline=inline, keep=keep
                )
                for part in parts
            ]
            return make_sum(terms, tuple(ldims[label] for label in out))

    # Canonical order first: it also orders the labels of a symmetric factor, so that
    # S.T (S symmetric) and a transposed delta are recognised as the factor itself.
    flat = canonical_factors(flat, out, ldims)
    if (
        coeff == 1.0
        and len(flat) == 1
        and flat[0][1] == out
        and len(set(out)) == len(out)
    ):
        return flat[0][0]
    return Product.make(coeff, flat, out, ldims)


def _inlined(
    factor: Product, labels: tuple[int, ...], ldims: dict[int, str], universe: set[int],
    fresh: int,
) -> list[tuple[Expr, tuple[int, ...]]]:
    """``factor``'s own factors at ``labels``, its summed labels renamed from ``fresh`` on."""
    mapping = dict(zip(factor.out, labels, strict=True))
    for label in factor.summed:
        mapping[label] = fresh
        ldims[fresh] = factor.ldims[label]
        universe.add(fresh)
        fresh += 1
    return [(inner, tuple(mapping[x] for x in ls)) for inner, ls in factor.factors]


def _distributed(term: Expr, labels: tuple[int, ...], out_set: set[int], small: bool) -> bool:
    """Whether a term of a sum factor at ``labels`` is split off by distribution."""
    return delta_meets(term, labels, out_set) or (small and carries_delta(term))


def _hoist_deltas(
    factor: Product,
) -> tuple[tuple[Expr, tuple[int, ...]], list[tuple[Expr, tuple[int, ...]]]]:
    """``factor`` (coefficient aside) as ``(rest, rest labels)`` and its delta carriers.

    The carriers (deltas, and sums or products with deltas) join output labels only, so
    the rest is the product of the other factors over the output labels they carry: one
    shared node.
    """
    deltas = [(f, ls) for f, ls in factor.factors if carries_delta(f)]
    others = [(f, ls) for f, ls in factor.factors if not carries_delta(f)]
    carried = {x for _, ls in others for x in ls}
    rest_out = tuple(x for x in factor.out if x in carried)
    ldims = dict(enumerate(factor.ldims))
    rest = make_product(1.0, others, rest_out, ldims, inline=False)
    return (rest, rest_out), deltas


def _fold_size_one(
    flat: list[tuple[Expr, tuple[int, ...]]],
    out: tuple[int, ...],
    ldims: dict[int, str],
    universe: set[int],
    coeff: float,
) -> list[tuple[Expr, tuple[int, ...]]]:
    """Rename summed labels over a size-1 axis into one label (an output one if any).

    A size-1 axis has one index value, so every label over it is the same index: the sum
    ``Σ_l x_il`` over a size-1 ``l`` is ``x_i0``, and ``(A @ x) * ones((n, 1))`` for a
    column ``x`` is ``A @ x``.  A factor never gets one label twice (that would read as a
    diagonal).
    """
    out_set = set(out)
    ones = [label for label in out if ldims[label] == "1"]
    summed = sorted(label for label in universe - out_set if ldims[label] == "1")
    present = {x for _, ls in flat for x in ls}
    summed = [label for label in summed if label in present]
    if not summed or (not ones and len(summed) < 2):
        return flat
    target = ones[0] if ones else summed.pop(0)
    mapping: dict[int, int] = {}
    for label in summed:
        if all(not (label in ls and target in ls) for _, ls in flat):
            mapping[label] = target
    if not mapping:
        return flat
    folded = [(f, tuple(mapping.get(x, x) for x in ls)) for f, ls in flat]
    for label in mapping:
        universe.discard(label)
    if active():
        record("size-1 index", Product.make(coeff, flat, out, ldims),
               Product.make(coeff, folded, out, ldims))
    return folded


def _cancel_inverse(
    flat: list[tuple[Expr, tuple[int, ...]]], out_set: set[int]
) -> tuple[list[tuple[Expr, tuple[int, ...]]], int] | None:
    """Replace one ``inv(X)_ab X_bc`` (or ``X_ab inv(X)_bc``) by ``δ_ac``: ``(factors, b)``.

    The shared label ``b`` must be summed and carried by those two factors only; None when
    there is no such pair.
    """
    count: dict[int, int] = {}
    for _, labels in flat:
        for label in labels:
            count[label] = count.get(label, 0) + 1
    for i, (factor, labels) in enumerate(flat):
        if not (isinstance(factor, MatFunc) and factor.name == "inv"):
            continue
        matrix = factor.arg
        symmetric = is_symmetric(matrix)
        for j, (other, other_labels) in enumerate(flat):
            if j == i or other is not matrix:
                continue
            for p in (0, 1):
                b = labels[p]
                if b in out_set or count.get(b) != 2 or labels[1 - p] == b:
                    continue
                if b not in other_labels or other_labels[0] == other_labels[1]:
                    continue
                q = other_labels.index(b)
                if not symmetric and p == q:
                    continue  # inv(X) X.T or X.T inv(X): no identity
                delta = (Delta.make(matrix.dims[0]), (labels[1 - p], other_labels[1 - q]))
                rest = [pair for k, pair in enumerate(flat) if k not in (i, j)]
                return [*rest, delta], b
    return None


def _merge_powers(flat: list[tuple[Expr, tuple[int, ...]]]) -> list[tuple[Expr, tuple[int, ...]]]:
    """Combine factors ``x**p`` and ``x**q`` on the same indices into ``x**(p+q)``.

    ``exp(u)**-1 * exp(u)`` (from the derivative of ``log(softmax(z))``) becomes 1.
    """

    def split(factor: Expr) -> tuple[Expr, float]:
        if isinstance(factor, Func) and factor.name == "pow" and factor.param is not None:
            return factor.arg, factor.param
        return factor, 1.0

    groups: dict[tuple[str, tuple[int, ...]], list[int]] = {}
    for index, (factor, labels) in enumerate(flat):
        if isinstance(factor, Delta):
            continue
        base, _ = split(factor)
        groups.setdefault((base.key, labels), []).append(index)
    if all(len(members) < 2 for members in groups.values()):
        return flat
    merged: dict[int, tuple[Expr, tuple[int, ...]] | None] = {}
    for (_, labels), members in groups.items():
        if len(members) < 2:
            continue
        base = split(flat[members[0]][0])[0]
        total = sum(split(flat[k][0])[1] for k in members)
        for k in members[1:]:
            merged[k] = None
        if total == 0.0:
            merged[members[0]] = None
        else:
            merged[members[0]] = (make_pow(base, total), labels)
    result: list[tuple[Expr, tuple[int, ...]]] = []
    for index, pair in enumerate(flat):
        if index in merged:
            kept = merged[index]
            if kept is not None:
                result.append(kept)
        else:
            result.append(pair)
    return result


def make_sum(terms: Iterable[Expr], dims: Sequence[str]) -> Expr:
    """Add ``terms`` (all of ``dims``): flatten, drop zeros, merge equal terms."""
    dims = tuple(dims)
    flat: list[Expr] = []
    pending = [unwrap(t) for t in terms]
    while pending:
        term = pending.pop(0)
        if isinstance(term, Sum):
            pending[0:0] = list(term.terms)
        elif not is_zero(term):
            flat.append(term)
    if not flat:
        return zero(dims)
    if len(flat) == 1:
        return flat[0]
    # Merge terms equal up to summed-label renaming; keep first-seen order of keys.
    groups: dict[str, list] = {}
    for term in flat:
        view = as_product(term)
        key = canonical_key(view)
        if key in groups:
            groups[key][0] += view.coeff
            groups[key][2] = max(groups[key][2], abs(view.coeff))
        else:
            groups[key] = [view.coeff, view, abs(view.coeff), term]
    entries = list(groups.values())
    if len(entries) > 1:
        entries = _merge_isomorphic(entries)
    result = []
    for coeff, view, scale, term in entries:
        if abs(coeff) <= 1e-13 * scale:
            continue
        if coeff == view.coeff:  # not merged with anything: keep the term as built
            result.append(term)
            continue
        # Merged: only the coefficient changes.  No inlining of product factors, which
        # would copy a shared adjoint into every term (quadratic BPTT gradients).
        result.append(make_product(coeff, view.factors, view.out, view.ldims, inline=False))
    if len(result) < len(flat):
        after = Sum.make(result, dims) if result else zero(dims)
        record("merge equal terms", Sum.make(flat, dims), after)
    if not result:
        return zero(dims)
    if len(result) == 1:
        return result[0]
    result.sort(key=lambda t: t.key)
    return Sum.make(result, dims)


def _merge_isomorphic(entries: list[list]) -> list[list]:
    """Exact merge (graph isomorphism) of terms whose invariants agree."""
    buckets: dict[str, list[list]] = {}
    for entry in entries:
        view = entry[1]
        if not view.factors:
            buckets.setdefault(view.key, []).append(entry)
            continue
        buckets.setdefault(invariant(view), []).append(entry)
    merged: list[list] = []
    for bucket in buckets.values():
        kept: list[list] = []
        for entry in bucket:
            for other in kept:
                if equivalent(other[1], entry[1]):
                    other[0] += entry[0]
                    other[2] = max(other[2], entry[2])
                    break
            else:
                kept.append(list(entry))
        merged.extend(kept)
    return merged
