"""Diagnosing a wrong claim by single edits and by comparing with forms of the truth.

The single edits themselves are searched in :mod:`einderiv.claims.edits`.
"""

from __future__ import annotations

from einderiv.claims.context import relative_ratio, render_expected, values_close
from einderiv.claims.edits import SearchReport, single_edit_fixes
from einderiv.ir.nodes import Sum, unwrap
from einderiv.rewrite.factoring import additive_terms

_DESCRIPTIONS = {
    "transposed": "the claim is the transpose of the correct result",
    "wrong order": "the operands of a matrix product are in the wrong order",
    "missing transpose": "a transpose is missing",
    "extra transpose": "a transpose is one too many",
    "wrong sign": "the sign is wrong",
    "wrong factor": "the claim is off by a constant factor",
    "missing term": "a term of the correct result is missing",
    "extra term": "the claim has a term too many",
    "elementwise vs matrix product": (
        "an elementwise product (*) and a matrix product (@) are mixed up"
    ),
    "assumes normalized": "the claim assumes a normalized input",
    "assumes symmetric": (
        "the claim holds only for symmetric matrices, and the expression does not declare "
        "its square matrices symmetric (declare one as A[n,n]:sym if it is)"
    ),
    "wrong sign in a term": "one term has the wrong sign",
    "wrong factor in a term": "one term is off by a constant factor",
}


def describe(mistake: str) -> str:
    """A sentence describing a named mistake."""
    return _DESCRIPTIONS.get(mistake, mistake)


def diagnose(claimed, truth, claim_text, context, sampler, truth_values, claim_values,
             search: SearchReport | None = None):
    """``(mistakes, fix, detail)``: the named mistakes, a one-edit fix, the term at fault.

    ``search`` receives how far the single-edit search got.
    """
    root = truth  # parts of the truth are rendered with its inputs (their sizes)
    truth, claimed = unwrap(truth), unwrap(claimed)
    mistakes: list[str] = []
    fix = None
    detail = ""
    if len(truth.dims) == 2 and truth.dims[0] == truth.dims[1]:
        if values_close([v.T for v in claim_values], truth_values)[0]:
            mistakes.append("transposed")
    if values_close([-v for v in claim_values], truth_values)[0]:
        mistakes.append("wrong sign")
    elif not mistakes:
        c = relative_ratio(claim_values, truth_values)
        if c is not None and abs(c) > 1e-9 and abs(c - 1) > 1e-9:
            mistakes.append("wrong factor")
    # Single edits of the claim that make it right.
    for kind, text in single_edit_fixes(
        claim_text, context, truth, sampler, truth_values, claim_values, search
    ):
        if kind not in mistakes:
            mistakes.append(kind)
        fix = fix or text
    # Missing or extra terms.
    truth_terms = additive_terms(truth)  # (A + A.T) @ x has the terms A @ x and A.T @ x
    if not mistakes and len(truth_terms) > 1:
        for term in truth_terms:
            term_values = sampler.values(term)
            if term_values is None:
                continue
            rest = [t - c for t, c in zip(truth_values, claim_values, strict=True)]
            if values_close(rest, term_values)[0]:
                mistakes.append("missing term")
                detail = render_expected(term, root)
                break
            if values_close(
                claim_values, [t + d for t, d in zip(truth_values, term_values, strict=True)]
            )[0]:
                mistakes.append("extra term")
                break
            # claim = truth + c * term: that term has the wrong sign (c = -2) or factor.
            c = relative_ratio(
                [cv - t for cv, t in zip(claim_values, truth_values, strict=True)], term_values
            )
            if c is not None and abs(c) > 1e-9:
                mistakes.append("wrong sign in a term" if abs(c + 2) < 1e-9 else
                                "wrong factor in a term")
                detail = render_expected(term, root)
                if abs(c + 2) >= 1e-9:
                    detail += f" (the claim has {1 + c:.3g} times it)"
                break
    if not mistakes and isinstance(claimed, Sum):
        for term in claimed.terms:
            term_values = sampler.values(term)
            if term_values is None:
                continue
            rest = [c - t for c, t in zip(claim_values, term_values, strict=True)]
            if values_close(rest, truth_values)[0]:
                mistakes.append("extra term")
                detail = render_expected(term, root)
                break
    return mistakes, fix, detail
