"""ed.explain: Markdown derivations whose matrix forms evaluate to the right numbers."""

import re

import numpy as np
import pytest

import einderiv as ed
from einderiv.testing import default_sizes, random_values


def _matrix_form(markdown: str) -> tuple[str, str]:
    """The result's name and the readable program of the Matrix form section."""
    block = re.search(r"## Matrix form\n\n```python\n(.+?)\n```", markdown, flags=re.S)
    assert block, markdown
    program = block.group(1)
    return program.splitlines()[-1].split(" = ")[0], program


CASES = [
    ("W @ x", "W[n,m] x[m]", "x", "g", None),
    ("W @ x", "W[n,m] x[m]", "x", None, None),
    ("X @ W", "X[p,q] W[q,r]", "X", None, None),
    (
        "tanh(Waa @ a_prev + Wax @ x + ba)",
        "Waa[n,n] Wax[n,k] a_prev[n,m] x[k,m] ba[n,1]",
        "Waa",
        "da",
        None,
    ),
    ("x @ A @ x", "x[n] A[n,n]", "x", None, None),
    ("x @ A @ x", "x[n] A[n,n]", "x", None, "hessian"),
    ("sum(softplus(-y * (X @ w)))", "X[n,d] w[d] y[n]", "w", None, "hessian"),
    ("logdet(X)", "X[n,n]", "X", None, None),
    ("-sum(y * log(softmax(z)))", "z[c] y[c]", "z", None, None),
]


@pytest.mark.parametrize(("text", "shapes", "wrt", "cot", "kind"), CASES)
def test_explain_sections_and_numbers(text, shapes, wrt, cot, kind):
    f = ed.parse(text, shapes=shapes)
    markdown = ed.explain(f, wrt, cotangent=cot, kind=kind)
    for heading in (
        "# Derivation",
        "## The function",
        "## The derivative tensor",
        "## Matrix form",
        "## Numeric check",
    ):
        assert heading in markdown
    assert "Leaf rule" in markdown
    name, program = _matrix_form(markdown)
    if kind == "hessian":
        expected = ed.hessian(f, wrt)
    elif cot:
        expected = ed.vjp(f, wrt, cot)
    elif f.dims:
        expected = ed.diff(f, wrt)
    else:
        expected = ed.grad(f, wrt)
    sizes = default_sizes(expected, f)
    values = random_values(
        expected, sizes, np.random.default_rng(1), extra=tuple(f.symbols().values())
    )
    if "logdet" in text:
        values["X"] = values["X"] @ values["X"].T + 3 * np.eye(len(values["X"]))
    namespace = {"np": np, **values}
    exec(program, namespace)  # the readable form: named intermediates, then the result
    got = namespace[name]
    assert np.allclose(got, expected.evaluate(values, sizes=sizes)), (name, program)


def test_explain_matmul_jacobian_mentions_deltas():
    f = ed.parse("X @ W", shapes="X[p,q] W[q,r]")
    markdown = ed.explain(f, "X")
    assert r"F_{abcd} = \delta_{ac}\, W_{db}" in markdown
    assert "delta elimination" in markdown
    assert "only reaches entry $c$ of f's axis 1" in markdown


def test_explain_rnn_names_dz():
    f = ed.parse(
        "tanh(Waa @ a_prev + Wax @ x + ba)", shapes="Waa[n,n] Wax[n,k] a_prev[n,m] x[k,m] ba[n,1]"
    )
    markdown = ed.explain(f, "Waa", cotangent="da")
    assert "dWaa = dz @ a_prev.T" in markdown
    assert "so it reads dz @ a_prev.T" in markdown


def test_notebook_display():
    W, x = ed.symbols("W[n,m] x[m]")
    latex = ed.vjp(W @ x, "x", "g")._repr_latex_()
    assert latex.startswith("$") and latex.endswith("$")
    verdict = ed.verify("W.T @ g", W @ x, "x", cotangent="g")
    assert "correct" in verdict._repr_markdown_()


def test_explain_heading_shows_the_users_text():
    text = "sum(softplus(-y * (X @ w)))"
    f = ed.parse(text, shapes="X[n,d] w[d] y[n]")
    assert "np.logaddexp" in ed.explain(f, "w").splitlines()[0]  # f's rendering otherwise
    heading = ed.explain(f, "w", text=text).splitlines()[0]
    assert heading == "# Derivation: ∂f/∂w for f = `sum(softplus(-y * (X @ w)))`"
    program = ed.parse("z = W @ x\nL = sum(tanh(z))", shapes="W[n,m] x[m]")
    heading = ed.explain(program, "W", text="z = W @ x\n  L = sum(tanh(z))\n").splitlines()[0]
    assert heading == "# Derivation: ∂L/∂W for L = `z = W @ x; L = sum(tanh(z))`"


def test_explain_sub_steps_nest_in_the_html():
    markdown = pytest.importorskip("markdown")
    f = ed.parse("W @ x + b", shapes="W[n,m] x[m] b[n]")
    html = markdown.markdown(ed.explain(f, "W"))
    steps = re.search(r"<ol>.*?</ol>", html, flags=re.S)
    assert steps, html
    # the product rule's sub-steps are a list inside its item, not items 4, 5, ... of the steps
    assert re.search(r"<li>[^<]*<strong>Product rule</strong>.*?<ul>\s*<li>replacing \$W",
                     steps.group(0), flags=re.S), steps.group(0)
    top_level = re.sub(r"<ul>.*?</ul>", "", steps.group(0), flags=re.S).count("<li>")
    assert top_level == 3, steps.group(0)  # sum rule, product rule, leaf rule
