"""Results never depend on what else the process did (issue: sizes belong to the expression).

Every case here failed while dim sizes came from process-global tables (``ir.DIM_OWNERS``,
``ir.DECLARED_DIMS``) and from a size context written into the cache of shared, interned
nodes: an unrelated declaration or derivation changed what an earlier result rendered,
generated and evaluated.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import einderiv as ed


def _outputs(e: ed.Expr, values: dict) -> tuple[str, str, str, tuple]:
    """Everything a user reads off ``e``: matrix form, einsum form, code, value."""
    value = e.evaluate(values)
    return e.to_numpy(), e.to_einsum(), ed.codegen(e), (np.shape(value), value.tobytes())


def test_identity_gradient_keeps_its_own_source_after_another_derivation():
    A = ed.symbols("A[n,n]")
    g = ed.grad(ed.trace(A), A)
    a = np.arange(9.0).reshape(3, 3)
    before = _outputs(g, {"A": a})
    B = ed.symbols("B[n,n]")
    h = ed.grad(ed.trace(B), B)
    assert h.to_numpy() == "np.eye(B.shape[0])"
    assert _outputs(g, {"A": a}) == before
    assert g.to_numpy() == "np.eye(A.shape[0])"
    assert "def f(A):" in ed.codegen(g)
    assert np.array_equal(eval(g.to_numpy(), {"np": np, "A": a}), np.eye(3))
    # with both values given, each result reads n off its own symbol
    both = {"A": a, "B": np.ones((4, 4))}
    assert g.evaluate(both).shape == (3, 3)
    assert h.evaluate(both).shape == (4, 4)


def test_a_cancelled_difference_names_its_own_operands():
    A, x = ed.symbols("A[n,n] x[n]")
    ed.symbols("S[n,n]")
    zero = A @ x - A @ x
    text = zero.to_numpy()
    assert "S" not in text
    assert eval(text, {"np": np, "A": np.eye(3), "x": np.ones(3)}).shape == (3,)


@pytest.mark.parametrize("declared_before", ["", "Q[n,m]", "Q[m,n]"])
def test_shape_of_an_undeclared_symbol_is_a_parse_error_whatever_was_declared(declared_before):
    if declared_before:
        ed.symbols(declared_before)
    with pytest.raises(ed.ParseError, match="unknown name 'Q'"):
        ed.parse("Q.shape[0] * x", shapes="x[n]")


def test_shape_of_a_declared_symbol_reads_back():
    f = ed.parse("x.shape[0] * x", shapes="x[n]")
    assert f.evaluate({"x": np.ones(3)}).tolist() == [3.0, 3.0, 3.0]


def test_verify_and_explain_leave_earlier_results_alone():
    A = ed.symbols("A[n,n]")
    g = ed.grad(ed.trace(A), A)
    a = np.eye(3)
    before = _outputs(g, {"A": a})
    f = ed.parse("trace(B)", shapes="B[n,n]")
    ed.verify("np.eye(B.shape[0])", f, "B")
    ed.explain(f, "B")
    assert _outputs(g, {"A": a}) == before


def test_wrt_that_cancelled_gives_zeros_of_its_shape():
    f = ed.parse("h0 - h0 + x", shapes="h0[n] x[n]")
    j = ed.jvp(f, "h0", "v")
    assert j.evaluate({"x": np.ones(3), "v": np.ones(3)}).tolist() == [0.0, 0.0, 0.0]
    g = ed.grad(ed.parse("sum(mu / mu)", shapes="mu[n]"), "mu")
    assert g.shape == ("n",)
    assert "mu.shape[0]" in g.to_numpy()
    assert eval(g.to_numpy(), {"np": np, "mu": np.ones(4)}).tolist() == [0.0] * 4


# -- order independence: a random interleaving of unrelated work never changes a result ----

_CASES = {
    "trace": ("trace(A)", "A[n,n]", "A"),
    "quadratic": ("x @ A @ x", "x[n] A[n,n]", "x"),
    "matmul": ("sum(X @ W)", "X[p,q] W[q,r]", "X"),
    "mean": ("sum(mean(B, axis=1))", "B[n,m]", "B"),
    "cancel": ("sum(x - x + y)", "x[n] y[n]", "x"),
}

_SIZES = {"n": 3, "m": 4, "p": 5, "q": 2, "r": 6}


def _values(spec: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out = {}
    for part in spec.split():
        name, dims = part.rstrip("]").split("[")
        out[name] = rng.normal(size=tuple(_SIZES[d] for d in dims.split(",")))
    return out


def _unrelated(step: tuple[str, str]) -> None:
    kind, case = step
    text, spec, wrt = _CASES[case]
    renamed = {"A": "A2", "x": "x2", "X": "X2", "W": "W2", "B": "B2", "y": "y2"}
    for old, new in renamed.items():
        text = re.sub(rf"\b{old}\b", new, text)
        spec = spec.replace(f"{old}[", f"{new}[")
    wrt = renamed.get(wrt, wrt)
    if kind == "declare":
        ed.symbols(spec)
        return
    f = ed.parse(text, shapes=spec)
    if kind == "derive":
        ed.grad(f, wrt).to_numpy()
    elif kind == "verify":
        ed.verify("0", f, wrt)
    elif kind == "explain":
        ed.explain(f, wrt)


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["declare", "derive", "verify", "explain"]),
                  st.sampled_from(sorted(_CASES))),
        min_size=1, max_size=4,
    )
)
def test_unrelated_work_in_any_order_never_changes_earlier_results(steps):
    results = {}
    for name, (text, spec, wrt) in _CASES.items():
        g = ed.grad(ed.parse(text, shapes=spec), wrt)
        results[name] = (g, _outputs(g, _values(spec)), spec)
    for step in steps:
        _unrelated(step)
    for name, (g, before, spec) in results.items():
        assert _outputs(g, _values(spec)) == before, name
