"""verify and explain timings (issues 11 and 13): the test suite's calls, and the big inputs.

Part one runs the verify/explain tests (``tests/claims/test_verify.py``,
``tests/test_user_stories.py``, ``tests/explanation/test_explain.py``) in this process with
``ed.verify`` and ``ed.explain`` wrapped in a timer, so it measures exactly the calls the
suite makes; it prints the count, median, 90th percentile and maximum of each, and the
slowest calls. Part two times the big inputs of issue 13 one by one: a long claim, a claim
of 100 repeated terms, a ``where`` dict of 1,000 entries in order and in reverse order, and
a claim program of 2,000 lines.

Targets (issue 11): verify median under 50 ms and max under 200 ms over the suite's calls,
explain under 100 ms.  Timings are wall-clock on whatever machine runs this: a benchmark,
never a test.

Usage::

    python benchmarks/verify_speed.py            # both parts
    python benchmarks/verify_speed.py --suite    # only the suite's calls
    python benchmarks/verify_speed.py --big      # only the big inputs
    python benchmarks/verify_speed.py --json out.json
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import einderiv as ed  # noqa: E402

SUITE = [
    "tests/claims/test_verify.py",
    "tests/test_user_stories.py",
    "tests/explanation/test_explain.py",
]


class _Timer:
    """A pytest plugin that wraps ``ed.verify`` and ``ed.explain`` and records each call."""

    def __init__(self) -> None:
        self.calls: dict[str, list[tuple[float, str]]] = {"verify": [], "explain": []}
        self.test = ""

    def wrap(self, name: str, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.calls[name].append((time.perf_counter() - start, self.test))

        return timed

    def pytest_runtest_setup(self, item) -> None:  # noqa: D102 - pytest hook
        self.test = item.nodeid


def suite_timings() -> dict[str, list[tuple[float, str]]]:
    """Run the suite's verify/explain tests with timers; every call's seconds and test id."""
    import pytest

    timer = _Timer()
    originals = ed.verify, ed.explain
    ed.verify = timer.wrap("verify", originals[0])
    ed.explain = timer.wrap("explain", originals[1])
    try:
        code = pytest.main(
            ["-q", "-p", "no:cacheprovider", "--no-header", "-o", "addopts=",
             *[str(ROOT / path) for path in SUITE]],
            plugins=[timer],
        )
    finally:
        ed.verify, ed.explain = originals
    if code not in (0, 5):
        print(f"warning: the suite did not pass (pytest exit {code})", file=sys.stderr)
    return timer.calls


def _stats(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return {
        "count": len(ordered),
        "median_ms": 1e3 * statistics.median(ordered),
        "p90_ms": 1e3 * p90,
        "max_ms": 1e3 * ordered[-1],
    }


# -- the big inputs of issue 13 -----------------------------------------------------


def _big_cases() -> list[tuple[str, Callable[[], object]]]:
    quad = ed.parse("x @ A @ x", shapes="x[n] A[n,n]")
    ls = ed.parse("sum((X @ w - y)**2) + lam * sum(w**2)", shapes="X[n,d] w[d] y[n] lam")
    term = "2 * X.T @ (X @ w - y)"
    long_claim = " + ".join([f"{term} / {k + 2}" for k in range(40)])  # ~1,200 characters
    repeated = " + ".join(["A @ x"] * 100)
    chain = {"h0": "A @ x"}
    for k in range(1, 1000):
        chain[f"h{k}"] = f"h{k - 1} + x"
    reverse = dict(reversed(list(chain.items())))
    program = "\n".join(
        [f"t{k} = {'A @ x' if k == 0 else f't{k - 1} * 0.5 + x'}" for k in range(1999)]
        + ["t1998 + A.T @ x"]
    )
    return [
        (f"claim of {len(long_claim)} characters", lambda: ed.verify(long_claim, ls, "w")),
        ("claim of 100 repeated terms", lambda: ed.verify(repeated, quad, "x")),
        ("where dict of 1,000 entries", lambda: ed.verify("h999 + A.T @ x", quad, "x",
                                                           where=chain)),
        ("where dict of 1,000 entries, reverse order",
         lambda: ed.verify("h999 + A.T @ x", quad, "x", where=reverse)),
        ("claim program of 2,000 lines", lambda: ed.verify(program, quad, "x")),
        ("explain, RNN step vjp", lambda: ed.explain(
            ed.parse("tanh(Waa @ a_prev + Wax @ x + ba)",
                     shapes="Waa[n,n] Wax[n,k] a_prev[n,m] x[k,m] ba[n,1]"),
            "Waa", cotangent="da")),
    ]


def big_timings(limit_s: float = 120.0) -> list[dict]:
    """Seconds for each big input (or the exception it raised)."""
    rows = []
    for name, fn in _big_cases():
        start = time.perf_counter()
        try:
            result = fn()
            outcome = "ok" if getattr(result, "ok", True) else "wrong: " + ", ".join(
                getattr(result, "mistakes", ()) or ("no diagnosis",))
        except Exception as exc:  # reported, not fatal: the point is to see it
            outcome = f"{type(exc).__name__}: {str(exc).splitlines()[0][:80]}"
        seconds = time.perf_counter() - start
        rows.append({"case": name, "seconds": seconds, "outcome": outcome})
        print(f"  {seconds * 1e3:10.1f} ms  {name}: {outcome}", flush=True)
        if seconds > limit_s:
            break
    return rows


def collect(big: bool = True, slowest: int = 8) -> dict:
    """The suite's verify/explain statistics (and the big inputs when ``big``), as a dict."""
    report: dict = {"suite": {}}
    for name, rows in suite_timings().items():
        if rows:
            report["suite"][name] = {**_stats([t for t, _ in rows]), "slowest": [
                {"ms": 1e3 * t, "test": test} for t, test in sorted(rows, reverse=True)[:slowest]]}
    if big:
        report["big"] = big_timings()
    return report


def main(argv: list[str] | None = None) -> int:
    """Print the tables; write them as JSON with ``--json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", action="store_true", help="only the suite's calls")
    parser.add_argument("--big", action="store_true", help="only the big inputs")
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    parser.add_argument("--slowest", type=int, default=8, help="slowest calls to list")
    args = parser.parse_args(argv)
    both = not (args.suite or args.big)
    report: dict = {}
    if args.suite or both:
        calls = suite_timings()
        report["suite"] = {}
        print("\nthe suite's calls")
        for name, rows in calls.items():
            if not rows:
                continue
            stats = _stats([t for t, _ in rows])
            report["suite"][name] = {**stats, "slowest": [
                {"ms": 1e3 * t, "test": test} for t, test in sorted(rows, reverse=True)[
                    : args.slowest]]}
            print(f"  {name:8s} n={stats['count']:3d}  median {stats['median_ms']:7.1f} ms  "
                  f"p90 {stats['p90_ms']:7.1f} ms  max {stats['max_ms']:7.1f} ms")
            for t, test in sorted(rows, reverse=True)[: args.slowest]:
                print(f"      {t * 1e3:8.1f} ms  {test}")
    if args.big or both:
        print("\nthe big inputs of issue 13")
        report["big"] = big_timings()
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
