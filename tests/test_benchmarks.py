"""Every benchmark problem: einderiv's compiled result equals the hand-written formula."""

import numpy as np
import pytest

import einderiv as ed
from benchmarks.problems import PROBLEMS


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.name)
@pytest.mark.parametrize("size", [7, 20])
def test_compiled_matches_handwritten(problem, size):
    values = problem.data(size, seed=size)
    got = problem.einderiv(values)
    want = problem.numpy(values)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.name)
def test_second_call_reuses_plan_and_agrees(problem):
    values = problem.data(9, seed=1)
    first = problem.einderiv(values)
    second = problem.einderiv(problem.data(9, seed=1))
    np.testing.assert_array_equal(first, second)


def test_problems_import_without_peers():
    import subprocess
    import sys

    code = (
        "import sys, benchmarks.problems; "
        "assert not {'jax', 'torch', 'autograd'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(("steps", "n"), [(1, 4), (5, 6)])
def test_bptt_gradient_matches_the_hand_written_loop(steps, n):
    from benchmarks import bptt

    values = bptt.data(steps, n, seed=steps)
    got = ed.compile(bptt.build(steps))(values)
    np.testing.assert_allclose(got, bptt.numpy_loop(values, steps), rtol=1e-10, atol=1e-12)


def test_bptt_hand_written_loop_matches_central_differences():
    """The loop is the oracle of the BPTT section: check it against the loss itself."""
    from benchmarks import bptt

    steps, n = 3, 4
    values = bptt.data(steps, n, seed=5)

    def loss(Waa):
        a, total = values["a0"], 0.0
        for t in range(steps):
            a = np.tanh(Waa @ a + values["Wax"] @ values[f"x{t}"] + values["ba"])
            total += float(np.sum(a * values[f"g{t}"]))
        return total

    eps = 1e-6
    numeric = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            bump = np.zeros((n, n))
            bump[i, j] = eps
            numeric[i, j] = (loss(values["Waa"] + bump) - loss(values["Waa"] - bump)) / (2 * eps)
    np.testing.assert_allclose(bptt.numpy_loop(values, steps), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.name)
def test_text_form_derives_the_same_derivative(problem):
    """The symbolic section's text pipeline computes what the builders' expression does."""
    from benchmarks.run import _derive_text

    values = problem.data(6, seed=3)
    sizes = problem.dim_sizes(values)
    got = ed.compile(_derive_text(problem)).run(values, sizes)
    np.testing.assert_allclose(got, problem.numpy(values), rtol=1e-10, atol=1e-12)


def test_tiny_run_writes_every_section(tmp_path):
    """Each section of run.py at tiny sizes, rendered by report.py (no peers, no suite)."""
    import argparse
    import json

    from benchmarks import report, run

    args = argparse.Namespace(quick=True, problems=["lsq-grad", "lsq-hessian"])
    raw = {
        "env": {**run.environment([], {}), "wall_s": 1.0, "mode": "quick",
                "load_start": (1.0, 1.0, 1.0)},
        "sweep": run.run_sweep(args, []),
        "symbolic": {k: v for k, v in run.symbolic_times(1).items() if k.startswith("lsq")},
        "compile": {k: v for k, v in run.compile_times(12).items() if k.startswith("lsq")},
        "memory": run.memory_peaks([("lsq-hessian", 12)]),
        "bptt": run.bptt_times((4,), 3, (2, 3), 4, 0.001),
        "verify": {"suite": {"verify": {"count": 2, "median_ms": 10.0, "p90_ms": 12.0,
                                        "max_ms": 300.0, "slowest": []}}},
    }
    raw = json.loads(json.dumps(raw, default=float))  # what the JSON file holds
    path = tmp_path / "R.md"
    report.write_report(raw, str(path))
    text = path.read_text()
    for heading in ("## Targets of issue 11", "## BPTT", "against T", "## verify and explain",
                    "## Symbolic pipeline", "## First call", "## Peak memory"):
        assert heading in text, heading
    checks = {c["target"]: c for c in report.targets(raw)}
    assert checks["verify, max over the suite's calls"]["ok"] is False  # 300 ms > 200 ms
    assert checks["verify, median over the suite's calls"]["ok"] is True
    assert any(t.startswith("BPTT T = 3 at n = 4") for t in checks)
    hess = raw["sweep"]["lsq-hessian"]["rows"]
    assert [r["size"] for r in hess] == [10, 64]
