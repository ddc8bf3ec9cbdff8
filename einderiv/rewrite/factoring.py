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


def _roles(view: Product, index: int) -> tuple[Role, ...]:
    """How the labels of factor ``index`` meet the term: output position or own position."""
    factor, labels = view.factors[index]
    elsewhere = {x for k, (_, ls) in enumerate(view.factors) if k != index for x in ls}
    roles: list[Role] = []
    for label in labels:
        if label in view.out:
            roles.append(("o", view.out.index(label)))
        else:
            first = labels.index(label)
            roles.append(("i" if label in elsewhere else "t", first))
    return tuple(roles)


def factor_sum(
    terms: Sequence[Expr], dims: Sequence[str], tidy: Callable[[Expr], Expr] | None = None
) -> Expr | None:
    """The sum of ``terms`` with the factors common to several terms pulled out, or None.

    ``tidy`` is applied to each new sum of rests (the normal form passes its own).
    """
    dims = tuple(dims)
    views = [_flat(term) for term in terms]
    groups: dict[tuple, list[tuple[int, int]]] = {}
    for t, view in enumerate(views):
        if view is None:
            continue
        seen: set[tuple] = set()
        for k, (factor, _) in enumerate(view.factors):
            signature = (factor.key, _roles(view, k))
            if signature in seen:
                continue
            seen.add(signature)
            groups.setdefault(signature, []).append((t, k))
    # the factor shared by most terms first, unless the rests would be a tensor of higher
    # rank than the terms (a rank-4 intermediate for a matrix result is no gain)
    ranked = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    members = next(
        (found for _, found in ranked
         if len(found) >= 2 and len(_rest_out(views, found)) <= max(2, len(dims))),
        None,
    )
    if members is None:
        return None
    chosen = {t for t, _ in members}
    factored = _pull_out(views, members, tidy)
    others = [term for t, term in enumerate(terms) if t not in chosen]
    if others:
        rest = factor_sum(others, dims, tidy)
        return make_sum([factored, rest if rest is not None else make_sum(others, dims)], dims)
    return factored


def _flat(term: Expr) -> Product | None:
    """``term`` as one product with its single-use products inlined (None if it has a delta)."""
    view = as_product(term)
    if any(isinstance(f, Product) for f, _ in view.factors):
        inlined = make_product(view.coeff, view.factors, view.out, view.ldims)
        view = as_product(inlined)
    if any(isinstance(f, Delta) for f, _ in view.factors):
        return None
    return view


def _rest_out(views: list[Product | None], members: list[tuple[int, int]]) -> list[int]:
    """The labels of the rests' sum: output positions they carry, then interface ones."""
    t0, k0 = members[0]
    first = views[t0]
    assert first is not None
    rank = len(first.out)
    interface = sorted({p for kind, p in _roles(first, k0) if kind == "i"})
    carried: set[int] = set()
    for t, k in members:
        view = views[t]
        assert view is not None
        rest_labels = {x for j, (_, ls) in enumerate(view.factors) if j != k for x in ls}
        carried |= {pos for pos, label in enumerate(view.out) if label in rest_labels}
    return [pos for pos in range(rank) if pos in carried] + [rank + p for p in interface]


def _pull_out(
    views: list[Product | None],
    members: list[tuple[int, int]],
    tidy: Callable[[Expr], Expr] | None,
) -> Expr:
    """``F * (R_1 + R_2 + ...)`` for the factor ``F`` at ``members`` (term, factor index)."""
    t0, k0 = members[0]
    first = views[t0]
    assert first is not None
    factor, _ = first.factors[k0]
    roles = _roles(first, k0)
    rank = len(first.out)
    # labels of the result: output positions 0..rank-1, then rank + factor position
    factor_labels = tuple(p if kind == "o" else rank + p for kind, p in roles)
    rest_out = _rest_out(views, members)
    ldims = {pos: first.ldims[label] for pos, label in enumerate(first.out)}
    for pos, label in enumerate(first.factors[k0][1]):
        ldims[rank + pos] = first.ldims[label]
    rests = []
    for t, k in members:
        view = views[t]
        assert view is not None
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
