"""The code base is ruff-clean and mypy-clean (config in pyproject.toml), as CI checks it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff is not installed")
def test_ruff_check_is_clean():
    names = ("einderiv", "tests", "benchmarks", "docs", "conftest.py")
    targets = [name for name in names if (ROOT / name).exists()]
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", *targets],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")
def test_mypy_is_clean():
    # config in pyproject.toml [tool.mypy]; the incremental cache is .mypy_cache (gitignored)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "einderiv"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
