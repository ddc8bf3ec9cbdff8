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
    if not (isinstance(node, Func) and node.name == "exp" and isinstance(node.arg, Sum)):
        return None
    terms = node.arg.terms
    if len(terms) != 2:
        return None
    for one, other in (terms, terms[::-1]):
        if (
            isinstance(other, Product)
            and other.coeff == -1.0
            and len(other.factors) == 1
            and isinstance(other.factors[0][0], LogSumExp)
            and other.factors[0][0].arg == one
        ):
            return one
    return None


def is_activation(node: Expr) -> TypeGuard[Func]:
    """An elementwise function whose argument a textbook calls the pre-activation ``z``.

    Any elementwise function but a softmax (``exp(z - logsumexp(z))``): the argument of
    ``P = softmax(S)`` is a shifted ``S``, not a quantity anyone names.
    """
    return isinstance(node, Func) and softmax_argument(node) is None
