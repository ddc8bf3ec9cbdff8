"""Docs: the gallery is current, and the site builds with mkdocs --strict."""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gallery_is_current():
    generate = _generator()
    pages = generate.render_all()
    stale = [str(p.relative_to(ROOT)) for p, text in pages.items()
             if not p.exists() or p.read_text() != text]
    assert not stale, f"regenerate with `python docs/generate.py`: {stale}"


def test_gallery_covers_the_rnn_question():
    text = (ROOT / "docs" / "gallery" / "rnn-step.md").read_text()
    for name in ("dWaa", "dWax", "da_prev", "dx", "dba"):
        assert f"## {name}" in text
    assert "dWaa = dz @ a_prev.T" in text
    assert "dx = Wax.T @ dz" in text


def test_mkdocs_build_strict(tmp_path):
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        pytest.skip("mkdocs/mkdocs-material are not installed (they are in the [test] extra)")
    mkdocs = shutil.which("mkdocs")
    cmd = [mkdocs] if mkdocs else [sys.executable, "-m", "mkdocs"]
    result = subprocess.run(
        [*cmd, "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "gallery" / "rnn-step" / "index.html").exists()
