"""The catalogue of named identities, and the predicates that say where each one holds.

Contract: every rewrite the smart constructors and the normal form apply is named here
(:data:`RULES`: name -> the identity it applies), so that recordings
(:func:`einderiv.rewrite.record`) and explanations cite one spelling; the predicates
(:func:`positive`, :func:`split_sign`, :func:`sigmoid_complement`, :func:`exp_reduction`,
:func:`square_chain`) decide from structure alone where an identity is valid for every
real input at which the original expression is defined.  Nothing here builds more than a
negation.

>>> import einderiv as ed
>>> x, z = ed.symbols("x[n] z[n]")
>>> positive(ed.exp(x)), positive(x), positive(ed.sigmoid(x) * ed.exp(z))
(True, False, True)
>>> sign, u = split_sign(-x)
>>> sign, u is x
(-1, True)
"""

from __future__ import annotations

from einderiv.ir.nodes import (
    Delta,
    Expr,
    Func,
    MatFunc,
    Product,
    Size,
    Sum,
    Symbol,
)
from einderiv.rewrite.terms import make_product, make_sum

#: every named rule: its name (what :func:`einderiv.rewrite.record` logs) -> the identity
RULES: dict[str, str] = {
    # elementwise functions (smart constructor make_func)
    "log exp": "log(exp(u)) = u",
    "log softmax": "log(softmax(z)) = z - logsumexp(z)",
    "softplus": "log(1 + exp(u)) = log1p(exp(u)) = softplus(u)",
    "log sigmoid": "log(sigmoid(u)) = -softplus(-u)",
    "log one minus sigmoid": "log(1 - sigmoid(u)) = log(sigmoid(-u)) = -softplus(u)",
    "log product": "log(a * b) = log(a) + log(b) for a provably positive a",
    "log power": "log(a**p) = p * log(a) (p not an even integer, or a provably positive)",
    "log sum exp": "log(sum(exp(u), axes)) = logsumexp(u, axes)",
    # elementwise normal form (rewrite.algebra)
    "sigmoid complement": "sigmoid(-u) = 1 - sigmoid(u)",
    "exp product": "exp(a) * exp(b) = exp(a + b) (only where it shortens)",
    "cancel powers": "a**p * a**q = a**(p + q), a / a = 1 where a is defined and nonzero",
    "collect like terms": "c1 * m + c2 * m = (c1 + c2) * m",
    "distribute": "a * (b + c) = a * b + a * c (accepted only where the result is smaller)",
    "common factor": "a * b + a * c = a * (b + c)",
    "contraction linearity": "sum_i (a_i + b_i) = sum_i a_i + sum_i b_i (where terms cancel)",
    # matrices (smart constructors make_matfunc, make_product; rewrite.factoring)
    "det inverse": "det(inv(X)) = 1 / det(X)",
    "logdet inverse": "logdet(inv(X)) = -logdet(X)",
    "det product": "det(A @ B) = det(A) * det(B), det(A.T) = det(A) (square factors)",
    "logdet product": "logdet(A @ B) = logdet(A) + logdet(B) (square factors)",
    "inverse cancel": "inv(X) @ X = X @ inv(X) = I",
    "size-1 index": "all indices over a size-1 axis are the same index",
    "matrix common factor": "A @ x + B @ x = (A + B) @ x",
}

_POSITIVE_FUNCS = {"exp", "sigmoid", "softplus"}
_NONNEGATIVE_FUNCS = {"abs", "relu", "sqrt", "step"}


def positive(node: Expr) -> bool:
    """True when every entry of ``node`` is provably > 0 wherever it is defined.

    ``exp``, ``sigmoid`` and ``softplus`` of anything, dimension sizes, positive
    constants, and products, sums and powers of those are positive.
    """
    cached = node._cache.get("positive")
    if cached is None:
        cached = _positive(node)
        node._cache["positive"] = cached
    return cached


def _positive(node: Expr) -> bool:
    if isinstance(node, Size):
        return True
    if isinstance(node, Func):
        if node.name in _POSITIVE_FUNCS:
            return True
        return node.name in ("pow", "sqrt") and positive(node.arg)
    if isinstance(node, Product):
        return node.coeff > 0 and all(positive(f) for f, _ in node.factors)
    if isinstance(node, Sum):
        return bool(node.terms) and all(positive(t) for t in node.terms)
    return False


def nonnegative(node: Expr) -> bool:
    """True when every entry of ``node`` is provably >= 0 wherever it is defined."""
    if positive(node):
        return True
    if isinstance(node, Delta):
        return True
    if isinstance(node, Func):
        if node.name in _NONNEGATIVE_FUNCS:
            return True
        if node.name == "pow" and node.param is not None:
            even = float(node.param).is_integer() and int(node.param) % 2 == 0
            return even or nonnegative(node.arg)
        return False
    if isinstance(node, Product):
        return node.coeff >= 0 and all(nonnegative(f) for f, _ in node.factors)
    if isinstance(node, Sum):
        return all(nonnegative(t) for t in node.terms)
    return False


