"""Derivative rules: one index rule per node kind, forward and reverse over the DAG.

Contract: ``forward`` builds, for every node ``N`` that depends on ``X``, the tensor
``T(N)`` of dims ``N.dims + extra`` (``extra = X.dims`` for the full derivative, ``()``
for a jvp), memoized per node; ``reverse`` accumulates adjoints in reverse topological
order (symbolic reverse mode), each node's adjoint one shared node, so results grow
linearly with the depth of a composition.  The rules:

* leaf:      ``∂X_ij/∂X_kl = δ_ik δ_jl`` (``½(δ_ik δ_jl + δ_il δ_jk)`` for symmetric ``X``)
* product:   the product rule over the factors of one einsum term
* function:  ``∂f(E)_I = f'(E)_I ∂E_I``
* inverse:   ``∂inv(X)_ij = -inv(X)_ia ∂X_ab inv(X)_bj``
* det:       ``∂det(X) = det(X) inv(X)_ji ∂X_ij``;  logdet: ``inv(X)_ji ∂X_ij``
* logsumexp: ``∂lse(E) = Σ_axes softmax(E) ∂E``

>>> import einderiv as ed
>>> W, x = ed.symbols("W[n,m] x[m]")
>>> ed.vjp(W @ x, "x", "g") == ed.einsum("ij,i->j", W, ed.symbols("g[n]"))
True
"""

from __future__ import annotations

import difflib
from typing import Any

from .errors import DerivativeError
from .functions import derivative_of
from .ir import (
    Delta,
    Expr,
    Func,
    LogSumExp,
    MatFunc,
    Product,
    Sum,
    Symbol,
    constant,
    remember_size_context,
    topological,
    zero,
)
from .simplify import flatten_single_use, make_product, make_sum

# -- resolving arguments --------------------------------------------------------------


def resolve_wrt(f: Expr, wrt: Any) -> Symbol:
    """The symbol named by ``wrt`` (a name or a symbol) in ``f``; a clear error otherwise."""
    if not isinstance(f, Expr):
        raise DerivativeError(
            f"expected an einderiv expression to differentiate, got {type(f).__name__}"
        )
    table = f.symbols()
    if isinstance(wrt, Symbol):
        other = table.get(wrt.name)
        if other is not None and other != wrt:
            raise DerivativeError(
                f"wrt symbol '{wrt.name}' has dims {list(wrt.dims)} but the expression's "
                f"'{wrt.name}' has dims {list(other.dims)}"
            )
        return wrt
    if isinstance(wrt, str):
        if wrt in table:
            return table[wrt]
        known = ", ".join(sorted(table)) or "none"
        close = difflib.get_close_matches(wrt, list(table), n=1)
        guess = f"; did you mean '{close[0]}'?" if close else ""
        raise DerivativeError(
            f"cannot differentiate with respect to '{wrt}': the expression has no symbol of "
            f"that name (its symbols: {known}){guess} (to differentiate with respect to a "
            "symbol the expression does not use, which gives zero, pass the symbol itself)"
        )
    raise DerivativeError(f"wrt must be a symbol or a symbol's name, got {type(wrt).__name__}")


def _tensor_arg(f: Expr, value: Any, dims: tuple[str, ...], what: str) -> Expr:
    """A cotangent/tangent given as a name (new symbol) or an expression of ``dims``."""
    if isinstance(value, str):
        existing = f.symbols().get(value)
        if existing is not None and existing.dims != dims:
            raise DerivativeError(
                f"{what} '{value}' must have dims {list(dims)}, but the expression already has a "
                f"symbol '{value}' with dims {list(existing.dims)}; pick another name"
            )
        if not value.isidentifier():
            raise DerivativeError(f"{what} name {value!r} is not an identifier")
        return Symbol.make(value, dims)
    if isinstance(value, Expr):
        if value.dims != dims:
            raise DerivativeError(
                f"{what} has dims {list(value.dims)} but must have dims {list(dims)}"
            )
        return value
    raise DerivativeError(f"{what} must be a name or an expression, got {type(value).__name__}")


