"""Smart constructor of matrix functions and the matrix identities it applies."""

from __future__ import annotations

from einderiv.ir.nodes import (
    Expr,
    MatFunc,
    unwrap,
)


def make_matfunc(name: str, arg: Expr) -> Expr:
    """``inv``/``det``/``logdet`` of a square matrix, with ``inv(inv(X)) = X``."""
    arg = unwrap(arg)
    if name == "inv" and isinstance(arg, MatFunc) and arg.name == "inv":
        return arg.arg
    return MatFunc.make(name, arg)
