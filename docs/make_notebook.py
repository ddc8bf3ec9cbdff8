"""Make the example notebook docs/notebook.ipynb from its cells, and its page docs/notebook.md.

Usage: ``python docs/make_notebook.py`` writes both: the notebook (cells only, no outputs, so
it is the same file on every machine) and the site's page, which is the notebook executed
with nbclient (a local ipykernel, no network) and its outputs written as Markdown: a derivation
that ``ed.explain`` returns shows as Markdown, an expression as its LaTeX, a verdict as its
Markdown, anything else as text.  ``python docs/make_notebook.py --check`` exits 1 when
either file is stale; ``tests/docs/test_notebook.py`` executes the notebook, checks its outputs and
that both files are current.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE / "notebook.ipynb"
PAGE = HERE / "notebook.md"

LOGISTIC = "s = sigmoid(X @ w)\nL = -sum(y * log(s) + (1 - y) * log(1 - s))"

#: the notebook: ("markdown" | "code", source)
CELLS: list[tuple[str, str]] = [
    ("markdown", "# einderiv in a notebook\n\n"
     "Every result displays itself: an expression as LaTeX (long ones in the readable "
     "*where*-form), a derivation as Markdown, a verdict with its diagnosis."),
    ("code", "import numpy as np\n\nimport einderiv as ed"),
    ("markdown", "## A gradient\n\n"
     "Logistic regression with labels `y` in {0, 1}, written as a program."),
    ("code", f"f = ed.parse({LOGISTIC!r},\n             shapes=\"X[n,d] w[d] y[n]\")\n"
     "dw = ed.grad(f, \"w\")\ndw"),
    ("markdown", "The same gradient as numpy lines, with the names a person would use:"),
    ("code", "print(dw.to_program())"),
    ("markdown", "A longer result displays in the where-form, its parts named:"),
    ("code", "z = ed.parse(\"-sum(y * log(softmax(W @ x)))\", shapes=\"W[c,d] x[d] y[c]\")\n"
     "ed.grad(z, \"W\")"),
    ("markdown", "## A derivation\n\n"
     "`ed.explain` returns Markdown, which the notebook renders: index notation, each rule, "
     "the matrix form and a numeric check."),
    ("code", "layer = ed.parse(\"tanh(W @ x + b)\", shapes=\"W[n,m] x[m] b[n]\")\n"
     "ed.explain(layer, \"W\", cotangent=\"g\")"),
    ("markdown", "## Checking a claimed gradient\n\n"
     "The classic RNN question: is `dWaa` equal to `a_prev @ dz.T`?"),
    ("code", "rnn = ed.parse(\"tanh(Waa @ a_prev + Wax @ x + ba)\",\n"
     "               shapes=\"Waa[n,n] Wax[n,k] a_prev[n,m] x[k,m] ba[n,1]\")\n"
     "verdict = ed.verify(\"a_prev @ dz.T\", rnn, \"Waa\", cotangent=\"da\",\n"
     "                    where={\"dz\": \"da * (1 - a**2)\", "
     "\"a\": \"tanh(Waa @ a_prev + Wax @ x + ba)\"})\nverdict"),
    ("code", "print(verdict.ok, verdict.mistakes, verdict.fix)"),
    ("markdown", "## Fast evaluation and generated code"),
    ("code", "grad_w = ed.compile(dw)\ngrad_w"),
    ("code", "rng = np.random.default_rng(0)\n"
     "values = {\"X\": rng.normal(size=(5, 3)), \"w\": rng.normal(size=3),\n"
     "          \"y\": rng.integers(0, 2, size=5).astype(float)}\n"
     "grad_w(**values).shape"),
    ("code", "print(ed.codegen(dw, name=\"grad_w\", check_shapes=True, check=True))"),
    ("markdown", "## Testing the derivatives\n\n"
     "`check_derivative` compares with central differences, here up to second order; "
     "`check_render` checks that every printed form computes the same numbers."),
    ("code", "from einderiv.testing import check_derivative, check_render\n\n"
     "sorted(check_derivative(f, \"w\", order=2))"),
    ("code", "sorted(check_render(dw))"),
]


def build_notebook():
    """The notebook of :data:`CELLS`, without outputs (the same file on every machine)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for k, (kind, source) in enumerate(CELLS):
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        cell = make(source)
        cell["id"] = f"cell-{k}"
        nb.cells.append(cell)
    return nb


def notebook_text() -> str:
    """The .ipynb file's text."""
    import nbformat

    return nbformat.writes(build_notebook()) + "\n"


def execute(timeout: int = 300):
    """The notebook executed in a fresh python3 kernel, from the docs folder."""
    from nbclient import NotebookClient

    nb = build_notebook()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(HERE)}}).execute()
    return nb


def _demote(markdown: str, levels: int = 2) -> str:
    """Headings of an output shifted down so they nest under the notebook's own."""
    return "\n".join(("#" * levels + line) if line.startswith("#") else line
                     for line in markdown.splitlines())


def _output_markdown(output) -> list[str]:
    data = output.get("data", {})
    if output.get("output_type") == "stream":  # stderr (a library's warning) is not shown
        return ["```text", output["text"].rstrip("\n"), "```", ""] if output.get(
            "name") == "stdout" else []
    if output.get("output_type") == "error":
        raise RuntimeError(f"the notebook raised {output['ename']}: {output['evalue']}")
    if "text/markdown" in data:
        return [_demote(data["text/markdown"]).rstrip("\n"), ""]
    if "text/latex" in data:
        return [data["text/latex"].strip(), ""]
    if "text/plain" in data:
        return ["```text", data["text/plain"].rstrip("\n"), "```", ""]
    return []


def _coalesced(outputs) -> list:
    """The outputs with consecutive pieces of one stream joined (the kernel may split a print)."""
    joined: list = []
    for output in outputs:
        if (output.get("output_type") == "stream" and joined
                and joined[-1].get("output_type") == "stream"
                and joined[-1].get("name") == output.get("name")):
            joined[-1] = {**joined[-1], "text": joined[-1]["text"] + output["text"]}
        else:
            joined.append(output)
    return joined


def page_text(nb) -> str:
    """The site's page for the executed notebook ``nb``."""
    note = ("_Generated by `python docs/make_notebook.py` from the cells of "
            "[notebook.ipynb](notebook.ipynb), executed; do not edit._")
    lines: list[str] = []
    for k, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            lines += [cell.source, ""]
        else:
            lines += ["```python", cell.source, "```", ""]
            for output in _coalesced(cell.get("outputs", [])):
                lines += _output_markdown(output)
        if k == 0:
            lines += [note, ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str]) -> int:
    """Write (or with ``--check``, compare) the notebook and its page."""
    wanted = {NOTEBOOK: notebook_text(), PAGE: page_text(execute())}
    if "--check" in argv:
        stale = [p for p, text in wanted.items() if not p.exists() or p.read_text() != text]
        for path in stale:
            print(f"stale: {path.relative_to(HERE.parent)}")
        return 1 if stale else 0
    for path, text in wanted.items():
        path.write_text(text)
        print(f"wrote {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
