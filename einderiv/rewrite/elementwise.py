"""Smart constructor of elementwise functions: constant folding and function identities."""

from __future__ import annotations

import math

from einderiv.functions import FUNCTIONS
from einderiv.ir.nodes import (
    Expr,
    Func,
    Product,
    Sum,
    constant,
    is_zero,
    unwrap,
    zero,
)


def make_func(name: str, arg: Expr, param: float | None = None) -> Expr:
    """``name(arg)`` elementwise, folding constants and trivial powers."""
    arg = unwrap(arg)
    if name == "pow":
        if param == 1.0:
            return arg
        if param == 0.0:
            return constant(1.0, arg.dims)
    if (isinstance(arg, Product) and not arg.factors) or is_zero(arg):
        import numpy as np

        at = arg.coeff if isinstance(arg, Product) else 0.0  # a zero sum folds as 0
        with np.errstate(all="ignore"):
            value = float(FUNCTIONS[name].evaluate(np.asarray(at, dtype=float), param))
        if value == 0.0:
            return zero(arg.dims)
        if math.isfinite(value):
            return constant(value, arg.dims)
    softplus_arg = _softplus_argument(name, arg)
    if softplus_arg is not None:  # log1p(exp(u)) and log(1 + exp(u)): the stable softplus
        return make_func("softplus", softplus_arg)
    if isinstance(arg, Func):
        # log(exp(x)) = x for every real x (exp(log(x)) = x only for x > 0: not applied);
        # (x**a)**b = x**(a*b) for integer a and b (no sign or branch is lost).
        if name == "log" and arg.name == "exp":
            return arg.arg
        if (
            name == "pow"
            and arg.name == "pow"
            and param is not None
            and arg.param is not None
            and float(param).is_integer()
            and float(arg.param).is_integer()
        ):
            return make_func("pow", arg.arg, param * arg.param)
    return Func.make(name, arg, param)


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
