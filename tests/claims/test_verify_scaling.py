"""verify on big and awkward input: long claims, long where chains in any order, claim
programs of thousands of lines, functions with restricted domains.  Each case must end in
a verdict or an EinderivError; none is timed here (benchmarks/verify_speed.py times them).
"""

from __future__ import annotations

import numpy as np
import pytest

import einderiv as ed
from einderiv.claims import edits
from einderiv.claims.context import ClaimContext, Sampler
from einderiv.claims.edits import ClaimTree, SearchReport, single_edit_fixes

QUAD = "x @ A @ x"


def _quad():
    return ed.parse(QUAD, shapes="x[n] A[n,n]")


def _chain(n: int) -> dict[str, str]:
    where = {"h0": "A @ x"}
    for k in range(1, n):
        where[f"h{k}"] = f"h{k - 1} + x"
    return where


@pytest.mark.parametrize("order", ["forward", "reverse"])
def test_where_chain_of_1000_in_any_order(order):
    where = _chain(1000)
    if order == "reverse":
        where = dict(reversed(list(where.items())))
    verdict = ed.verify("h999 - 999 * x + A.T @ x", _quad(), "x", where=where)
    assert verdict.ok, verdict.message
    wrong = ed.verify("h999 + A.T @ x", _quad(), "x", where=where)
    assert not wrong.ok and "Correct: " in wrong.message


def test_long_circular_chain_is_named():
    where = _chain(500)
    where["h0"] = "h499 + x"
    with pytest.raises(ed.EinderivError, match=r"circular \(h0 -> h499 -> h498 -> .* -> h0\)"):
        ed.verify("h1", _quad(), "x", where=where)


def test_where_values_must_be_text_or_expressions():
    with pytest.raises(ed.EinderivError, match=r"where\['dz'\] must be text .* got int"):
        ed.verify("dz", _quad(), "x", where={"dz": 3})
    x, A = ed.symbols("x[n] A[n,n]")
    assert ed.verify("u + A.T @ x", _quad(), "x", where={"u": A @ x}).ok


def test_claim_program_of_2000_lines():
    lines = [f"t{k} = {'A @ x' if k == 0 else f't{k - 1} * 0.5 + x'}" for k in range(1999)]
    verdict = ed.verify("\n".join([*lines, "t1998 + A.T @ x"]), _quad(), "x")
    assert not verdict.ok and "Correct: " in verdict.message


def test_where_error_names_the_entry():
    with pytest.raises(ed.ParseError) as info:
        ed.verify("dz", _quad(), "x", where={"dz": "x @ @ A"})
    assert str(info.value).startswith("where 'dz': syntax error")


LS = "sum((X @ w - y)**2) + lam * sum(w**2)"


def test_long_claim_gets_a_verdict_and_a_complete_or_reported_search():
    f = ed.parse(LS, shapes="X[n,d] w[d] y[n] lam")
    claim = " + ".join(f"2 * X.T @ (X @ w - y) / {k + 2}" for k in range(40))
    assert len(claim) > 1000
    verdict = ed.verify(claim, f, "w")
    assert not verdict.ok and "Correct: " in verdict.message


def test_claim_of_100_repeated_terms():
    verdict = ed.verify(" + ".join(["A @ x"] * 100), _quad(), "x")
    assert not verdict.ok and verdict.expected == "(A + A.T) @ x"


def test_search_that_stops_early_says_so(monkeypatch):
    monkeypatch.setattr(edits, "MAX_EDITS", 3)
    verdict = ed.verify(" + ".join(["A @ x"] * 10), _quad(), "x")
    assert "tried 3 of the claim's" in verdict.message and "limit of 3 edits" in verdict.message
    monkeypatch.setattr(edits, "EDIT_SECONDS", -1.0)  # past its deadline at once
    verdict = ed.verify("A @ x", _quad(), "x")
    assert "tried 0 of" in verdict.message and "time budget" in verdict.message
    assert "shorten the claim" in verdict.message


def test_complete_search_adds_no_note():
    verdict = ed.verify("A @ x", _quad(), "x")
    assert "search for a one-edit fix" not in verdict.message


# -- the edit search works on the parsed claim ----------------------------------------


RNN_SHAPES = "Waa[n,n] Wax[n,k] a_prev[n,m] x[k,m] ba[n,1]"
RNN = "tanh(Waa @ a_prev + Wax @ x + ba)"
WHERE = {"dz": "da * (1 - a**2)", "a": RNN}

