"""Common matrix factors pulled out of sums: ``A @ x + A.T @ x = (A + A.T) @ x``.

Contract: :func:`factor_sum` returns an expression equal to the sum of its terms, or None
when no factor is common to two of them.  A factor is common to two terms when it is the
same node joined to the terms' output indices and summed indices in the same pattern; the
rest of each term then has the same interface (the output indices it carries and the
indices it shares with the factor), and the sum of the rests multiplies the factor once.
The factor shared by the most terms goes first, the rests are factored again, and so are
the terms left over.  Terms that carry a Kronecker delta are left as they are (a delta must
meet the contraction that removes it).

>>> import einderiv as ed
>>> A, x = ed.symbols("A[n,n] x[n]")
>>> factor_sum([A @ x, A.T @ x], ("n",)) == (A + A.T) @ x
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from einderiv.ir.nodes import Delta, Expr, Product, Sum, as_product
from einderiv.rewrite.terms import make_product, make_sum

Role = tuple[str, int]


class _Term:
    """One term seen as a product, with each factor's roles and what its rest carries."""

    def __init__(self, view: Product):
        self.view = view
        holders: dict[int, int] = {}
        for _, labels in view.factors:
            for label in set(labels):
                holders[label] = holders.get(label, 0) + 1
        outs = {label: pos for pos, label in enumerate(view.out)}
        self.roles: list[tuple[Role, ...]] = []
        self.carried: list[frozenset[int]] = []
        for _, labels in view.factors:
            own = set(labels)
            roles: list[Role] = []
            for label in labels:
                if label in outs:
                    roles.append(("o", outs[label]))
                else:
                    elsewhere = holders[label] > 1
                    roles.append(("i" if elsewhere else "t", labels.index(label)))
            self.roles.append(tuple(roles))
            self.carried.append(frozenset(
                pos for label, pos in outs.items()
                if holders.get(label, 0) > (1 if label in own else 0)
            ))


def factor_sum(
    terms: Sequence[Expr], dims: Sequence[str], tidy: Callable[[Expr], Expr] | None = None
) -> Expr | None:
    """The sum of ``terms`` with the factors common to several terms pulled out, or None.

    ``tidy`` is applied to each new sum of rests (the normal form passes its own).
    """
    dims = tuple(dims)
    seen_terms: dict[int, _Term] = {}
    for t, term in enumerate(terms):
        view = _flat(term)
        if view is not None:
            seen_terms[t] = _Term(view)
    groups: dict[tuple, list[tuple[int, int]]] = {}
    for t, info in seen_terms.items():
        seen: set[tuple] = set()
        for k, (factor, _) in enumerate(info.view.factors):
            signature = (factor.key, info.roles[k])
            if signature not in seen:
                seen.add(signature)
                groups.setdefault(signature, []).append((t, k))
    groups = {sig: members for sig, members in groups.items() if len(members) >= 2}
    parts: list[Expr] = []
    left = set(range(len(terms)))
    while groups:
        # the factor shared by most terms first, unless the rests would be a tensor of
        # higher rank than the terms (a rank-4 intermediate for a matrix is no gain)
        best = None
        for _, members in sorted(groups.items(), key=lambda i: (-len(i[1]), i[0])):
            if len(_rest_out(seen_terms, members)) <= max(2, len(dims)):
                best = members
                break
        if best is None:
            break
        parts.append(_pull_out(seen_terms, best, tidy))
        chosen = {t for t, _ in best}
        left -= chosen
        groups = {sig: kept for sig, members in groups.items()
                  if len(kept := [m for m in members if m[0] not in chosen]) >= 2}
    if not parts:
        return None
    parts.extend(terms[t] for t in sorted(left))
    return make_sum(parts, dims)


