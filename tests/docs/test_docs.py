"""Docs: the gallery is current, and the site builds with mkdocs --strict."""

import importlib.util
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


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


def test_gallery_headings_show_the_users_text():
    generate = _generator()
    for name, (_, _, sections) in generate.GALLERY.items():
        text = (ROOT / "docs" / "gallery" / f"{name}.md").read_text()
        headings = [line for line in text.splitlines() if line.startswith("### Derivation")]
        assert len(headings) == len(sections), name
        for heading, (_, command) in zip(headings, sections, strict=True):
            expression = shlex.split(command)[1]
            assert f"f = `{expression}`" in heading, (name, heading)
            assert "np." not in heading, (name, heading)


def test_mkdocs_build_strict(tmp_path):
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        pytest.skip("mkdocs/mkdocs-material are not installed (they are in the [test] extra)")
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed; the docs build installs KaTeX with it")
    mkdocs = shutil.which("mkdocs")
    cmd = [mkdocs] if mkdocs else [sys.executable, "-m", "mkdocs"]
    result = subprocess.run(
        [*cmd, "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "gallery" / "rnn-step" / "index.html").exists()


def test_katex_is_installed_at_build_time_and_never_committed(tmp_path):
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed; the docs build installs KaTeX with it")
    spec = importlib.util.spec_from_file_location("katex_assets", ROOT / "docs" / "katex_assets.py")
    assets = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(assets)
    package = assets.ensure_katex(tmp_path / "katex")
    assert package == tmp_path / "katex" / "node_modules" / "katex"
    assert assets._installed_version(package) == assets.KATEX_VERSION
    assert assets.ensure_katex(tmp_path / "katex") == package  # cached: no second install
    files = assets.site_files(package)
    assert {"katex.min.js", "katex.min.css", "contrib/auto-render.min.js"} <= set(files)
    assert any(name.startswith("fonts/") and name.endswith(".woff2") for name in files)
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    assert not [name for name in tracked if "katex" in name.lower() and name.endswith(
        (".min.js", ".min.css", ".woff2", ".woff", ".ttf"))]
    ignored = subprocess.run(["git", "check-ignore", "-q", ".cache/katex/node_modules"], cwd=ROOT)
    assert ignored.returncode == 0
    config = (ROOT / "mkdocs.yml").read_text()
    assert "cdn." not in config and "//" not in config.split("extra_javascript:")[1]
