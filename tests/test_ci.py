"""CI's rule that nothing skips (the root conftest.py): a skip fails when EINDERIV_CI=1."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SKIPPING = """
import pytest

def test_needs_a_backend():
    pytest.importorskip("no_such_backend_for_einderiv")

@pytest.fixture
def backend():
    pytest.skip("backend not installed")

def test_skips_in_a_fixture(backend):
    pass

@pytest.mark.xfail(reason="a known bug")
def test_known_bug():
    assert False

def test_runs():
    pass
"""

MODULE_SKIP = """
import pytest
pytest.importorskip("no_such_backend_for_einderiv")

def test_never():
    pass
"""


@pytest.fixture
def inner(pytester, monkeypatch):
    """Run pytest on one test file with the repository's conftest, in or outside CI."""
    pytester.makeconftest((ROOT / "conftest.py").read_text())

    def run(source: str, ci: bool):
        pytester.makepyfile(test_inner=source)
        if ci:
            monkeypatch.setenv("EINDERIV_CI", "1")
        else:
            monkeypatch.delenv("EINDERIV_CI", raising=False)
        return pytester.runpytest("-p", "no:cacheprovider", "-rfEs")

    return run


def test_skips_stay_skips_outside_ci(inner):
    inner(SKIPPING, ci=False).assert_outcomes(passed=1, skipped=2, xfailed=1)
    inner(MODULE_SKIP, ci=False).assert_outcomes(skipped=1)


def test_every_skip_fails_in_ci(inner):
    result = inner(SKIPPING, ci=True)
    result.assert_outcomes(passed=1, failed=1, errors=1, xfailed=1)
    for reason in ("no_such_backend_for_einderiv", "backend not installed"):
        result.stdout.fnmatch_lines([f"*skipped in CI, where nothing may skip*{reason}*"])
    assert result.ret != 0


def test_a_module_that_skips_at_import_is_an_error_in_ci(inner):
    result = inner(MODULE_SKIP, ci=True)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*skipped in CI, where nothing may skip*no_such_backend*"])
    assert result.ret != 0
