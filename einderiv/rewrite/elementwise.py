"""Smart constructor of elementwise functions: constant folding and function identities."""

from __future__ import annotations

import math
from collections.abc import Sequence

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


def make_func(name: str, arg: Expr | Sequence[Expr], param: float | None = None) -> Expr:
    """``name(arg)`` elementwise (``name(*arg)`` for a sequence), constants folded.

    Trivial powers fold too, and the function identities apply.
    """
    if not isinstance(arg, Expr):
        args = tuple(unwrap(a) for a in arg)
        if len(args) > 1:
            return _make_nary(name, args, param)
        arg = args[0]
    arg = unwrap(arg)
    if name == "pow":
        if param == 1.0:
            return arg
        if param == 0.0:
            return constant(1.0, arg.dims)
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


#: ``name(x, 0)`` and ``name(0, x)`` that are a function of one argument
_WITH_ZERO = {"maximum": "relu", "logaddexp": "softplus"}


def _make_nary(name: str, args: tuple[Expr, ...], param: float | None) -> Expr:
    """``name(*args)``, constants folded.

    Also ``maximum(x, 0) = relu(x)`` and ``logaddexp(x, 0) = softplus(x)``, either order.
    """
    from einderiv.functions import FUNCTIONS

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
