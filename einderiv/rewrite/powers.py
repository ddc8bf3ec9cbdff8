"""Smart constructor of constant powers ``x**p``: the layer below products and functions.

Contract: :func:`make_pow` returns an expression equal to ``base**p`` wherever that is
defined, folding ``x**1 = x``, ``x**0 = 1``, constant bases, and ``(x**a)**b = x**(a*b)``
for integer ``a`` and ``b`` (no sign or branch is lost).  Products (:mod:`.terms`) merge
powers of one base through it, and elementwise functions (:mod:`.elementwise`) build
``pow`` through it, so neither needs the other.

>>> import einderiv as ed
>>> x = ed.symbols("x[n]")
>>> make_pow(make_pow(x, 2.0), 3.0) == make_pow(x, 6.0)
True
>>> make_pow(x, 1.0) is x
True
"""

from __future__ import annotations

import math

from einderiv.ir.nodes import Expr, Func, Product, constant, is_zero, zero


def make_pow(base: Expr, p: float) -> Expr:
    """``base ** p`` for a constant exponent ``p``, with the folds above."""
    p = float(p)
    if p == 1.0:
        return base
    if p == 0.0:
        return constant(1.0, base.dims)
    if (isinstance(base, Product) and not base.factors) or is_zero(base):
        at = base.coeff if isinstance(base, Product) else 0.0
        value = _power(at, p)
        if value == 0.0:
            return zero(base.dims)
        if value is not None and math.isfinite(value):
            return constant(value, base.dims)
    if (
        isinstance(base, Func)
        and base.name == "pow"
        and base.param is not None
        and float(base.param).is_integer()
        and p.is_integer()
    ):
        return make_pow(base.arg, base.param * p)
    return Func.make("pow", base, p)


def _power(at: float, p: float) -> float | None:
    """``at ** p`` as numpy computes it (None where it is not a real number)."""
    if at == 0.0 and p < 0:
        return None
    if at < 0 and not p.is_integer():
        return None
    try:
        return float(at**p)
    except (OverflowError, ZeroDivisionError):
        return None
