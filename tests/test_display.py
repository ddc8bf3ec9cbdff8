"""What a notebook or a REPL shows: Markdown explanations, verdicts, compiled functions, Expr."""

from __future__ import annotations

import einderiv as ed
from einderiv.render import DISPLAY_WHERE_AFTER


def test_verdict_str_and_repr():
    W, x = ed.symbols("W[n,m] x[m]")
    wrong = ed.verify("W @ g", W @ x, "x", cotangent="g")
    assert str(wrong).startswith("✗ wrong\nWrong: ")
    assert "Correct: dx = W.T @ g" in str(wrong)
    assert repr(wrong).startswith("Verdict(ok=False, mistakes=(") and "expected='W.T @ g'" in repr(
        wrong)
    right = ed.verify("W.T @ g", W @ x, "x", cotangent="g")
    assert str(right).startswith("✓ correct\nCorrect: dx = W.T @ g")
    assert repr(right) == "Verdict(ok=True, expected='W.T @ g')"
    markdown = right._repr_markdown_()
    assert markdown.startswith("**✓ correct**") and "Correct: `dx = W.T @ g`." in markdown
    assert "Why: `dx_a = Σ_i W_ia g_i`" in markdown  # _ inside code, not italics


def test_compiled_str_and_repr():
    W, x = ed.symbols("W[n,m] x[m]")
    fn = ed.compile(ed.tanh(W @ x))
    assert repr(fn) == "<Compiled numpy fn(W, x) -> (n,): np.tanh(W @ x)>"
    assert str(fn).splitlines() == [
        "compiled einderiv expression (backend numpy)",
        "  arguments: W[n,m], x[m]",
        "  result:    dims (n)",
        "  computes:  np.tanh(W @ x)",
    ]


def test_long_expressions_display_in_the_where_form():
    f = ed.parse("-sum(y * log(softmax(V @ tanh(W @ x + b))))",
                 shapes="W[h,d] x[d] b[h] V[c,h] y[c]")
    g = ed.grad(f, "W")
    assert len(g.to_latex()) > DISPLAY_WHERE_AFTER
    shown = g._repr_latex_()
    assert shown.startswith("$$") and shown.endswith("$$")
    assert shown == "$$" + g.to_latex(where=True) + "$$" and r"\text{where}" in shown
    W, x = ed.symbols("W[n,m] x[m]")
    assert (W @ x)._repr_latex_() == "$W x$"  # short: the plain form inline
