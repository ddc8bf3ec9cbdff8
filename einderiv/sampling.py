"""Sampling in a function's domain: where numeric checks draw their random values.

Contract: standard-normal values are the default everywhere (verify's draws, explain's
numeric check).  When a function is not finite there -- ``sum(sqrt(x))`` at a negative
``x`` -- :func:`domain_values` draws the symbols that feed a function of restricted
domain inside it instead: uniform in [0.5, 1.5] under ``log``, ``sqrt``, ``log1p`` and a
fractional power, uniform in [0.1, 0.6] under ``arcsin``, ``arccos`` and ``arctanh``, and
in [1.5, 2.5] under ``arccosh``.  That is a heuristic (``log(1 - x)`` can still be
negative), so :func:`numeric_check` reports a check that cannot be completed as a
:class:`CheckResult` with a note, never as an exception.

>>> import einderiv as ed
>>> f = ed.parse("sum(sqrt(x)) + sum(y)", shapes="x[n] y[n]")
>>> sorted(domain_ranges(f))
['x']
>>> result = numeric_check(f, "x")
>>> result.ok, result.values_note
(True, 'x uniform in [0.5, 1.5], inside the domain of sqrt')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from einderiv.derive.arguments import resolve_wrt
from einderiv.errors import EinderivError
from einderiv.ir.nodes import Expr, Func, Symbol
from einderiv.ir.traversal import topological
from einderiv.testing import check_derivative, default_sizes

#: the interval each restricted function's argument symbols are drawn from
POSITIVE = (0.5, 1.5)
UNIT = (0.1, 0.6)
ABOVE_ONE = (1.5, 2.5)
_RANGES: dict[str, tuple[float, float]] = {
    "log": POSITIVE,
    "sqrt": POSITIVE,
    "log1p": POSITIVE,
    "arcsin": UNIT,
    "arccos": UNIT,
    "arctanh": UNIT,
    "arccosh": ABOVE_ONE,
}


def _restricted(node: Expr) -> tuple[float, float] | None:
    """The interval for the symbols under ``node``, if its function has a restricted domain."""
    if not isinstance(node, Func):
        return None
    if node.name == "pow":
        p = node.param
        return POSITIVE if p is not None and p != int(p) else None
    return _RANGES.get(node.name)


def _domains(expr: Expr) -> dict[tuple[float, float], tuple[list[str], list[str]]]:
    """Per interval: the symbols drawn from it and the functions that ask for it.

    A symbol under both a positive-only and a unit-interval function gets the unit
    interval (it is positive too).  One pass over the DAG per interval.
    """
    starts: dict[tuple[float, float], list[Expr]] = {}
    functions: dict[tuple[float, float], set[str]] = {}
    for node in topological(expr):
        interval = _restricted(node)
        if interval is not None:
            starts.setdefault(interval, []).append(node.arg)  # type: ignore[attr-defined]
            name = "a fractional power" if node.name == "pow" else node.name  # type: ignore
            functions.setdefault(interval, set()).add(name)
    owner: dict[str, tuple[float, float]] = {}
    for interval in (POSITIVE, ABOVE_ONE, UNIT):  # later ones win
        seen: set[str] = set()
        stack = list(starts.get(interval, ()))
        while stack:
            node = stack.pop()
            if node.key in seen:
                continue
            seen.add(node.key)
            if isinstance(node, Symbol):
                owner[node.name] = interval
            stack.extend(node.children)
    return {
        interval: (sorted(n for n, i in owner.items() if i == interval), sorted(names))
        for interval, names in functions.items()
        if any(i == interval for i in owner.values())
    }


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


def ranges_note(expr: Expr) -> str:
    """How the restricted symbols were drawn, in words (for messages)."""
    parts = []
    for (low, high), (names, functions) in sorted(_domains(expr).items()):
        parts.append(
            f"{_and(names)} uniform in [{low}, {high}], inside the domain of {_and(functions)}"
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
        return CheckResult(True, report, values_note=ranges_note(expr) if values else "")
    tried = "standard normal" + (f"; then {ranges_note(expr)}" if domain_ranges(expr) else "")
    return CheckResult(
        False,
        note=f"the numeric check did not pass at the random values tried ({tried}): "
        + (first.splitlines()[0] if first else "no values"),
    )