def _dependents(root: Expr, wrt: Symbol) -> tuple[list[Expr], set[str]]:
    order = topological(root)
    depends: set[str] = set()
    for node in order:
        if node == wrt or any(child.key in depends for child in node.children):
            depends.add(node.key)
    return order, depends


# -- forward mode ---------------------------------------------------------------------


def forward(root: Expr, wrt: Symbol, seed: Expr, extra: tuple[str, ...]) -> Expr:
    """``T(root)``: the directional (``extra=()``) or full derivative of ``root``."""
    order, depends = _dependents(root, wrt)
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
    return tangent[root.key]


def _labels(n: int, start: int = 0) -> tuple[int, ...]:
    return tuple(range(start, start + n))


def _forward_rule(node, tangent, depends, extra, ne) -> Expr:
    dims = node.dims + extra
    rank = len(node.dims)
    if isinstance(node, Product):
        base = len(node.ldims)
        e = _labels(ne, base)
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
        inner = _labels(rank)
        e = _labels(ne, rank)
        ldims = dict(enumerate(dims))
        return make_product(
            1.0,
            [(derivative_of(node), inner), (tangent[node.arg.key], inner + e)],
            inner + e,
            ldims,
            inline=False,
        )
    if isinstance(node, MatFunc):
        return _matfunc_forward(node, tangent[node.arg.key], extra)
    if isinstance(node, LogSumExp):
        arg = node.arg
        full = _labels(len(arg.dims))
        e = _labels(ne, len(full))
        ldims = dict(enumerate(arg.dims))
        ldims.update(zip(e, extra, strict=True))
        kept = tuple(i for i in full if i not in node.axes)
        return make_product(
            1.0,
            [(_softmax_of(node), full), (tangent[arg.key], full + e)],
            kept + e,
            ldims,
            inline=False,
        )
    raise AssertionError(f"no forward rule for {node.kind}")  # pragma: no cover


def _softmax_of(node: LogSumExp) -> Expr:
    """``exp(arg - lse)`` broadcast over the reduced axes (dims of ``arg``)."""
    from .simplify import make_func

    arg = node.arg
    full = _labels(len(arg.dims))
    kept = tuple(i for i in full if i not in node.axes)
    spread = make_product(1.0, [(node, kept)], full, dict(enumerate(arg.dims)))
    shifted = make_sum([arg, make_product(-1.0, [(spread, full)], full, arg.dims)], arg.dims)
    return make_func("exp", shifted)


def _matfunc_forward(node: MatFunc, t: Expr, extra: tuple[str, ...]) -> Expr:
    from .simplify import make_matfunc

    n = node.arg.dims[0]
    ne = len(extra)
    i, j, a, b = 0, 1, 2, 3
    e = _labels(ne, 4)
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


def _identity_seed(wrt: Symbol) -> Expr:
    r = len(wrt.dims)
    ldims = dict(enumerate(wrt.dims + wrt.dims))
    factors = [(Delta.make(d), (k, r + k)) for k, d in enumerate(wrt.dims)]
    seed = make_product(1.0, factors, _labels(2 * r), ldims)
    if wrt.symmetric:
        swapped = make_product(
            1.0, [(Delta.make(wrt.dims[0]), (0, 3)), (Delta.make(wrt.dims[0]), (1, 2))],
            _labels(4), ldims,
        )
        seed = make_sum(
            [make_product(0.5, [(seed, _labels(4))], _labels(4), ldims),
             make_product(0.5, [(swapped, _labels(4))], _labels(4), ldims)],
            wrt.dims + wrt.dims,
        )
    return seed


# -- reverse mode ---------------------------------------------------------------------


