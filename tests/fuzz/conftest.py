"""The fuzz suite's fixtures and its section of the terminal summary (seed, inputs tried).

``python -m pytest`` prints, after the tests, the seed and per entry point how many
inputs were tried and how they ended (``ok``, ``error`` for an EinderivError, ``known``
for a known escape of another area, and anything that failed).  Rerun a failure with
``EINDERIV_FUZZ_SEED=<seed>``; ``EINDERIV_FUZZ_SECONDS`` sets the time budget of each
entry point (default 1.5 s).
"""

from __future__ import annotations

import pytest
from fuzz_harness import SEED, STATS, Worker
from support.fuzz_summary import write_summary


@pytest.fixture(scope="session")
def fuzz_dir(tmp_path_factory):
    """An empty directory the worker runs in (where a canary file would appear)."""
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="session")
def worker(fuzz_dir):
    """One worker process for the whole fuzz suite, limited in memory."""
    process = Worker(fuzz_dir)
    process.start()
    yield process
    process.stop()


def pytest_terminal_summary(terminalreporter):
    """Print the seed and the counts of inputs tried per entry point (a plain run)."""
    write_summary(terminalreporter, SEED, STATS)


def pytest_sessionfinish(session):
    """On a pytest-xdist worker, hand the counts to the controller, which prints them."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None and STATS:
        output["fuzz"] = {"seed": SEED, "stats": {e: dict(c) for e, c in STATS.items()}}
