"""The example notebook executes (nbclient, a local kernel) and shows what the docs promise."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _maker():
    path = ROOT / "docs" / "make_notebook.py"
    spec = importlib.util.spec_from_file_location("make_notebook", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def executed():
    pytest.importorskip("nbclient", reason="nbclient is in the [test] extra")
    maker = _maker()
    return maker, maker.execute()


def _outputs(nb, mime):
    return [o["data"][mime] for cell in nb.cells if cell.cell_type == "code"
            for o in cell.outputs if mime in o.get("data", {})]


def _text(nb):
    return "\n".join(o.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                     for o in cell.outputs)


def test_the_notebook_runs_without_errors(executed):
    _, nb = executed
    errors = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs
              if o.output_type == "error"]
    assert not errors, errors
    assert all(cell.execution_count for cell in nb.cells if cell.cell_type == "code")


def test_explain_shows_as_markdown(executed):
    _, nb = executed
    markdown = _outputs(nb, "text/markdown")
    derivations = [m for m in markdown if m.startswith("# Derivation: backprop of f")]
    assert len(derivations) == 1
    assert "## Pulling back the cotangent" in derivations[0]
    assert "dz = (1 - f**2) * g\ndW = np.outer(dz, x)" in derivations[0]
    verdicts = [m for m in markdown if m.startswith("**✗ wrong**")]
    assert verdicts and "Correct: `dWaa = dz @ a_prev.T`" in verdicts[0]


def test_the_logistic_gradient_reads_as_by_hand(executed):
    _, nb = executed
    assert "s = 1 / (1 + np.exp(-(X @ w)))\ndw = X.T @ (s - y)" in _text(nb)
    latex = _outputs(nb, "text/latex")
    assert r"$X^\top \left(\sigma\left(X w\right) - y\right)$" in latex
    softmax_ce = (r"$\left(\left(\mathbf{1}^\top y\right) \mathrm{softmax}\left(W x\right)"
                  r" - y\right) x^\top$")
    assert softmax_ce in latex  # the softmax cross-entropy gradient: short enough to show inline
    plain = _outputs(nb, "text/plain")
    assert any(p.startswith("<Compiled numpy fn(X, w, y) -> (d,)") for p in plain)
    assert "def grad_w(X, w, y):" in _text(nb)
    assert "['forward', 'forward 2', 'full', 'full 2', 'reverse', 'reverse 2']" in plain


def test_the_notebook_and_its_page_are_current(executed):
    maker, nb = executed
    assert (ROOT / "docs" / "notebook.ipynb").read_text() == maker.notebook_text(), (
        "regenerate with `python docs/make_notebook.py`")
    assert (ROOT / "docs" / "notebook.md").read_text() == maker.page_text(nb), (
        "regenerate with `python docs/make_notebook.py`")
    stored = json.loads((ROOT / "docs" / "notebook.ipynb").read_text())
    assert all(not cell.get("outputs") for cell in stored["cells"])  # cells only


def test_the_page_is_in_the_site():
    config = (ROOT / "mkdocs.yml").read_text()
    assert "notebook.md" in config and "make_notebook.py" in config.split("exclude_docs")[1]
