"""Diagnosing a wrong claim by single edits and by comparing with forms of the truth."""

from __future__ import annotations

import ast

from einderiv.claims.context import relative_ratio, render_expected, values_close
from einderiv.errors import EinderivError
from einderiv.ir.nodes import Sum, unwrap
from einderiv.rewrite.factoring import additive_terms


def _mutations(claim_line: str) -> list[tuple[str, str]]:
    """Single edits of the claim's expression: ``(mistake, edited text)`` pairs."""
    try:
        tree = ast.parse(claim_line.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    nodes = [n for n in ast.walk(tree)]
    transposed_names = {
        id(n.value) for n in nodes if isinstance(n, ast.Attribute) and n.attr == "T"
    }
    variants: list[tuple[str, str]] = []

    def emit(kind: str, new_tree: ast.AST) -> None:
        try:
            text = ast.unparse(new_tree)
        except Exception:  # pragma: no cover - unparse of our own trees
            return
        variants.append((kind, text))

    import copy

    for index, node in enumerate(nodes):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            swapped = copy.deepcopy(tree)
            target = [n for n in ast.walk(swapped)][index]
            target.left, target.right = target.right, target.left
            emit("wrong order", swapped)
            swapped_t = copy.deepcopy(tree)
            target = [n for n in ast.walk(swapped_t)][index]
            target.left, target.right = _transposed(target.right), _transposed(target.left)
            emit("wrong order", swapped_t)
            as_mul = copy.deepcopy(tree)
            target = [n for n in ast.walk(as_mul)][index]
            target.op = ast.Mult()
            emit("elementwise vs matrix product", as_mul)
        if (
            isinstance(node, ast.Call)
            and len(node.args) == 2
            and not node.keywords
            and ast.unparse(node.func).split(".")[-1] in ("outer", "matmul", "dot")
        ):
            swapped_args = copy.deepcopy(tree)
            target = [n for n in ast.walk(swapped_args)][index]
            target.args = [target.args[1], target.args[0]]
            emit("wrong order", swapped_args)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            as_mat = copy.deepcopy(tree)
            target = [n for n in ast.walk(as_mat)][index]
            target.op = ast.MatMult()
            emit("elementwise vs matrix product", as_mat)
        if isinstance(node, (ast.Name, ast.Call)) and id(node) not in transposed_names:
            toggled = copy.deepcopy(tree)
            _wrap_transpose(toggled, index)
            emit("missing transpose", toggled)
        if isinstance(node, ast.Attribute) and node.attr == "T":
            removed = copy.deepcopy(tree)
            _unwrap_transpose(removed, index)
            emit("extra transpose", removed)
    return variants


def _transposed(node: ast.expr) -> ast.expr:
    """``node.T``, or ``X`` when ``node`` is already ``X.T``."""
    if isinstance(node, ast.Attribute) and node.attr == "T":
        return node.value
    return ast.Attribute(value=node, attr="T", ctx=ast.Load())


def _wrap_transpose(tree: ast.AST, index: int) -> None:
    target = [n for n in ast.walk(tree)][index]
    for parent in ast.walk(tree):
        for fname, value in ast.iter_fields(parent):
            if value is target:
                setattr(parent, fname, ast.Attribute(value=target, attr="T", ctx=ast.Load()))
                return
            if isinstance(value, list):
                for k, item in enumerate(value):
                    if item is target:
                        value[k] = ast.Attribute(value=target, attr="T", ctx=ast.Load())
                        return


def _unwrap_transpose(tree: ast.AST, index: int) -> None:
    target = [n for n in ast.walk(tree)][index]
    for parent in ast.walk(tree):
        for fname, value in ast.iter_fields(parent):
            if value is target:
                setattr(parent, fname, target.value)
                return
            if isinstance(value, list):
                for k, item in enumerate(value):
                    if item is target:
                        value[k] = target.value
                        return


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


#: longest claim (characters) for which single-edit fixes are searched
_MAX_EDIT_CLAIM = 2000


def single_edit_fixes(claim_text, context, truth, sampler, truth_values) -> list[tuple[str, str]]:
    """``(mistake, corrected text)`` for each single edit that makes the claim right."""
    found: list[tuple[str, str]] = []
    if claim_text is None or len(claim_text) > _MAX_EDIT_CLAIM:
        return found  # each edit re-parses the claim: quadratic (minutes) for long claims
    for kind, text in _mutations(claim_text):
        try:
            candidate = context.parse(text)
        except EinderivError:
            continue
        if candidate.dims != truth.dims:
            continue
        values = sampler.values(candidate)
        if values is not None and values_close(values, truth_values)[0]:
            found.append((kind, text))
    found.sort(key=lambda item: (item[0] == "wrong order", len(item[1])))
    return found


def diagnose(claimed, truth, claim_text, context, sampler, truth_values, claim_values):
    """``(mistakes, fix, detail)``: the named mistakes, a one-edit fix, the term at fault."""
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
    for kind, text in single_edit_fixes(claim_text, context, truth, sampler, truth_values):
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