def negate(node: Expr) -> Expr:
    """``-node``, with a product's coefficient flipped and a sum's terms negated.

    ``negate(negate(u)) == u`` structurally, so that ``u`` and ``-u`` are a pair.
    """
    labels = tuple(range(len(node.dims)))
    if isinstance(node, Sum):
        return make_sum([negate(term) for term in node.terms], node.dims)
    return make_product(-1.0, [(node, labels)], labels, node.dims)


def split_sign(node: Expr) -> tuple[int, Expr]:
    """``(sign, u)`` with ``node == sign * u`` and ``u`` the canonical one of ``±node``.

    A product with a negative coefficient is negative; a sum is negative when most of its
    terms are, ties broken by the digests of the two forms, so exactly one of ``v`` and
    ``-v`` is canonical.
    """
    cached = node._cache.get("split_sign")
    if cached is not None:
        return cached
    result: tuple[int, Expr] = (1, node)
    if isinstance(node, Product) and node.coeff < 0:
        result = (-1, negate(node))
    elif isinstance(node, Sum) and node.terms:
        signs = [_coefficient(term) < 0 for term in node.terms]
        negatives = sum(signs)
        if 2 * negatives > len(signs):
            result = (-1, negate(node))
        elif 2 * negatives == len(signs):
            other = negate(node)
            if other.key < node.key:
                result = (-1, other)
    node._cache["split_sign"] = result
    return result


def _coefficient(node: Expr) -> float:
    return node.coeff if isinstance(node, Product) else 1.0


def sigmoid_complement(node: Expr) -> Expr | None:
    """``u`` when ``node`` is ``1 - sigmoid(u)`` (a sum of the constant 1 and ``-σ(u)``)."""
    if not isinstance(node, Sum) or len(node.terms) != 2:
        return None
    first, second = node.terms
    for one, other in ((first, second), (second, first)):
        if not (isinstance(one, Product) and not one.factors and one.coeff == 1.0):
            continue
        if (
            isinstance(other, Product)
            and other.coeff == -1.0
            and len(other.factors) == 1
            and isinstance(other.factors[0][0], Func)
            and other.factors[0][0].name == "sigmoid"
            and other.factors[0][1] == other.out
        ):
            return other.factors[0][0].arg
    return None


def exp_reduction(node: Expr) -> tuple[float, Expr, tuple[int, ...], tuple[int, ...]] | None:
    """``(c, u, axes, order)`` when ``node`` is ``c * sum(exp(u), axes)`` with ``c > 0``.

    ``order`` lists, for each output axis of ``node``, the axis of ``u`` it is; the
    reduced axes are those of ``u`` not in ``order``.
    """
    if not isinstance(node, Product) or node.coeff <= 0 or len(node.factors) != 1:
        return None
    factor, labels = node.factors[0]
    if not (isinstance(factor, Func) and factor.name == "exp"):
        return None
    if len(set(labels)) != len(labels) or not set(node.out) <= set(labels):
        return None
    if len(node.out) == len(labels):
        return None
    order = tuple(labels.index(label) for label in node.out)
    axes = tuple(k for k in range(len(labels)) if k not in order)
    return node.coeff, factor.arg, axes, order


def square_chain(node: Expr) -> list[Expr] | None:
    """The square factors of ``node`` when it is a chain ``A @ B.T @ C`` of n×n matrices.

    Returns None unless ``node`` is a coefficient-1 product whose factors are square
    matrices of one dim joined end to end, from its first output index to its second, each
    summed index shared by exactly two of them (no deltas, traces or vectors).
    """
    if not isinstance(node, Product) or node.coeff != 1.0 or len(node.out) != 2:
        return None
    dim = node.ldims[node.out[0]]
    if any(d != dim for d in node.ldims):
        return None
    ends: dict[int, list[int]] = {}
    for index, (factor, labels) in enumerate(node.factors):
        if isinstance(factor, Delta) or len(labels) != 2 or labels[0] == labels[1]:
            return None
        if not isinstance(factor, (Symbol, Func, MatFunc, Product, Sum)):
            return None
        for label in labels:
            ends.setdefault(label, []).append(index)
    start, stop = node.out
    if len(ends.get(start, ())) != 1 or len(ends.get(stop, ())) != 1:
        return None
    if any(len(users) != 2 for label, users in ends.items() if label not in node.out):
        return None
    chain: list[Expr] = []
    label, previous = start, -1
    while True:
        users = [k for k in ends[label] if k != previous]
        if not users:
            break
        index = users[0]
        factor, labels = node.factors[index]
        chain.append(factor)
        label = labels[1] if labels[0] == label else labels[0]
        previous = index
        if label == stop:
            break
    if label != stop or len(chain) != len(node.factors):
        return None
    return chain


def is_elementwise_product(node: Expr) -> bool:
    """True for a product that sums nothing: ``c * a * b`` entry by entry, with broadcasting.

    Every factor carries distinct labels, all of them output labels (a factor may carry
    fewer, or permuted ones: a broadcast or a transpose), and there is no delta.
    """
    if not isinstance(node, Product):
        return False
    cached = node._cache.get("elementwise")
    if cached is None:
        outs = set(node.out)
        cached = len(outs) == len(node.out) and all(
            not isinstance(f, Delta) and len(set(ls)) == len(ls) and set(ls) <= outs
            for f, ls in node.factors
        )
        node._cache["elementwise"] = cached
    return cached
