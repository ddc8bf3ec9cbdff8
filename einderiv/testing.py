"""Testing helpers: check symbolic derivatives against central finite differences.

Contract: :func:`check_derivative` draws random values (distinct sizes per dim, so a
transposition cannot pass by luck; symmetric symbols get symmetric values), a random
direction ``V`` for ``wrt`` and a random cotangent ``u`` for ``expr``, and compares,
in float64,

* forward:  ``jvp(expr, wrt, V)`` with ``(f(X + hV) - f(X - hV)) / 2h``;
* reverse:  ``⟨u, vjp(expr, wrt, u)⟩ ⋅ V`` with ``⟨u, central difference⟩``;
* full:     ``diff(expr, wrt)`` contracted with ``V`` with the same difference.

On failure it raises ``AssertionError`` reporting both numbers.

>>> import einderiv as ed
>>> W, x = ed.symbols("W[n,m] x[m]")
>>> report = check_derivative(ed.tanh(W @ x), "W")
>>> symbolic, numeric = report["forward"]
>>> abs(symbolic - numeric) < 1e-6
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from einderiv.derive.api import diff, jvp, vjp
from einderiv.derive.arguments import resolve_wrt
from einderiv.functions import symbol_domains
from einderiv.ir.nodes import Expr, Size, Symbol, inputs_of
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
) -> dict[str, tuple[float, float]]:
    """Compare ``expr``'s derivatives in ``wrt`` with central differences; raise on mismatch.

    ``values`` overrides the random values for some symbols (e.g. positive ones for
    ``log``); without ``sizes``, the dims they fix take their sizes from them.
    Returns ``{"forward": (symbolic, numeric), "reverse": ..., "full": ...}``.
    """
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
    taken = dict(expr.symbols())
    taken[x.name] = x
    v_name = _fresh("V", taken)
    u_name = _fresh("u", taken)
    xshape = np.shape(point[x.name])
    direction = rng.normal(size=xshape)
    if x.symmetric:
        direction = (direction + direction.T) / 2
    fshape = tuple(1 if d == "1" else sizes[d] for d in expr.dims)
    cot = rng.normal(size=fshape)

    def f_at(value: np.ndarray) -> np.ndarray:
        return expr.evaluate({**point, x.name: value}, sizes=sizes)

    numeric = (f_at(point[x.name] + step * direction) - f_at(point[x.name] - step * direction)) / (
        2 * step
    )
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
    return report


def _compare(what, symbolic, numeric, rtol, atol, expr, x) -> tuple[float, float]:
    symbolic = np.asarray(symbolic, dtype=float)
    numeric = np.asarray(numeric, dtype=float)
    err = float(np.max(np.abs(symbolic - numeric))) if symbolic.size else 0.0
    scale = float(np.max(np.abs(numeric))) if numeric.size else 0.0
    if not np.all(np.isfinite(symbolic)) or err > atol + rtol * max(scale, 1.0):
        raise AssertionError(
            f"{what} derivative of {expr!r} with respect to '{x.name}' disagrees with central "
            f"differences: symbolic {symbolic.ravel()[:6]} vs numeric {numeric.ravel()[:6]} "
            f"(max abs error {err:.3g}, scale {scale:.3g})"
        )
    return float(np.sum(symbolic)), float(np.sum(numeric))
