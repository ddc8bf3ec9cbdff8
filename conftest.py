"""pytest configuration for the whole repository: in CI nothing may skip.

Contract: with ``EINDERIV_CI=1`` in the environment (``.ci/run`` sets it), a test that skips
(a missing backend such as jax, torch or dask, a missing chromium, node or mkdocs) is
reported as failed instead, with the reason it would have skipped, and a module that skips
at import is a collection error.  Without the variable, skips stay skips, so a checkout
without the optional tools still runs what it can.  Expected failures (xfail) are untouched.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["pytester"]  # tests/test_ci.py runs pytest on this file's hooks


def _in_ci() -> bool:
    return os.environ.get("EINDERIV_CI") == "1"


def _reason(longrepr: object) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI, report a skipped test (setup, call or teardown) as failed."""
    outcome = yield
    report = outcome.get_result()
    if _in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may skip: {_reason(report.longrepr)}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """In CI, report a module that skips at import (``importorskip``) as a collection error."""
    outcome = yield
    report = outcome.get_result()
    if _in_ci() and report.outcome == "skipped":
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may skip: {_reason(report.longrepr)}"
