"""Forward mode: tangents of every node that depends on wrt, memoized per node."""

from __future__ import annotations

from einderiv.derive.common import dependents, label_range, partials_of, softmax_of
from einderiv.ir.nodes import (
    Delta,
    Expr,
    Func,
    LogSumExp,
    MatFunc,
    Product,
    Sum,
    Symbol,
    zero,
)
from einderiv.rewrite.matrix import make_matfunc
from einderiv.rewrite.terms import make_product, make_sum

# -- forward mode ---------------------------------------------------------------------


def forward(
    root: Expr,
    wrt: Symbol,
    seed: Expr,
    extra: tuple[str, ...],
    tangents: list[tuple[str, str]] | None = None,
) -> Expr:
    """``T(root)``: the directional (``extra=()``) or full derivative of ``root``.

    ``tangents``, when given, collects ``(tangent key, node key)`` for every node's tangent.
    """
    order, depends = dependents(root, wrt)
    if root.key not in depends:
        return zero(root.dims + extra)
    tangent: dict[str, Expr] = {}
    ne = len(extra)
    for node in order:
        if node.key not in depends:
            continue
        if node == wrt:
            tangent[node.key] = seed
            continue
        tangent[node.key] = _forward_rule(node, tangent, depends, extra, ne)
        if tangents is not None:
            tangents.append((tangent[node.key].key, node.key))
    return tangent[root.key]


def _forward_rule(node, tangent, depends, extra, ne) -> Expr:
    dims = node.dims + extra
    rank = len(node.dims)
    if isinstance(node, Product):
        base = len(node.ldims)
        e = label_range(ne, base)
        ldims = dict(enumerate(node.ldims))
        ldims.update(zip(e, extra, strict=True))
        terms = []
        for index, (factor, labels) in enumerate(node.factors):
            if factor.key not in depends:
                continue
            factors = list(node.factors)
            factors[index] = (tangent[factor.key], labels + e)
            terms.append(make_product(node.coeff, factors, node.out + e, ldims, inline=False))
        return make_sum(terms, dims)
    if isinstance(node, Sum):
        return make_sum([tangent[t.key] for t in node.terms if t.key in depends], dims)
    if isinstance(node, Func):
        inner = label_range(rank)
        e = label_range(ne, rank)
        ldims = dict(enumerate(dims))
        terms = [
            make_product(
                1.0, [(partial, inner), (tangent[arg.key], inner + e)], inner + e, ldims,
                inline=False,
            )
            for arg, partial in zip(node.args, partials_of(node), strict=True)
            if arg.key in depends
        ]
        return make_sum(terms, dims)
    if isinstance(node, MatFunc):
        if node.name == "solve":
            return _solve_forward(node, tangent, depends, extra)
        return _matfunc_forward(node, tangent[node.arg.key], extra)
    if isinstance(node, LogSumExp):
        arg = node.arg
        full = label_range(len(arg.dims))
        e = label_range(ne, len(full))
        ldims = dict(enumerate(arg.dims))
        ldims.update(zip(e, extra, strict=True))
        kept = tuple(i for i in full if i not in node.axes)
        return make_product(
            1.0,
            [(softmax_of(node), full), (tangent[arg.key], full + e)],
            kept + e,
            ldims,
            inline=False,
        )
    raise AssertionError(f"no forward rule for {node.kind}")  # pragma: no cover


def _matfunc_forward(node: MatFunc, t: Expr, extra: tuple[str, ...]) -> Expr:
    n = node.arg.dims[0]
    ne = len(extra)
    i, j, a, b = 0, 1, 2, 3
    e = label_range(ne, 4)
    ldims = {i: n, j: n, a: n, b: n}
    ldims.update(zip(e, extra, strict=True))
    if node.name == "inv":
        return make_product(
            -1.0, [(node, (i, a)), (t, (a, b) + e), (node, (b, j))], (i, j) + e, ldims, inline=False
        )
    inverse = make_matfunc("inv", node.arg)
    factors = [(inverse, (j, i)), (t, (i, j) + e)]
    if node.name == "det":
        factors.append((node, ()))
    return make_product(1.0, factors, e, ldims, inline=False)


def _solve_forward(node: MatFunc, tangent, depends, extra: tuple[str, ...]) -> Expr:
    """``∂X = solve(A, ∂B - ∂A X)`` for ``X = solve(A, B)``: no inverse is formed."""
    from einderiv.rewrite.matrix import make_matfunc

    a, b = node.args
    rank = len(b.dims)
    rest = label_range(rank - 1, 1)  # B's axes after the first (its columns)
    j = rank
    e = label_range(len(extra), rank + 1)
    ldims = dict(enumerate(b.dims))
    ldims[j] = a.dims[1]
    ldims.update(zip(e, extra, strict=True))
    terms = []
    if b.key in depends:
        terms.append(tangent[b.key])
    if a.key in depends:
        terms.append(make_product(
            -1.0, [(tangent[a.key], (0, j) + e), (node, (j,) + rest)], (0,) + rest + e, ldims,
            inline=False,
        ))
    return make_matfunc("solve", (a, make_sum(terms, b.dims + extra)))


def identity_seed(wrt: Symbol) -> Expr:
    """The seed tangent of the full derivative: ``∂X/∂X`` as a product of deltas."""
    r = len(wrt.dims)
    ldims = dict(enumerate(wrt.dims + wrt.dims))
    factors = [(Delta.make(d), (k, r + k)) for k, d in enumerate(wrt.dims)]
    seed = make_product(1.0, factors, label_range(2 * r), ldims)
    if wrt.symmetric:
        swapped = make_product(
            1.0, [(Delta.make(wrt.dims[0]), (0, 3)), (Delta.make(wrt.dims[0]), (1, 2))],
            label_range(4), ldims,
        )
        seed = make_sum(
            [make_product(0.5, [(seed, label_range(4))], label_range(4), ldims),
             make_product(0.5, [(swapped, label_range(4))], label_range(4), ldims)],
            wrt.dims + wrt.dims,
        )
    return seed
