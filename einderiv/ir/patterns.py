"""Patterns: well-known structures recognised in the IR (a softmax, an activation).

Derivatives and the readable form both need to know them: the argument of a named
activation ``a1 = tanh(z1)`` is the pre-activation ``z1`` whose adjoint a backward pass
writes as ``dz1``; a softmax is ``exp(z - logsumexp(z))`` and is called ``p``.

>>> import einderiv as ed
>>> z = ed.symbols("z[n]")
>>> softmax_argument(ed.softmax(z)) == z, is_activation(ed.tanh(z))
(True, True)
"""

from __future__ import annotations

from typing import TypeGuard

from einderiv.ir.nodes import Expr, Func, LogSumExp, Product, Sum


def softmax_argument(node: Expr) -> Expr | None:
    """``z`` when ``node`` is ``softmax(z)`` (``exp(z - logsumexp(z))``), else None."""
    shift = softmax_shift(node)
    return None if shift is None else shift[0]


def softmax_shift(node: Expr) -> tuple[Expr, LogSumExp] | None:
    """``(z, logsumexp(z))`` when ``node`` is ``exp(z - logsumexp(z))``, else None.

    ``z`` may be a sum whose terms the shift's sum took in (``exp(b + t - lse(b + t))``).
    """
    if not (isinstance(node, Func) and node.name == "exp" and isinstance(node.arg, Sum)):
        return None
    terms = node.arg.terms
    for k, other in enumerate(terms):
        if not (
            isinstance(other, Product)
            and other.coeff == -1.0
            and len(other.factors) == 1
            and isinstance(other.factors[0][0], LogSumExp)
            and other.factors[0][1] == tuple(
                lab for i, lab in enumerate(other.out) if i not in other.factors[0][0].axes)
        ):
            continue
        lse = other.factors[0][0]
        rest = terms[:k] + terms[k + 1:]
        z = lse.arg
        if (len(rest) == 1 and rest[0] == z) or (
                isinstance(z, Sum) and len(rest) > 1
                and sorted(t.key for t in rest) == sorted(t.key for t in z.terms)):
            return z, lse
    return None


def is_activation(node: Expr) -> TypeGuard[Func]:
    """An elementwise function whose argument a textbook calls the pre-activation ``z``.

    Any elementwise function but a softmax (``exp(z - logsumexp(z))``): the argument of
    ``P = softmax(S)`` is a shifted ``S``, not a quantity anyone names.
    """
    return isinstance(node, Func) and softmax_argument(node) is None
