"""The public derivatives: diff, grad, vjp, jvp, hessian."""

from __future__ import annotations

from typing import Any

from einderiv.derive.arguments import resolve_wrt, tensor_argument
from einderiv.derive.forward import forward, identity_seed
from einderiv.derive.reverse import reverse
from einderiv.errors import DerivativeError
from einderiv.ir.nodes import (
    Expr,
    Symbol,
    constant,
    remember_size_context,
)
from einderiv.rewrite.passes import finish

# -- public entry points --------------------------------------------------------------


def diff(f: Expr, wrt: Any) -> Expr:
    """Full derivative tensor ``∂f/∂wrt``: f's dims, then wrt's dims.

    >>> import einderiv as ed
    >>> X, W = ed.symbols("X[a,b] W[b,c]")
    >>> ed.diff(X @ W, "X").shape
    ('a', 'c', 'a', 'b')
    """
    x = resolve_wrt(f, wrt)
    result = forward(f, x, identity_seed(x), x.dims)
    return remember_size_context(finish(result), x, f)


def jvp(f: Expr, wrt: Any, tangent: Any = "V") -> Expr:
    """Forward mode: the derivative of ``f`` along ``tangent`` (shaped like wrt)."""
    x = resolve_wrt(f, wrt)
    v = tensor_argument(f, tangent, x.dims, "tangent")
    if x.symmetric and isinstance(v, Symbol) and not v.symmetric:
        v = Symbol.make(v.name, v.dims, True)
    return remember_size_context(finish(forward(f, x, v, ())), x, v, f)


def vjp(f: Expr, wrt: Any, cotangent: Any = "g") -> Expr:
    """Backprop: the cotangent ``g`` (shaped like f) pulled back to wrt's shape."""
    x = resolve_wrt(f, wrt)
    g = tensor_argument(f, cotangent, f.dims, "cotangent")
    return remember_size_context(finish(reverse(f, x, g)), x, g, f)


def grad(f: Expr, wrt: Any) -> Expr:
    """Gradient of a scalar ``f``: same dims as wrt.

    >>> import einderiv as ed
    >>> x, A = ed.symbols("x[n] A[n,n]")
    >>> ed.grad(x @ A @ x, "x") == (A + A.T) @ x
    True
    """
    if not isinstance(f, Expr):
        raise DerivativeError(f"grad expects an einderiv expression, got {type(f).__name__}")
    if f.dims:
        raise DerivativeError(
            f"grad needs a scalar expression, but this one has dims {list(f.dims)}; "
            "reduce it first (e.g. sum(...)) or use vjp(f, wrt, cotangent) / diff(f, wrt)"
        )
    x = resolve_wrt(f, wrt)
    return remember_size_context(finish(reverse(f, x, constant(1.0))), x, f)


def hessian(f: Expr, wrt: Any) -> Expr:
    """Hessian of a scalar ``f``: wrt's dims twice."""
    if isinstance(f, Expr) and f.dims:
        raise DerivativeError(
            f"hessian needs a scalar expression, but this one has dims {list(f.dims)}; "
            "use diff(diff(f, x), x) for a non-scalar second derivative"
        )
    x = resolve_wrt(f, wrt)
    return remember_size_context(diff(grad(f, x), x), x, f)
