"""Smart constructor of matrix functions and the matrix identities it applies.

Contract: :func:`make_matfunc` returns an expression equal to ``inv``/``det``/``logdet``
of a square matrix wherever that is defined, with ``inv(inv(X)) = X``,
``det(inv(X)) = 1 / det(X)``, ``logdet(inv(X)) = -logdet(X)``, and for a chain of square
factors ``det(A @ B.T) = det(A) * det(B)`` and ``logdet(A @ B) = logdet(A) + logdet(B)``
(``logdet`` is ``log |det|``, so both hold for any sign).  ``inv(X) @ X = I`` is applied
where products are built (:func:`einderiv.rewrite.terms.make_product`).

>>> import einderiv as ed
>>> X = ed.symbols("X[n,n]")
>>> ed.det(ed.inv(X)) == ed.det(X) ** -1
True
>>> ed.det(X @ X @ X) == ed.det(X) ** 3
True
"""

from __future__ import annotations

from collections.abc import Sequence

from einderiv.ir.nodes import Expr, MatFunc, unwrap
from einderiv.rewrite.identities import square_chain
from einderiv.rewrite.powers import make_pow
from einderiv.rewrite.record import active, record
from einderiv.rewrite.terms import make_product, make_sum


def make_matfunc(name: str, arg: Expr | Sequence[Expr]) -> Expr:
    """``inv``/``det``/``logdet`` of a square matrix, ``solve`` of ``(A, B)``, identities on."""
    if not isinstance(arg, Expr):
        if len(arg) > 1:  # solve(A, B)
            return MatFunc.make(name, tuple(unwrap(a) for a in arg))
        arg = arg[0]
    arg = unwrap(arg)
    if name == "inv" and isinstance(arg, MatFunc) and arg.name == "inv":
        return arg.arg
    if name in ("det", "logdet"):
        found = _determinant(name, arg)
        if found is not None:
            rule, result = found
            if active():
                record(rule, MatFunc.make(name, arg), result)
            return result
    return MatFunc.make(name, arg)


def _determinant(name: str, arg: Expr) -> tuple[str, Expr] | None:
    if isinstance(arg, MatFunc) and arg.name == "inv":
        inner = make_matfunc(name, arg.arg)
        if name == "det":
            return "det inverse", make_pow(inner, -1.0)
        return "logdet inverse", make_product(-1.0, [(inner, ())], (), ())
    chain = square_chain(arg)
    if chain is None:
        return None
    parts = [make_matfunc(name, factor) for factor in chain]
    if name == "det":
        return "det product", make_product(1.0, [(part, ()) for part in parts], (), ())
    return "logdet product", make_sum(parts, ())
