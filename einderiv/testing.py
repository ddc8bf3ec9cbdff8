"""Testing helpers: check symbolic derivatives against central finite differences.

Contract: :func:`check_derivative` draws random values (distinct sizes per dim, so a
transposition cannot pass by luck; symmetric symbols get symmetric values), a random
direction ``V`` for ``wrt`` and a random cotangent ``u`` for ``expr``, and compares,
in float64,

* forward:  ``jvp(expr, wrt, V)`` with ``(f(X + hV) - f(X - hV)) / 2h``;
* reverse:  ``⟨u, vjp(expr, wrt, u)⟩ ⋅ V`` with ``⟨u, central difference⟩``;
* full:     ``diff(expr, wrt)`` contracted with ``V`` with the same difference.

With ``order=2`` it checks the second derivatives too, as autograd's ``check_grads``
does: the same three comparisons for the first derivative ``jvp(expr, wrt, V)``, whose
own derivative is the second derivative of ``expr``.  On failure it raises
``AssertionError`` reporting both numbers; a point where ``expr`` or its central
difference is not finite (outside a function's domain: ``log`` of a negative draw) is
never a pass, and the message says so and how to draw inside the domain (``values=``).

:func:`check_render` checks the printers: ``to_numpy``, ``to_program`` and
``to_einsum`` evaluated with numpy equal ``evaluate`` at random values.

>>> import einderiv as ed
>>> W, x = ed.symbols("W[n,m] x[m]")
>>> report = check_derivative(ed.tanh(W @ x), "W")
>>> symbolic, numeric = report["forward"]
>>> abs(symbolic - numeric) < 1e-6
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from einderiv.derive.api import diff, jvp, vjp
from einderiv.derive.arguments import resolve_wrt
from einderiv.errors import EinderivError
from einderiv.functions import FUNCTIONS, symbol_domains
from einderiv.ir.nodes import Expr, Func, MatFunc, Size, Symbol, inputs_of
from einderiv.ir.traversal import topological

DEFAULT_SIZES = (3, 4, 5, 6, 7, 2, 8, 9)


def default_sizes(*exprs: Expr) -> dict[str, int]:
    """Distinct sizes 3, 4, 5, … for the dims of ``exprs`` in order of appearance."""
    sizes: dict[str, int] = {}
    for expr in exprs:
        for node in (*topological(expr), *inputs_of(expr)):
            # a Size node (the scalar m in vjp(sum(X + b, axis=1), b)) needs its dim too
            for dim in (*node.dims, *((node.dim,) if isinstance(node, Size) else ())):
                if dim != "1" and dim not in sizes:
                    sizes[dim] = DEFAULT_SIZES[len(sizes) % len(DEFAULT_SIZES)]
    return sizes


def random_values(
    expr: Expr,
    sizes: Mapping[str, int],
    rng: np.random.Generator,
    *,
    extra: tuple[Symbol, ...] = (),
) -> dict[str, np.ndarray]:
    """Standard-normal values for every symbol (symmetric ones symmetrized).

    A symbol that a function with a restricted domain takes directly (``arcsin(x)``,
    ``log(x)``) is drawn inside that domain instead (the registry's ``domain``).
    """
    values: dict[str, np.ndarray] = {}
    syms = {sym.name: sym for sym in inputs_of(expr)}  # unused inputs too
    for sym in extra:
        syms.setdefault(sym.name, sym)
    domains = symbol_domains(expr)
    for name in sorted(syms):
        sym = syms[name]
        shape = tuple(1 if d == "1" else sizes[d] for d in sym.dims)
        values[name] = sample(rng, shape, domains.get(name), symmetric=sym.symmetric)
    return values


def sampling_interval(domain: tuple[float, float]) -> tuple[float, float]:
    """Where to draw inside ``domain``: clipped to ±3, a tenth of its width off each end.

    >>> sampling_interval((0.0, float("inf")))
    (0.3, 2.7)
    """
    low, high = max(domain[0], -3.0), min(domain[1], 3.0)
    margin = 0.1 * (high - low)
    return round(low + margin, 12), round(high - margin, 12)


def sample(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    domain: tuple[float, float] | None = None,
    *,
    symmetric: bool = False,
) -> np.ndarray:
    """Standard-normal values of ``shape``, or uniform inside ``domain``.

    The domain is clipped to ±3 and a tenth of its width kept off each end; symmetric
    matrices are symmetrized.

    >>> value = sample(np.random.default_rng(0), (4,), (-1.0, 1.0))
    >>> bool(np.all(np.abs(value) < 0.8))
    True
    """
    if domain is None:
        value = rng.normal(size=shape)
    else:
        value = rng.uniform(*sampling_interval(domain), size=shape)
    if symmetric:
        value = (value + value.T) / 2
    return value


def _sizes_from_values(expr: Expr, x: Symbol, values: Mapping[str, Any]) -> dict[str, int]:
    """Dim sizes read off the shapes of user-given values (symbols of ``expr`` and ``x``)."""
    syms = dict(expr.symbols())
    syms.setdefault(x.name, x)
    sizes: dict[str, int] = {}
    for name, value in values.items():
        sym = syms.get(name)
        shape = np.shape(value)
        if sym is None or len(shape) != len(sym.dims):
            continue  # evaluation reports the mismatch with context
        for dim, n in zip(sym.dims, shape, strict=True):
            if dim != "1":
                sizes.setdefault(dim, int(n))
    return sizes


def _fresh(base: str, taken: Mapping[str, Any]) -> str:
    name = base
    k = 0
    while name in taken:
        k += 1
        name = f"{base}{k}"
    return name


def check_derivative(
    expr: Expr,
    wrt: Any,
    sizes: Mapping[str, int] | None = None,
    seed: int = 0,
    *,
    values: Mapping[str, Any] | None = None,
    step: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    full: bool = True,
    order: int = 1,
) -> dict[str, tuple[float, float]]:
    """Compare ``expr``'s derivatives in ``wrt`` with central differences; raise on mismatch.

    ``values`` overrides the random values for some symbols (e.g. positive ones for
    ``log``); without ``sizes``, the dims they fix take their sizes from them.
    Returns ``{"forward": (symbolic, numeric), "reverse": ..., "full": ...}``; with
    ``order=2`` also ``"forward 2"``, ``"reverse 2"`` and ``"full 2"``, the same checks of
    the first derivative ``jvp(expr, wrt, V)``.

    >>> import einderiv as ed
    >>> x = ed.symbols("x[n]")
    >>> sorted(check_derivative(ed.sum(ed.tanh(x) ** 3), "x", order=2))
    ['forward', 'forward 2', 'full', 'full 2', 'reverse', 'reverse 2']
    """
    if order not in (1, 2):
        raise EinderivError(
            f"check_derivative: order is 1 (first derivatives) or 2 (second derivatives too), "
            f"got {order!r}"
        )
    x = resolve_wrt(expr, wrt)
    rng = np.random.default_rng(seed)
    if sizes is None:
        # dims fixed by the given values first, distinct defaults for the rest
        sizes = _sizes_from_values(expr, x, values or {})
        for dim, n in default_sizes(expr, x).items():
            if dim not in sizes:
                taken = set(sizes.values())
                sizes[dim] = next((k for k in DEFAULT_SIZES if k not in taken), n)
    sizes = dict(sizes)
    for dim in x.dims:
        if dim != "1" and dim not in sizes:
            sizes[dim] = DEFAULT_SIZES[len(sizes) % len(DEFAULT_SIZES)]
    point = random_values(expr, sizes, rng, extra=(x,))
    if values:
        point.update({k: np.asarray(v, dtype=float) for k, v in values.items()})
    named = dict(expr.symbols())
    named[x.name] = x
    v_name = _fresh("V", named)
    u_name = _fresh("u", named)
    xshape = np.shape(point[x.name])
    direction = rng.normal(size=xshape)
    if x.symmetric:
        direction = (direction + direction.T) / 2
    fshape = tuple(1 if d == "1" else sizes[d] for d in expr.dims)
    cot = rng.normal(size=fshape)

    def f_at(value: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return expr.evaluate({**point, x.name: value}, sizes=sizes)

    _require_finite(f_at(point[x.name]), "the function", expr, x)
    numeric = (f_at(point[x.name] + step * direction) - f_at(point[x.name] - step * direction)) / (
        2 * step
    )
    _require_finite(numeric, "the central difference", expr, x)
    report: dict[str, tuple[float, float]] = {}

    tangent = jvp(expr, x, Symbol.make(v_name, x.dims, x.symmetric))
    sym_fwd = tangent.evaluate({**point, v_name: direction}, sizes=sizes)
    report["forward"] = _compare("forward (jvp)", sym_fwd, numeric, rtol, atol, expr, x)

    pulled = vjp(expr, x, Symbol.make(u_name, expr.dims))
    sym_rev = float(np.sum(pulled.evaluate({**point, u_name: cot}, sizes=sizes) * direction))
    num_rev = float(np.sum(cot * numeric))
    report["reverse"] = _compare("reverse (vjp)", sym_rev, num_rev, rtol, atol, expr, x)

    if full:
        jac = diff(expr, x).evaluate(point, sizes=sizes)
        r = len(x.dims)
        contracted = np.tensordot(jac, direction, axes=r) if r else jac * direction
        report["full"] = _compare("full (diff)", contracted, numeric, rtol, atol, expr, x)
    if order == 2:  # the first derivative's own derivative is the second derivative
        given = {**point, v_name: direction}
        second = check_derivative(tangent, x, sizes, seed + 1, values=given, step=step,
                                  rtol=rtol, atol=atol, full=full)
        report.update({f"{key} 2": pair for key, pair in second.items()})
    return report


def _restricted_functions(expr: Expr) -> list[str]:
    """The functions of ``expr`` that are defined only on part of the real line."""
    names: list[str] = []
    for node in topological(expr):
        if not isinstance(node, (Func, MatFunc)):
            continue
        name = node.name
        if isinstance(node, MatFunc):
            if f"{name} (a singular matrix)" not in names:
                names.append(f"{name} (a singular matrix)")
            continue
        param = node.param if isinstance(node, Func) else None
        if name == "pow" and param is not None and param != int(param):
            name = "a fractional power"
        else:
            domain = getattr(FUNCTIONS.get(name), "domain", None)
            if domain is None or domain == (-math.inf, math.inf):
                continue
        if name not in names:
            names.append(name)
    return names


def _require_finite(value: Any, what: str, expr: Expr, x: Symbol) -> None:
    """An AssertionError that says the point is outside the domain, if ``value`` is not finite."""
    value = np.asarray(value, dtype=float)
    if np.all(np.isfinite(value)):
        return
    bad = int(value.size - np.count_nonzero(np.isfinite(value)))
    functions = _restricted_functions(expr)
    where = (f"outside the domain of {', '.join(functions)}" if functions
             else "where it overflows or divides by zero")
    raise AssertionError(
        f"check_derivative of {expr!r} with respect to '{x.name}': {what} is not finite at "
        f"the point checked ({bad} of {value.size} entries are nan or inf), so the point is "
        f"{where}; nothing was checked. Pass values= inside the domain (e.g. positive values "
        "under log or sqrt), or another seed"
    )


def check_render(
    expr: Expr, sizes: Mapping[str, int] | None = None, seed: int = 0, *,
    rtol: float = 1e-9, atol: float = 1e-12,
) -> dict[str, float]:
    """Check the printers: ``to_numpy``, ``to_program`` and ``to_einsum`` equal ``evaluate``.

    Each form is evaluated with numpy at the same random values (standard normal, or
    inside a function's domain where a symbol is its direct argument) and compared with
    ``expr.evaluate``; returns the largest difference per form, and raises
    ``AssertionError`` naming the form and its text when one disagrees.

    >>> import einderiv as ed
    >>> X, w, y = ed.symbols("X[n,d] w[d] y[n]")
    >>> errors = check_render(ed.grad(ed.sum(ed.softplus(-y * (X @ w))), "w"))
    >>> sorted(errors), max(errors.values()) < 1e-12
    (['einsum', 'numpy', 'program'], True)
    """
    sizes = dict(sizes) if sizes is not None else default_sizes(expr)
    values = random_values(expr, sizes, np.random.default_rng(seed))
    with np.errstate(all="ignore"):
        want = np.asarray(expr.evaluate(values, sizes=sizes), dtype=float)
    forms = {
        "numpy": lambda: eval(expr.to_numpy(), {"np": np, **values}),
        "program": lambda: _run_program(expr.to_program("result_"), values),
        "einsum": lambda: eval(expr.to_einsum(), {"np": np, **values}),
    }
    errors: dict[str, float] = {}
    for form, run in forms.items():
        with np.errstate(all="ignore"):
            got = np.asarray(run(), dtype=float)
        got = np.broadcast_to(got, want.shape) if got.shape != want.shape and got.size == 1 else got
        if got.shape != want.shape or not np.allclose(got, want, rtol=rtol, atol=atol,
                                                      equal_nan=True):
            text = {"numpy": "to_numpy", "program": "to_program", "einsum": "to_einsum"}[form]
            raise AssertionError(
                f"check_render: {text}() of {expr!r} disagrees with evaluate at random values "
                f"(sizes {sizes}; shapes {got.shape} and {want.shape})"
            )
        finite = np.isfinite(want) & np.isfinite(got)
        errors[form] = float(np.max(np.abs(got - want)[finite])) if finite.any() else 0.0
    return errors


def _run_program(source: str, values: Mapping[str, Any]) -> Any:
    scope: dict[str, Any] = {"np": np, **values}
    exec(source, scope)  # noqa: S102 - the renderer's own output, checked here
    return scope["result_"]


def _compare(what, symbolic, numeric, rtol, atol, expr, x) -> tuple[float, float]:
    symbolic = np.asarray(symbolic, dtype=float)
    numeric = np.asarray(numeric, dtype=float)
    err = float(np.max(np.abs(symbolic - numeric))) if symbolic.size else 0.0
    scale = float(np.max(np.abs(numeric))) if numeric.size else 0.0
    if (not np.all(np.isfinite(symbolic)) or not np.all(np.isfinite(numeric))
            or not err <= atol + rtol * max(scale, 1.0)):  # a NaN never passes
        raise AssertionError(
            f"{what} derivative of {expr!r} with respect to '{x.name}' disagrees with central "
            f"differences: symbolic {symbolic.ravel()[:6]} vs numeric {numeric.ravel()[:6]} "
            f"(max abs error {err:.3g}, scale {scale:.3g})"
        )
    return float(np.sum(symbolic)), float(np.sum(numeric))