CLAIMS = [
    "dz @ a_prev.T",
    "-(dz @ a_prev.T) * 2",
    "np.sum(dz, axis=1, keepdims=True) + ba * 0",
    "dz.sum(axis=1, keepdims=True).T",
    "np.einsum('ij,kj->ik', dz, a_prev)",
    "(dz * (1 - a**2)) @ a_prev.T",
    "np.tanh(Waa) @ Waa.T + dz.sum(axis=1)[:, None] * ba",
    "Waa.T @ dz / x.shape[0]",
    "(np.log(np.exp(dz - dz.max(axis=1, keepdims=True)).sum(axis=1)) + dz.max(axis=1))"
    "[:, None] * Waa",
    "np.log(np.exp(dz - dz.max()).sum()) + dz.max() + Waa",
    "np.linalg.slogdet(Waa)[1] * Waa",
    "outer(dz.sum(axis=1), ba.sum(axis=1)) @ Waa",
    "np.maximum(dz, 0) ** 2 - 1.5 * dz ** 3",
]


@pytest.mark.parametrize("claim", CLAIMS)
def test_tree_builds_what_parse_builds(claim):
    """Every node built from its operator and its operands' IR gives parse's own result."""
    f = ed.parse(RNN, shapes=RNN_SHAPES)
    da = ed.Symbol.make("da", f.dims)
    context = ClaimContext(f, [f.symbols()["Waa"], da], WHERE)
    tree = ClaimTree(claim, lambda text, names: context.parse_text(text, names), "_e")
    assert tree.expr[id(tree.root)] == context.parse(claim)


def test_edit_in_a_top_level_sum_matches_rebuilding_the_whole_claim():
    f = ed.parse("x @ A @ x + x @ B @ x", shapes="x[n] A[n,n] B[n,n]")
    truth = ed.grad(f, "x")
    claim = "A @ x + A.T @ x + B @ x + B @ x"
    context = ClaimContext(f, [f.symbols()["x"]], None)
    sampler = Sampler([truth, context.parse(claim)])
    truth_values = sampler.values(truth)
    claim_values = sampler.values(context.parse(claim))
    fast = single_edit_fixes(claim, context, truth, sampler, truth_values, claim_values)
    whole = single_edit_fixes(claim, context, truth, sampler, truth_values)
    assert fast == whole
    assert ("missing transpose", "A @ x + A.T @ x + B @ x + B.T @ x") in fast


def test_edits_read_intermediates_as_bound_symbols():
    f = ed.parse(RNN, shapes=RNN_SHAPES)
    verdict = ed.verify("a_prev @ dz.T", f, "Waa", cotangent="da", where=WHERE)
    assert verdict.fix == "dz @ a_prev.T"
    report = SearchReport()
    truth = ed.vjp(f, "Waa", "da")
    context = ClaimContext(f, [f.symbols()["Waa"], ed.Symbol.make("da", f.dims)], WHERE)
    sampler = Sampler([truth])
    fixes = single_edit_fixes("a_prev @ dz.T", context, truth, sampler, sampler.values(truth),
                              report=report)
    assert ("wrong order", "dz @ a_prev.T") in fixes
    assert report.tried == report.total > 0 and not report.stopped


# -- symbolic first, numbers in the domain ---------------------------------------------


def test_equal_forms_are_judged_without_sampling():
    verdict = ed.verify("A @ x + A.T @ x", _quad(), "x")
    assert verdict.ok and verdict.max_error == 0.0


@pytest.mark.parametrize(("claim", "ok", "mistakes"), [
    ("0.5 * x ** -0.5", True, ()),
    ("0.5 / np.sqrt(x)", True, ()),
    ("x ** -0.5", False, ("extra term",)),  # = the truth + one more 0.5 * x ** -0.5
])
def test_functions_with_a_restricted_domain_are_sampled_inside_it(claim, ok, mistakes):
    f = ed.parse("sum(sqrt(x)) + sum(log(y) * x)", shapes="x[n] y[n]")
    verdict = ed.verify(claim + " + log(y)", f, "x")
    assert verdict.ok is ok, verdict.message
    assert verdict.mistakes == mistakes


def test_huge_comparisons_are_refused_with_the_size():
    dims = ",".join(f"d{i}" for i in range(12))
    f = ed.parse("x", shapes=f"x[{dims}]")
    with pytest.raises(ed.EinderivError, match=r"entries at the small sizes verify samples"):
        ed.verify("2 * g", f, "x", cotangent="g")


def test_sampler_gives_new_dims_a_size():
    x, y = ed.symbols("x[n] y[k]")
    sampler = Sampler([ed.sum(x)])
    values = sampler.values(y * 2)
    assert values is not None and values[0].shape == (sampler.sizes["k"],)
    assert np.allclose(values[0], 2 * sampler.points[0]["y"])
