"""Sampling in a function's domain: where numeric checks draw their random values.

Contract: standard-normal values are the default everywhere (verify's draws, explain's
numeric check), but a symbol that a function of restricted domain takes directly is
drawn inside the registry's domain from the start (:func:`einderiv.testing.random_values`:
``x`` of ``sqrt(x)`` uniform in [0.3, 2.7]).  When a function is still not finite --
``sum(sqrt(x + y))`` at negative values -- :func:`domain_values` draws the symbols deeper
under it small and positive instead ([0.5, 1.5] below an unbounded domain, [0.1, 0.6]
below a bounded one).  That is a heuristic (``log(1 - x)`` can still be
negative), so :func:`numeric_check` reports a check that cannot be completed as a
:class:`CheckResult` with a note, never as an exception.

>>> import einderiv as ed
>>> f = ed.parse("sum(sqrt(x)) + sum(y)", shapes="x[n] y[n]")
>>> sorted(domain_ranges(f))
['x']
>>> result = numeric_check(f, "x")
>>> result.ok, result.values_note
(True, 'x uniform in [0.3, 2.7], inside the domain of sqrt')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from einderiv.derive.arguments import resolve_wrt
from einderiv.errors import EinderivError
from einderiv.functions import FUNCTIONS, symbol_domains
from einderiv.ir.nodes import Expr, Func, Symbol
from einderiv.ir.traversal import topological
from einderiv.testing import check_derivative, default_sizes, sampling_interval


def _restricted(node: Expr) -> tuple[float, float] | None:
    """The registry's domain of ``node``'s function, if it is restricted (else None).

    A fractional power needs a positive base.
    """
    if not isinstance(node, Func):
        return None
    if node.name == "pow":
        p = node.param
        return (0.0, math.inf) if p is not None and p != int(p) else None
    domain = getattr(FUNCTIONS.get(node.name), "domain", None)
    if domain is None or domain == (-math.inf, math.inf):
        return None
    return domain


def _nested(domain: tuple[float, float]) -> tuple[float, float]:
    """Where to draw symbols deeper under a restricted function (``sqrt(x + y)``).

    Small positive values, so sums and products of them stay inside the domain:
    [0.5, 1.5] below an unbounded domain, [0.1, 0.6] below a bounded one.
    """
    low, high = (0.1, 0.6) if math.isfinite(domain[1]) else (0.5, 1.5)
    return max(low, domain[0]), min(high, domain[1])


def _domains(expr: Expr) -> dict[tuple[float, float], tuple[list[str], list[str]]]:
    """Per interval: the symbols drawn from it and the functions that ask for it.

    A symbol a restricted function takes directly is drawn inside its domain
    (:func:`~einderiv.testing.sampling_interval`), one deeper under it in
    :func:`_nested`; under several, where their intervals meet.
    """
    owner: dict[str, tuple[float, float]] = {}
    asked: dict[str, set[str]] = {}
    for node in topological(expr):
        domain = _restricted(node)
        if domain is None or not isinstance(node, Func):  # only a function is restricted
            continue
        name = "a fractional power" if node.name == "pow" else node.name
        seen: set[str] = set()
        stack: list[tuple[Expr, bool]] = [(child, True) for child in node.children]
        while stack:
            below, direct = stack.pop()
            if below.key in seen:
                continue
            seen.add(below.key)
            if isinstance(below, Symbol):
                interval = sampling_interval(domain) if direct else _nested(domain)
                was = owner.get(below.name, interval)
                meet = (max(was[0], interval[0]), min(was[1], interval[1]))
                owner[below.name] = meet if meet[0] < meet[1] else interval
                asked.setdefault(below.name, set()).add(name)
            stack.extend((child, False) for child in below.children)
    grouped: dict[tuple[float, float], tuple[list[str], list[str]]] = {}
    for sym, interval in sorted(owner.items()):
        names, functions = grouped.setdefault(interval, ([], []))
        names.append(sym)
        functions.extend(f for f in sorted(asked[sym]) if f not in functions)
    return grouped


def domain_ranges(expr: Expr) -> dict[str, tuple[float, float]]:
    """The symbols of ``expr`` under a function of restricted domain, and their interval."""
    return {
        name: interval for interval, (names, _) in _domains(expr).items() for name in names
    }


def domain_values(
    expr: Expr, sizes: Mapping[str, int], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Values in their function's domain for the symbols :func:`domain_ranges` names."""
    symbols = expr.symbols()
    values: dict[str, np.ndarray] = {}
    for name, (low, high) in sorted(domain_ranges(expr).items()):
        sym = symbols[name]
        shape = tuple(1 if d == "1" else sizes[d] for d in sym.dims)
        value = rng.uniform(low, high, size=shape)
        if sym.symmetric:
            value = (value + value.T) / 2
        values[name] = value
    return values


def ranges_note(expr: Expr, only: set[str] | None = None) -> str:
    """How the restricted symbols (those in ``only``, if given) were drawn, in words."""
    parts = []
    for (low, high), (names, functions) in sorted(_domains(expr).items()):
        names = [n for n in names if only is None or n in only]
        if names:
            parts.append(
                f"{_and(names)} uniform in [{low:g}, {high:g}], inside the domain of "
                f"{_and(functions)}"
            )
    return "; ".join(parts)


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


@dataclass(frozen=True)
class CheckResult:
    """A numeric check's outcome.

    ``ok``, the report of :func:`check_derivative` when it ran, a ``note`` saying why it
    could not be completed, and how the values were drawn (``values_note``).
    """

    ok: bool
    report: dict[str, tuple[float, float]] | None = None
    note: str = ""
    values_note: str = ""


def numeric_check(expr: Expr, wrt: Any, *, seed: int = 0, full: bool = True) -> CheckResult:
    """:func:`check_derivative` at standard-normal values, then in the domain.

    It never raises for a point where ``expr`` is not finite or a check that cannot run.

    The first try is exactly ``check_derivative(expr, wrt, seed=seed, full=full)``, so a
    function that is finite everywhere is checked at the same values as before.
    """
    x = resolve_wrt(expr, wrt)
    first = ""
    for attempt in ("normal", "domain"):
        values = None
        if attempt == "domain":
            sizes = default_sizes(expr, x)
            values = domain_values(expr, sizes, np.random.default_rng(seed + 1))
            if not values:
                break
        try:
            with np.errstate(all="ignore"):
                report = check_derivative(expr, x, seed=seed, full=full, values=values)
        except AssertionError as err:  # not finite there, or a real disagreement
            first = first or str(err)
            continue
        except EinderivError as err:
            return CheckResult(False, note=f"the numeric check could not run: {err}")
        except (ValueError, MemoryError, OverflowError) as err:  # numpy's own limits
            return CheckResult(
                False,
                note=f"the numeric check could not run ({type(err).__name__}: {err})",
            )
        if not all(np.isfinite(v) for pair in report.values() for v in pair):
            # check_derivative lets a NaN from central differences through
            first = first or "f or its derivative is not finite there"
            continue
        # the first try draws the symbols a restricted function takes directly in its
        # domain already (the registry's), the second all the symbols under one
        direct = set(symbol_domains(expr)) if values is None else None
        note = ranges_note(expr, direct) if values is not None or direct else ""
        return CheckResult(True, report, values_note=note)
    tried = "standard normal" + (f"; then {ranges_note(expr)}" if domain_ranges(expr) else "")
    return CheckResult(
        False,
        note=f"the numeric check did not pass at the random values tried ({tried}): "
        + (first.splitlines()[0] if first else "no values"),
    )
