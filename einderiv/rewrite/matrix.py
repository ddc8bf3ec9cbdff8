"""Smart constructor of matrix functions and the matrix identities it applies."""

from __future__ import annotations

from collections.abc import Sequence

from einderiv.ir.nodes import (
    Expr,
    MatFunc,
    unwrap,
)


def make_matfunc(name: str, arg: Expr | Sequence[Expr]) -> Expr:
    """``inv``/``det``/``logdet`` of a square matrix, ``solve`` of ``(A, B)``.

    Applies ``inv(inv(X)) = X``.
    """
    if not isinstance(arg, Expr) and len(arg) == 1:
        arg = arg[0]
    arg = unwrap(arg) if isinstance(arg, Expr) else tuple(unwrap(a) for a in arg)
    if name == "inv" and isinstance(arg, MatFunc) and arg.name == "inv":
        return arg.arg
    return MatFunc.make(name, arg)
