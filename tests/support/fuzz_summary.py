"""The fuzz suite's section of the terminal summary: the seed and the inputs tried per entry.

Written where the counts are: by ``tests/fuzz/conftest.py`` in a plain run, and, when the
suite runs on several processes (pytest-xdist), by ``tests/conftest.py`` in the controller,
from the counts each worker hands over when it finishes.

>>> from collections import Counter
>>> lines = []
>>> class Reporter:
...     def section(self, title): lines.append(title)
...     def write_line(self, line): lines.append(line)
>>> write_summary(Reporter(), 7, {"parse": Counter(ok=2, error=1)})
>>> lines[1:]
['seed 7 (EINDERIV_FUZZ_SEED), 3 inputs in all', '  parse          3 tried: error 1, ok 2']
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any


def write_summary(reporter: Any, seed: int, stats: Mapping[str, Counter]) -> None:
    """Print the seed and the counts of inputs tried per entry point (nothing if none ran)."""
    if not stats:
        return
    reporter.section("fuzz: hostile inputs")
    total = sum(sum(c.values()) for c in stats.values())
    reporter.write_line(f"seed {seed} (EINDERIV_FUZZ_SEED), {total} inputs in all")
    for entry, counts in sorted(stats.items()):
        parts = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()))
        reporter.write_line(f"  {entry:10s} {sum(counts.values()):5d} tried: {parts}")