def _flat(term: Expr) -> Product | None:
    """``term`` as one product, its product factors spliced in one level (None: a delta).

    The splice relabels without canonicalizing (``Product.make``): a view for matching,
    cheap enough for every term of a long sum.
    """
    view = as_product(term)
    if any(isinstance(f, Product) for f, _ in view.factors):
        ldims = dict(enumerate(view.ldims))
        fresh = len(view.ldims)
        coeff = view.coeff
        factors: list[tuple[Expr, tuple[int, ...]]] = []
        for factor, labels in view.factors:
            if not isinstance(factor, Product):
                factors.append((factor, labels))
                continue
            mapping = dict(zip(factor.out, labels, strict=True))
            for label in factor.summed:
                mapping[label] = fresh
                ldims[fresh] = factor.ldims[label]
                fresh += 1
            coeff *= factor.coeff
            factors.extend((f, tuple(mapping[x] for x in ls)) for f, ls in factor.factors)
        view = Product.make(coeff, factors, view.out, ldims)
    if any(isinstance(f, Delta) for f, _ in view.factors):
        return None
    return view


def _rest_out(terms: dict[int, _Term], members: list[tuple[int, int]]) -> list[int]:
    """The labels of the rests' sum: output positions they carry, then interface ones."""
    t0, k0 = members[0]
    rank = len(terms[t0].view.out)
    interface = sorted({p for kind, p in terms[t0].roles[k0] if kind == "i"})
    carried: set[int] = set()
    for t, k in members:
        carried |= terms[t].carried[k]
    return sorted(carried) + [rank + p for p in interface]


def _pull_out(
    terms: dict[int, _Term],
    members: list[tuple[int, int]],
    tidy: Callable[[Expr], Expr] | None,
) -> Expr:
    """``F * (R_1 + R_2 + ...)`` for the factor ``F`` at ``members`` (term, factor index)."""
    t0, k0 = members[0]
    first = terms[t0].view
    factor, _ = first.factors[k0]
    roles = terms[t0].roles[k0]
    rank = len(first.out)
    # labels of the result: output positions 0..rank-1, then rank + factor position
    factor_labels = tuple(p if kind == "o" else rank + p for kind, p in roles)
    rest_out = _rest_out(terms, members)
    ldims = {pos: first.ldims[label] for pos, label in enumerate(first.out)}
    for pos, label in enumerate(first.factors[k0][1]):
        ldims[rank + pos] = first.ldims[label]
    rests = []
    for t, k in members:
        view = terms[t].view
        labels = view.factors[k][1]
        out = [view.out[pos] if pos < rank else labels[pos - rank] for pos in rest_out]
        others = [pair for j, pair in enumerate(view.factors) if j != k]
        rests.append(make_product(view.coeff, others, out, view.ldims))
    rest_dims = tuple(ldims[pos] for pos in rest_out)
    inner = factor_sum(rests, rest_dims, tidy)
    total = inner if inner is not None else make_sum(rests, rest_dims)
    if tidy is not None and inner is None:
        total = tidy(total)
    pairs = [(factor, factor_labels), (total, tuple(rest_out))]
    return make_product(1.0, pairs, range(rank), ldims)


def additive_terms(expr: Expr) -> list[Expr]:
    """The terms a reader counts in ``expr``: a sum's terms, or a factored sum's.

    ``(A + A.T) @ x`` (what :func:`factor_sum` builds) gives ``[A @ x, A.T @ x]``: a product
    is distributed over one factor that is a sum of non-constant terms contracted with
    the rest.  ``((1 - a**2) * da) @ a_prev.T`` stays one term.
    """
    if isinstance(expr, Sum):
        return list(expr.terms)
    if isinstance(expr, Product):
        for index, (factor, labels) in enumerate(expr.factors):
            if not isinstance(factor, Sum) or len(factor.terms) < 2:
                continue
            if any(isinstance(t, Product) and not t.factors for t in factor.terms):
                continue
            others = [pair for k, pair in enumerate(expr.factors) if k != index]
            elsewhere = {x for _, ls in others for x in ls}
            if not any(x in elsewhere and x not in expr.out for x in labels):
                continue
            return [
                make_product(expr.coeff, [*others, (term, labels)], expr.out, expr.ldims)
                for term in factor.terms
            ]
    return [expr]
