"""Reverse mode: adjoints accumulated in reverse topological order."""

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

# -- reverse mode ---------------------------------------------------------------------


def reverse(
    root: Expr, wrt: Symbol, cotangent: Expr, adjoints: list[tuple[str, str]] | None = None
) -> Expr:
    """Adjoint of ``wrt`` for the cotangent ``cotangent`` (dims of ``root``).

    ``adjoints``, when given, collects ``(adjoint key, node key)`` for every node's
    accumulated adjoint, so the readable form can call the adjoint of ``z`` ``dz``.
    """
    order, depends = dependents(root, wrt)
    if root.key not in depends:
        return zero(wrt.dims)
    pending: dict[str, list[Expr]] = {root.key: [cotangent]}
    result: Expr = zero(wrt.dims)
    for node in reversed(order):
        if node.key not in depends or node.key not in pending:
            continue
        adjoint = make_sum(pending.pop(node.key), node.dims)
        if adjoints is not None:
            adjoints.append((adjoint.key, node.key))
        if node == wrt:
            result = adjoint
            continue
        for child, contribution in _reverse_rule(node, adjoint, depends):
            pending.setdefault(child.key, []).append(contribution)
    if wrt.symmetric:
        labels = (0, 1)
        result = make_sum(
            [make_product(0.5, [(result, labels)], labels, wrt.dims),
             make_product(0.5, [(result, labels)], (1, 0), wrt.dims)],
            wrt.dims,
        )
    return result


def _reverse_rule(node: Expr, adjoint: Expr, depends: set[str]):
    if isinstance(node, Product):
        base = len(node.ldims)
        for index, (factor, labels) in enumerate(node.factors):
            if factor.key not in depends:
                continue
            outs = label_range(len(labels), base)
            ldims = dict(enumerate(node.ldims))
            ldims.update({o: factor.dims[k] for k, o in enumerate(outs)})
            others = [f for k, f in enumerate(node.factors) if k != index]
            deltas = [
                (Delta.make(factor.dims[k]), (outs[k], labels[k])) for k in range(len(labels))
            ]
            yield factor, make_product(
                node.coeff, [(adjoint, node.out), *others, *deltas], outs, ldims, inline=False
            )
    elif isinstance(node, Sum):
        for term in node.terms:
            if term.key in depends:
                yield term, adjoint
    elif isinstance(node, Func):
        inner = label_range(len(node.dims))
        for arg, partial in zip(node.args, partials_of(node), strict=True):
            if arg.key in depends:
                yield arg, make_product(
                    1.0, [(partial, inner), (adjoint, inner)], inner, node.dims, inline=False
                )
    elif isinstance(node, MatFunc) and node.name == "solve":
        yield from _solve_reverse(node, adjoint, depends)
    elif isinstance(node, MatFunc):
        yield node.arg, _matfunc_reverse(node, adjoint)
    elif isinstance(node, LogSumExp):
        full = label_range(len(node.arg.dims))
        kept = tuple(i for i in full if i not in node.axes)
        yield node.arg, make_product(
            1.0, [(adjoint, kept), (softmax_of(node), full)], full, node.arg.dims, inline=False
        )
    else:  # pragma: no cover
        raise AssertionError(f"no reverse rule for {node.kind}")


def _matfunc_reverse(node: MatFunc, adjoint: Expr) -> Expr:
    n = node.arg.dims[0]
    ldims = {0: n, 1: n, 2: n, 3: n}
    a, b, i, j = 0, 1, 2, 3
    if node.name == "inv":
        return make_product(
            -1.0, [(node, (i, a)), (adjoint, (i, j)), (node, (b, j))], (a, b), ldims, inline=False
        )
    factors = [(adjoint, ()), (make_matfunc("inv", node.arg), (b, a))]
    if node.name == "det":
        factors.append((node, ()))
    return make_product(1.0, factors, (a, b), ldims, inline=False)


def _solve_reverse(node: MatFunc, adjoint: Expr, depends: set[str]):
    """Adjoints of ``X = solve(A, B)``, no inverse formed.

    For the adjoint ``G`` of X: ``gB = solve(A.T, G)`` and ``gA = -gB X.T`` (summed
    over B's columns).
    """
    from einderiv.rewrite.matrix import make_matfunc

    a, b = node.args
    n = a.dims[0]
    transposed = make_product(1.0, [(a, (0, 1))], (1, 0), a.dims)
    g_b = make_matfunc("solve", (transposed, adjoint))
    if b.key in depends:
        yield b, g_b
    if a.key in depends:
        rest = label_range(len(b.dims) - 1, 2)
        ldims = {0: n, 1: n, **{k: b.dims[k - 1] for k in rest}}
        yield a, make_product(
            -1.0, [(g_b, (0,) + rest), (node, (1,) + rest)], (0, 1), ldims, inline=False
        )
