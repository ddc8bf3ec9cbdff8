"""The symbolic-cost benchmark (benchmarks/symbolic_costs.py) runs, and its sweeps are linear.

The script is run as a user runs it, in its tiny ``--quick`` mode, and its outputs are checked
for structure. Linearity is checked on the exact counts the benchmark reports (DAG nodes and
edges, program lines and characters) at the sizes issues 10 and 13 name, never on time.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.symbolic_costs import COUNTS, STAGES, SWEEPS, fresh, measure, slope

ROOT = Path(__file__).resolve().parents[1]


def test_quick_run_writes_the_table_slopes_and_plot(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "symbolic_costs.py"), "--quick",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "SYMBOLIC.json").read_text())
    assert results["meta"]["quick"] is True
    assert list(results["sweeps"]) == list(SWEEPS)
    text = (tmp_path / "SYMBOLIC.md").read_text()
    assert "noisy" in text and "exact" in text
    for sweep, data in results["sweeps"].items():
        rows = data["rows"]
        assert [r["size"] for r in rows] == list(SWEEPS[sweep]["quick"])
        for row in rows:
            assert all(row[k] >= 0 for k in STAGES)
            assert all(row[k] > 0 for k in COUNTS if k != "calls")
            assert row["calls"] is None  # counted only in fresh interpreters (not --quick)
            assert row["total_s"] >= row["derive_s"]
        assert set(data["fit"]) == {*STAGES, *COUNTS}
        section = text.split(f"## {SWEEPS[sweep]['title']}\n", 1)[1].split("\n## ", 1)[0]
        table = [line for line in section.splitlines() if re.match(r"\| \d+ \|", line)]
        assert [int(line.split("|")[1]) for line in table] == [r["size"] for r in rows]
        assert "| all sizes |" in section and "| larger half |" in section
        assert "Verdict:" in section
    png = (tmp_path / "symbolic_costs.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


def test_slope_fit_recovers_known_powers():
    rows = [{"size": s, "lin": 3.0 * s, "quad": 0.5 * s * s} for s in (10, 20, 40, 80)]
    assert slope(rows, "lin") == pytest.approx(1.0)
    assert slope(rows, "quad") == pytest.approx(2.0)
    assert slope(rows, "quad", upper=True) == pytest.approx(2.0)
    assert slope(rows[:1], "lin") is None


@pytest.mark.parametrize(("sweep", "size"), [("bptt", 100), ("depth", 500), ("lines", 500),
                                             ("rnn1000", 500)])
def test_doubling_the_work_at_most_doubles_every_count(sweep, size):
    """Depth 1,000, program length 1,000, the 1,000-step RNN: counts, never time."""
    small, large = measure(sweep, size), measure(sweep, 2 * size)
    for key in COUNTS[:-1]:
        assert large[key] <= 2.2 * small[key], (sweep, key, small[key], large[key])
    assert large["edges"] > small["edges"]  # the measure sees the work


def test_the_bptt_program_has_one_dz_line_per_step():
    for steps in (3, 50):
        row = measure("bptt", steps)
        assert row["lines"] == 2 * steps + 1  # a_t lines, dz_t lines, then dWaa


@pytest.mark.parametrize(("sweep", "size"), [("bptt", 100), ("depth", 250), ("rnn1000", 150)])
def test_doubling_the_work_doubles_the_python_calls_of_every_stage(sweep, size):
    """The work itself, exactly: linear node counts hid quadratic scans in to_program (the
    names dh, dh2, ... searched from 1; every factor_common group scanned per term; inputs
    against symbols), which made its calls grow x2.25 per doubling of the RNN's steps."""
    small, large = fresh(sweep, size, "calls"), fresh(sweep, 2 * size, "calls")
    for stage in ("parse_calls", "derive_calls", "program_calls"):
        assert large[stage] <= 2.05 * small[stage], (sweep, stage, small[stage], large[stage])
