"""The suite's shared setup: hypothesis profiles and the numeric oracle as fixtures.

The oracle (``support.oracle``: seeded values with distinct sizes per dim, a printed form
evaluated with numpy against ``Expr.evaluate``) is offered as the fixtures ``check_numeric``
and ``values_for``; the layout of the suite is in ``tests/README.md``.

Hypothesis profiles: every property test bounded, in CI and locally.

Tests that fix ``max_examples`` themselves keep it; the others (the end-to-end fuzz of
``tests/test_pipeline_fuzz.py``) take it from the profile: ``ci`` (``EINDERIV_CI=1``, set
by ``.ci/run``) and ``dev`` (a local run) are bounded so that the whole suite stays
within a few minutes on two cores; ``hunt`` is a long search, chosen with
``HYPOTHESIS_PROFILE=hunt`` or ``FUZZ_EXAMPLES=<count>``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from support import oracle
from support.fuzz_summary import write_summary

_BOUNDED = {"deadline": None, "database": None, "derandomize": True,
            "suppress_health_check": [HealthCheck.too_slow]}

settings.register_profile("ci", max_examples=30, **_BOUNDED)
settings.register_profile("dev", max_examples=30, **_BOUNDED)
settings.register_profile(
    "hunt", max_examples=int(os.environ.get("FUZZ_EXAMPLES") or 5000), deadline=None,
    database=None, suppress_health_check=[HealthCheck.too_slow],
)


def _profile() -> str:
    if os.environ.get("HYPOTHESIS_PROFILE"):
        return os.environ["HYPOTHESIS_PROFILE"]
    if os.environ.get("FUZZ_EXAMPLES"):
        return "hunt"
    return "ci" if os.environ.get("EINDERIV_CI") == "1" else "dev"


settings.load_profile(_profile())


@pytest.fixture
def check_numeric() -> Callable[..., str]:
    """The oracle: ``check_numeric(e)`` evaluates ``e.to_numpy()`` against ``e.evaluate``."""
    return oracle.check_numeric


@pytest.fixture
def values_for() -> Callable[..., dict[str, Any]]:
    """Seeded float64 values for an expression's symbols, distinct sizes per dim."""
    return oracle.values_for


# -- the fuzz suite's counts when the suite runs on several processes (pytest-xdist) -------

_FUZZ: dict[str, Any] = {"seed": None, "stats": {}}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """Collect the fuzz counts a worker handed over (tests/fuzz/conftest.py)."""
    handed = getattr(node, "workeroutput", {}).get("fuzz")
    if handed:
        _FUZZ["seed"] = handed["seed"]
        for entry, counts in handed["stats"].items():
            _FUZZ["stats"].setdefault(entry, Counter()).update(counts)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """In the controller of a several-process run, print the workers' fuzz counts."""
    if _FUZZ["stats"]:
        write_summary(terminalreporter, _FUZZ["seed"], _FUZZ["stats"])