def reverse(root: Expr, wrt: Symbol, cotangent: Expr) -> Expr:
    """Adjoint of ``wrt`` for the cotangent ``cotangent`` (dims of ``root``)."""
    order, depends = _dependents(root, wrt)
    if root.key not in depends:
        return zero(wrt.dims)
    pending: dict[str, list[Expr]] = {root.key: [cotangent]}
    result: Expr = zero(wrt.dims)
    for node in reversed(order):
        if node.key not in depends or node.key not in pending:
            continue
        adjoint = make_sum(pending.pop(node.key), node.dims)
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
            outs = _labels(len(labels), base)
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
        inner = _labels(len(node.dims))
        yield node.arg, make_product(
            1.0, [(derivative_of(node), inner), (adjoint, inner)], inner, node.dims, inline=False
        )
    elif isinstance(node, MatFunc):
        yield node.arg, _matfunc_reverse(node, adjoint)
    elif isinstance(node, LogSumExp):
        full = _labels(len(node.arg.dims))
        kept = tuple(i for i in full if i not in node.axes)
        yield node.arg, make_product(
            1.0, [(adjoint, kept), (_softmax_of(node), full)], full, node.arg.dims, inline=False
        )
    else:  # pragma: no cover
        raise AssertionError(f"no reverse rule for {node.kind}")


def _matfunc_reverse(node: MatFunc, adjoint: Expr) -> Expr:
    from .simplify import make_matfunc

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


# -- public entry points --------------------------------------------------------------


def diff(f: Expr, wrt: Any) -> Expr:
    """Full derivative tensor ``∂f/∂wrt``: f's dims, then wrt's dims.

    >>> import einderiv as ed
    >>> X, W = ed.symbols("X[a,b] W[b,c]")
    >>> ed.diff(X @ W, "X").shape
    ('a', 'c', 'a', 'b')
    """
    x = resolve_wrt(f, wrt)
    result = forward(f, x, _identity_seed(x), x.dims)
    return remember_size_context(flatten_single_use(result), x, f)


def jvp(f: Expr, wrt: Any, tangent: Any = "V") -> Expr:
    """Forward mode: the derivative of ``f`` along ``tangent`` (shaped like wrt)."""
    x = resolve_wrt(f, wrt)
    v = _tensor_arg(f, tangent, x.dims, "tangent")
    if x.symmetric and isinstance(v, Symbol) and not v.symmetric:
        v = Symbol.make(v.name, v.dims, True)
    return remember_size_context(flatten_single_use(forward(f, x, v, ())), x, v, f)


def vjp(f: Expr, wrt: Any, cotangent: Any = "g") -> Expr:
    """Backprop: the cotangent ``g`` (shaped like f) pulled back to wrt's shape."""
    x = resolve_wrt(f, wrt)
    g = _tensor_arg(f, cotangent, f.dims, "cotangent")
    return remember_size_context(flatten_single_use(reverse(f, x, g)), x, g, f)


def grad(f: Expr, wrt: Any) -> Expr:
    """Gradient of a scalar ``f``: same dims as wrt.

    >>> import einderiv as ed
    >>> x, A = ed.symbols("x[n] A[n,n]")
    >>> ed.grad(x @ A @ x, "x") == A @ x + A.T @ x
    True
    """
    if not isinstance(f, Expr):
        raise DerivativeError(f"grad expects an einderiv expression, got {type(f).__name__}")
    if f.dims:
        raise DerivativeError(
            f"grad needs a scalar expression, but this one has dims {list(f.dims)}; "
            "reduce it first (e.g. sum(...)) or use vjp(f, wrt, cotangent) / diff(f, wrt)"
        )
    x = resolve_wrt(f, wrt)
    return remember_size_context(flatten_single_use(reverse(f, x, constant(1.0))), x, f)


def hessian(f: Expr, wrt: Any) -> Expr:
    """Hessian of a scalar ``f``: wrt's dims twice."""
    if isinstance(f, Expr) and f.dims:
        raise DerivativeError(
            f"hessian needs a scalar expression, but this one has dims {list(f.dims)}; "
            "use diff(diff(f, x), x) for a non-scalar second derivative"
        )
    x = resolve_wrt(f, wrt)
    return remember_size_context(diff(grad(f, x), x), x, f)
