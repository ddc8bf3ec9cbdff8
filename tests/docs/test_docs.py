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
        derived = [command for _, command in sections if generate.is_derivation(command)]
        assert len(headings) == len(derived), name
        for heading, command in zip(headings, derived, strict=True):
            expression = shlex.split(command)[1]
            # an expression is f; a program's result takes its last line's name (a3, L)
            assert f" = `{expression}`" in heading, (name, heading)
            assert "np." not in heading, (name, heading)


def _program_blocks(text: str) -> list[str]:
    """The ```python blocks of a page that follow a ``--format program`` command."""
    blocks = text.split("--format program\n```\n\n```python\n")[1:]
    return [block.split("\n```", 1)[0] for block in blocks]


NEW_PAGES = ("bptt-3-steps", "lstm-cell", "attention", "logistic-cross-entropy", "batch-norm")


def test_gallery_pages_show_the_program_form_beside_a_derivation():
    generate = _generator()
    shown = [name for name, (_, _, sections) in generate.GALLERY.items()
             if any("--format program" in c for _, c in sections)]
    assert {*NEW_PAGES, "rnn-step", "logistic-regression"} <= set(shown)
    for name in shown:
        _, _, sections = generate.GALLERY[name]
        text = (ROOT / "docs" / "gallery" / f"{name}.md").read_text()
        programs = [c for _, c in sections if "--format program" in c]
        assert len(programs) < len(sections), name  # programs beside derivations
        blocks = _program_blocks(text)
        assert len(blocks) == len(programs), name
        assert text.count("(`e.to_latex(where=True)`") == len(programs), name
        for block, command in zip(blocks, programs, strict=True):
            lines = block.splitlines()
            wrt = shlex.split(command)[shlex.split(command).index("--wrt") + 1]
            result = "H" if command.startswith("hessian") else f"d{wrt}"
            assert lines[-1].startswith(f"{result} = "), (name, lines[-1])
            assert all(" = " in line for line in lines), (name, block)
            compile(block, name, "exec")  # Python source, as the contract says


def test_gallery_bptt_page_is_the_hand_written_backward_pass():
    text = (ROOT / "docs" / "gallery" / "bptt-3-steps.md").read_text()
    block = _program_blocks(text)[0].splitlines()
    targets = [line.split(" = ", 1)[0] for line in block]
    assert targets[-1] == "dWaa"
    # one dz line per step, each step's adjoint from the next one's: dz3, then dz2, then dz1
    assert [t for t in targets if t.startswith("dz")] == ["dz3", "dz2", "dz1"]
    assert "dz3" in block[targets.index("dz2")] and "dz2" in block[targets.index("dz1")]
    for term in ("dz3 @ a2.T", "dz2 @ a1.T", "dz1 @ a0.T"):
        assert term in block[-1]
    assert r"\mathrm{dz}_{3}" in text  # the LaTeX twin, one subscript per name


def test_gallery_logistic_cross_entropy_is_the_course_form():
    text = (ROOT / "docs" / "gallery" / "logistic-cross-entropy.md").read_text()
    gradient, hessian = _program_blocks(text)[:2]
    assert gradient.splitlines()[-1] == "dw = X.T @ (s - y)"
    assert gradient.splitlines()[0].startswith("s = ")
    assert hessian.splitlines()[-1].startswith("H = X.T @ ")


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
