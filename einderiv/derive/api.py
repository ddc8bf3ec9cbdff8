"""The public derivatives: diff, grad, vjp, jvp, hessian."""

from __future__ import annotations

from typing import Any

from einderiv.derive.arguments import resolve_wrt, tensor_argument
from einderiv.derive.forward import forward, identity_seed
from einderiv.derive.reverse import reverse
from einderiv.errors import DerivativeError
from einderiv.ir.nodes import (
    Expr,
    Func,
    Symbol,
    annotate,
    constant,
    differentials_of,
    names_of,
    topological,
    unwrap,
)
from einderiv.ir.patterns import is_activation
from einderiv.rewrite.normal_form import normalize_with_map
from einderiv.rewrite.passes import flatten_with_map


def named_primals(f: Expr) -> set[str]:
    """Keys of f's parts whose differentials a readable derivation writes on lines of their own.

    The parts the user named, and the argument of a named elementwise function (the
    pre-activation ``z1`` of ``a1 = tanh(z1)``) -- except a named function's output
    whose argument is kept: its adjoint is a step of the chain rule into ``dz1``.
    """
    user = {key for key, _ in names_of(f)}
    kept: set[str] = set()
    for node in topological(f):
        if is_activation(node) and node.key in user and node.arg.key not in user:
            kept.add(node.arg.key)
    kept |= user
    for node in topological(f):
        if isinstance(node, Func) and node.key in kept and node.arg.key in kept:
            kept.discard(node.key)
    return kept


def _result(value: Expr, pairs: list[tuple[str, str]], f: Expr, *inputs: Expr) -> Expr:
    """A derivative as the user gets it: flattened, with its inputs, names and differentials.

    The inputs are f's (its declared symbols, even ones that cancelled) and then the
    derivative's own (wrt, cotangent, tangent): they give the sizes of dims the result no
    longer carries (``grad(trace(A), A)`` is the identity on A's dim) and the arguments of
    generated code, whatever else the process declared.  f's names and the derivative's
    ``(differential, primal)`` ``pairs`` follow the nodes through flattening.
    """
    primals = named_primals(f)
    normal, normalized = normalize_with_map(value)  # the algebra's normal form first

    def normal_key(key: str) -> str:
        return normalized[key].key if key in normalized else key

    keep = {normal_key(d) for d, p in pairs if p in primals}
    flat, became = flatten_with_map(normal, keep=keep)

    def now(key: str) -> str:
        key = normal_key(key)
        return became[key].key if key in became else key

    names = [(now(key), name) for key, name in names_of(f)]
    derived = [(now(d), now(p)) for d, p in (*differentials_of(f), *pairs)]
    return annotate(flat, [f, *inputs], names, derived)

# -- public entry points --------------------------------------------------------------


def diff(f: Expr, wrt: Any) -> Expr:
    """Full derivative tensor ``∂f/∂wrt``: f's dims, then wrt's dims.

    >>> import einderiv as ed
    >>> X, W = ed.symbols("X[a,b] W[b,c]")
    >>> ed.diff(X @ W, "X").shape
    ('a', 'c', 'a', 'b')
    """
    x = resolve_wrt(f, wrt)
    pairs: list[tuple[str, str]] = []
    return _result(forward(unwrap(f), x, identity_seed(x), x.dims, pairs), pairs, f, x)


def jvp(f: Expr, wrt: Any, tangent: Any = "V") -> Expr:
    """Forward mode: the derivative of ``f`` along ``tangent`` (shaped like wrt)."""
    x = resolve_wrt(f, wrt)
    v = tensor_argument(f, tangent, x.dims, "tangent")
    if x.symmetric and isinstance(v, Symbol) and not v.symmetric:
        v = Symbol.make(v.name, v.dims, True)
    pairs: list[tuple[str, str]] = []
    return _result(forward(unwrap(f), x, unwrap(v), (), pairs), pairs, f, x, v)


def vjp(f: Expr, wrt: Any, cotangent: Any = "g") -> Expr:
    """Backprop: the cotangent ``g`` (shaped like f) pulled back to wrt's shape."""
    x = resolve_wrt(f, wrt)
    g = tensor_argument(f, cotangent, f.dims, "cotangent")
    pairs: list[tuple[str, str]] = []
    return _result(reverse(unwrap(f), x, unwrap(g), pairs), pairs, f, x, g)


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
    pairs: list[tuple[str, str]] = []
    return _result(reverse(unwrap(f), x, constant(1.0), pairs), pairs, f, x)


def hessian(f: Expr, wrt: Any) -> Expr:
    """Hessian of a scalar ``f``: wrt's dims twice."""
    if isinstance(f, Expr) and f.dims:
        raise DerivativeError(
            f"hessian needs a scalar expression, but this one has dims {list(f.dims)}; "
            "use diff(diff(f, x), x) for a non-scalar second derivative"
        )
    x = resolve_wrt(f, wrt)
    return diff(grad(f, x), x)
