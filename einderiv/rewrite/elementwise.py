"""Smart constructor of elementwise functions: constant folding and function identities.

Contract: :func:`make_func` returns an expression equal to ``name(arg)`` wherever that is
defined, applying the named identities of :mod:`einderiv.rewrite.identities` that hold for
every real input: ``log(exp(u)) = u`` (hence ``log(softmax(z)) = z - logsumexp(z)``), the
stable ``softplus``, ``log(σ(u)) = -softplus(-u)``, ``log(1 - σ(u)) = -softplus(u)``,
``log(a * b) = log(a) + log(b)`` when ``a`` is provably positive and ``log(a)`` simplifies,
``log(a**p) = p * log(a)`` (``p`` not even, or ``a`` positive) and
``log(sum(exp(u))) = logsumexp(u)``.  ``exp(log(x)) = x`` holds only for ``x > 0`` and is
not applied.

>>> import einderiv as ed
>>> z, y = ed.symbols("z[n] y[n]")
>>> ed.log(ed.exp(z) / ed.sum(ed.exp(z))) == z - ed.logsumexp(z)
True
>>> ed.log(ed.sigmoid(z)) == -ed.softplus(-z)
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from einderiv.functions import FUNCTIONS
from einderiv.ir.nodes import (
    Expr,
    Func,
    LogSumExp,
    Product,
    Sum,
    constant,
    is_zero,
    unwrap,
    zero,
)
from einderiv.rewrite.identities import (
    exp_reduction,
    is_elementwise_product,
    negate,
    positive,
    sigmoid_complement,
)
from einderiv.rewrite.powers import make_pow
from einderiv.rewrite.record import active, record
from einderiv.rewrite.terms import make_product, make_sum


def make_func(name: str, arg: Expr | Sequence[Expr], param: float | None = None) -> Expr:
    """``name(arg)`` (``name(*arg)`` for a sequence), constants folded, identities applied."""
    if not isinstance(arg, Expr):
        args = tuple(unwrap(a) for a in arg)
        if len(args) > 1:
            return _make_nary(name, args, param)
        arg = args[0]
    arg = unwrap(arg)
    if name == "pow":
        assert param is not None
        return make_pow(arg, param)
    at = _constant_at(arg)
    if at is not None:
        import numpy as np

        with np.errstate(all="ignore"):
            value = float(FUNCTIONS[name].array(np, np.asarray(at, dtype=float), param))
        if value == 0.0:
            return zero(arg.dims)
        if math.isfinite(value):
            return constant(value, arg.dims)
    softplus_arg = _softplus_argument(name, arg)
    if softplus_arg is not None:  # log1p(exp(u)) and log(1 + exp(u)): the stable softplus
        return _rule("softplus", name, arg, make_func("softplus", softplus_arg))
    if name == "log":
        found = _log(arg)
        if found is not None:
            return _rule(found[0], name, arg, found[1])
    return Func.make(name, arg, param)


def _rule(rule: str, name: str, arg: Expr, result: Expr) -> Expr:
    if active():
        record(rule, Func.make(name, arg), result)
    return result


def _log(arg: Expr) -> tuple[str, Expr] | None:
    """``(rule, log(arg) rewritten)`` for the log identities, else None."""
    if isinstance(arg, Func):
        if arg.name == "exp":
            return ("log softmax" if _is_softmax_argument(arg.arg) else "log exp"), arg.arg
        if arg.name == "sigmoid":
            return "log sigmoid", negate(make_func("softplus", negate(arg.arg)))
        if arg.name in ("pow", "sqrt"):
            p = 0.5 if arg.name == "sqrt" else float(arg.param or 0.0)
            even = p.is_integer() and int(p) % 2 == 0
            if not even or positive(arg.arg):
                return "log power", _scale(make_func("log", arg.arg), p)
        return None
    if isinstance(arg, Sum):
        u = sigmoid_complement(arg)
        if u is not None:
            return "log one minus sigmoid", negate(make_func("softplus", u))
        return None
    if isinstance(arg, Product):
        reduction = exp_reduction(arg)
        if reduction is not None:
            return "log sum exp", _logsumexp(*reduction)
        if is_elementwise_product(arg) and arg.factors:
            return _log_product(arg)
    return None


def _is_softmax_argument(node: Expr) -> bool:
    """True for ``z - logsumexp(z)`` broadcast (the argument of a softmax's exp)."""
    if not isinstance(node, Sum):
        return False
    for term in node.terms:
        if isinstance(term, Product) and term.coeff == -1.0 and len(term.factors) == 1:
            if isinstance(term.factors[0][0], LogSumExp):
                return True
    return False


def _scale(node: Expr, c: float) -> Expr:
    labels = tuple(range(len(node.dims)))
    return make_product(c, [(node, labels)], labels, node.dims)


def _logsumexp(c: float, u: Expr, axes: tuple[int, ...], order: tuple[int, ...]) -> Expr:
    """``log(c) + logsumexp(u, axes)``, its axes in ``order`` (axes of ``u``)."""
    lse = LogSumExp.make(u, axes)
    kept = [k for k in range(len(u.dims)) if k not in axes]  # the axes of lse, in order
    labels = tuple(order.index(k) for k in kept)
    dims = tuple(u.dims[k] for k in order)
    result = make_product(1.0, [(lse, labels)], tuple(range(len(order))), dims)
    if c != 1.0:
        result = make_sum([result, constant(math.log(c), dims)], dims)
    return result


def _log_product(arg: Product) -> tuple[str, Expr] | None:
    """``log(a * rest) = log(a) + log(rest)`` for positive factors ``a`` whose log simplifies."""
    ldims = dict(enumerate(arg.ldims))
    nice: list[tuple[Expr, tuple[int, ...]]] = []
    rest: list[tuple[Expr, tuple[int, ...]]] = []
    for factor, labels in arg.factors:
        if positive(factor):
            logged = make_func("log", factor)
            if not (isinstance(logged, Func) and logged.name == "log" and logged.arg is factor):
                nice.append((logged, labels))
                continue
        rest.append((factor, labels))
    if not nice:
        return None
    terms = [make_product(1.0, [pair], arg.out, ldims) for pair in nice]
    remainder = make_product(arg.coeff, rest, arg.out, ldims)
    if not (isinstance(remainder, Product) and not remainder.factors and remainder.coeff == 1.0):
        terms.append(make_func("log", remainder))
    return "log product", make_sum(terms, arg.dims)


#: ``name(x, 0)`` and ``name(0, x)`` that are a function of one argument
_WITH_ZERO = {"maximum": "relu", "logaddexp": "softplus"}


def _make_nary(name: str, args: tuple[Expr, ...], param: float | None) -> Expr:
    """``name(*args)``, constants folded.

    Also ``maximum(x, 0) = relu(x)`` and ``logaddexp(x, 0) = softplus(x)``, either order.
    """
    values = [_constant_at(a) for a in args]
    if all(v is not None for v in values):
        import numpy as np

        with np.errstate(all="ignore"):
            value = float(FUNCTIONS[name].array(np, *map(np.asarray, values), param))
        if math.isfinite(value):
            return constant(value, args[0].dims) if value else zero(args[0].dims)
    if name in _WITH_ZERO and len(args) == 2 and 0.0 in values:
        other = args[1] if values[0] == 0.0 else args[0]
        return make_func(_WITH_ZERO[name], other)
    return Func.make(name, args, param)


def _constant_at(arg: Expr) -> float | None:
    """The value of a constant (broadcast) argument, else None."""
    if isinstance(arg, Product) and not arg.factors:
        return arg.coeff
    if is_zero(arg):  # a zero sum folds as 0
        return 0.0
    return None


def _softplus_argument(name: str, arg: Expr) -> Expr | None:
    """``u`` when ``name(arg)`` is ``log1p(exp(u))`` or ``log(1 + exp(u))``, else None."""
    if name == "log1p" and isinstance(arg, Func) and arg.name == "exp":
        return arg.arg
    if name == "log" and isinstance(arg, Sum) and len(arg.terms) == 2:
        first, second = arg.terms
        for one, other in ((first, second), (second, first)):
            if (
                isinstance(one, Product)
                and not one.factors
                and one.coeff == 1.0
                and isinstance(other, Func)
                and other.name == "exp"
            ):
                return other.arg
    return None
