"""Every benchmark problem: einderiv's compiled result equals the hand-written formula."""

import numpy as np
import pytest

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
