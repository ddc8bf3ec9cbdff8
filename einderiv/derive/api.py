"""The public derivatives: diff, grad, vjp, jvp, hessian."""

from __future__ import annotations

from typing import Any

from einderiv.derive.arguments import resolve_wrt, tensor_argument
from einderiv.derive.forward import forward, identity_seed
from einderiv.derive.reverse import reverse
from einderiv.errors import DerivativeError
from einderiv.ir.nodes import Expr, Symbol, annotate, constant, names_of, unwrap
from einderiv.rewrite.passes import flatten_single_use


def _result(value: Expr, f: Expr, *inputs: Expr) -> Expr:
    """A derivative as the user gets it: flattened, with its inputs and f's names.

    The inputs are f's (its declared symbols, even ones that cancelled) and then the
    derivative's own (wrt, cotangent, tangent): they give the sizes of dims the result no
    longer carries (``grad(trace(A), A)`` is the identity on A's dim) and the arguments of
    generated code, whatever else the process declared.
    """
    return annotate(flatten_single_use(value), [f, *inputs], names_of(f))

# -- public entry points --------------------------------------------------------------


def diff(f: Expr, wrt: Any) -> Expr:
    """Full derivative tensor ``∂f/∂wrt``: f's dims, then wrt's dims.

    >>> import einderiv as ed
    >>> X, W = ed.symbols("X[a,b] W[b,c]")
    >>> ed.diff(X @ W, "X").shape
    ('a', 'c', 'a', 'b')
    """
    x = resolve_wrt(f, wrt)
    return _result(forward(unwrap(f), x, identity_seed(x), x.dims), f, x)


def jvp(f: Expr, wrt: Any, tangent: Any = "V") -> Expr:
    """Forward mode: the derivative of ``f`` along ``tangent`` (shaped like wrt)."""
    x = resolve_wrt(f, wrt)
    v = tensor_argument(f, tangent, x.dims, "tangent")
    if x.symmetric and isinstance(v, Symbol) and not v.symmetric:
        v = Symbol.make(v.name, v.dims, True)
    return _result(forward(unwrap(f), x, unwrap(v), ()), f, x, v)


def vjp(f: Expr, wrt: Any, cotangent: Any = "g") -> Expr:
    """Backprop: the cotangent ``g`` (shaped like f) pulled back to wrt's shape."""
    x = resolve_wrt(f, wrt)
    g = tensor_argument(f, cotangent, f.dims, "cotangent")
    return _result(reverse(unwrap(f), x, unwrap(g)), f, x, g)


def grad(f: Expr, wrt: Any) -> Expr:
    """Gradient of a scalar ``f``: same dims as wrt.

    >>> import einderiv as ed
    >>> x, A = ed.symbols("x[n] A[n,n]")
    >>> ed.grad(x @ A @ x, "x") == A @ x + A.T @ x
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
    return _result(reverse(unwrap(f), x, constant(1.0)), f, x)


def hessian(f: Expr, wrt: Any) -> Expr:
    """Hessian of a scalar ``f``: wrt's dims twice."""
    if isinstance(f, Expr) and f.dims:
        raise DerivativeError(
            f"hessian needs a scalar expression, but this one has dims {list(f.dims)}; "
            "use diff(diff(f, x), x) for a non-scalar second derivative"
        )
    x = resolve_wrt(f, wrt)
    return diff(grad(f, x), x)
