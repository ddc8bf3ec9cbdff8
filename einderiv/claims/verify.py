"""Claim checking: judge a claimed derivative formula, diagnose the mistake, say why.

Contract: :func:`verify` parses the claim (text in the numpy-like syntax, or an
expression) next to the intermediates the user names in ``where``, computes the true
derivative (a gradient for a scalar ``f``, a vjp when a ``cotangent`` is named, the full
derivative otherwise) and compares them symbolically (canonical form) and numerically
(random values, distinct sizes per dim, several draws).  It never says "ok" to a claim
that differs numerically.  A wrong claim gets a diagnosis of the common mistakes, found
by trying one edit of the claim at a time -- swapped ``@`` operands, a toggled ``.T``,
``*`` for ``@`` and back -- and by comparing with the transpose, the negative, a multiple
and the separate terms of the correct result; plus the correct matrix form written with
the user's own intermediate names, and the index-level reason.

>>> import einderiv as ed
>>> f = ed.parse("W @ x", shapes="W[n,m] x[m]")
>>> ed.verify("W.T @ g", f, "x", cotangent="g").ok
True
>>> v = ed.verify("g @ W.T", f, "x", cotangent="g")
>>> v.ok, v.mistakes
(False, ('shape mismatch', 'extra transpose', 'wrong order'))
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any, TypedDict

from einderiv.claims.context import ClaimContext, Sampler, render_expected, values_close, with_names
from einderiv.claims.edits import SearchReport, single_edit_fixes
from einderiv.claims.mutations import describe, diagnose
from einderiv.claims.notes import (
    holds_if_normalized,
    holds_if_symmetric,
    jacobian_note,
    unknown_name_hint,
    unused_definitions_note,
    vector_t_note,
)
from einderiv.claims.reasons import index_reason
from einderiv.claims.verdict import Verdict
from einderiv.derive.api import diff, grad, vjp
from einderiv.derive.api import hessian as second_derivative
from einderiv.derive.arguments import resolve_wrt
from einderiv.errors import EinderivError, ParseError, ShapeError, SubscriptError
from einderiv.ir.canonical import same
from einderiv.ir.nodes import Expr, Symbol, unwrap
from einderiv.rewrite.normal_form import normalize
from einderiv.text.parser import parse

# -- verify ---------------------------------------------------------------------------


def expected_derivative(f: Expr, wrt: Any, cotangent: Any = None, hessian: bool = False) -> Expr:
    """The derivative a claim is compared with: grad, vjp, Hessian or the full derivative."""
    if hessian:
        if cotangent is not None:
            raise EinderivError(
                "verify: a Hessian is the derivative of a scalar's gradient and takes no "
                "cotangent; drop cotangent= (or hessian=True to judge a vjp)"
            )
        return second_derivative(f, wrt)
    if cotangent is not None:
        return vjp(f, wrt, cotangent)
    if not f.dims:
        return grad(f, wrt)
    return diff(f, wrt)


def verify(
    claim: str | Expr,
    f: Expr | str,
    wrt: Any,
    cotangent: Any = None,
    where: Mapping[str, Any] | None = None,
    *,
    shapes: Any = None,
    hessian: bool = False,
) -> Verdict:
    """Judge ``claim`` as the derivative of ``f`` w.r.t. ``wrt`` (vjp with ``cotangent``).

    ``where`` names intermediates the claim uses (``{"dz": "da * (1 - a**2)"}``); a
    multi-line claim may define its own.  ``f`` may be text when ``shapes`` is given.
    ``hessian=True`` judges the claim as the Hessian of a scalar ``f`` (the derivative of
    its gradient, wrt's dims twice), named ``H`` in the message.

    >>> import einderiv as ed
    >>> f = ed.parse("x @ A @ x", shapes="x[n] A[n,n]")
    >>> v = ed.verify("2 * A", f, "x", hessian=True)
    >>> v.ok, v.mistakes, v.expected
    (False, ('assumes symmetric',), 'A + A.T')
    """
    if isinstance(f, str):
        if shapes is None:
            raise EinderivError("verify: f is text, so pass shapes=... to declare its symbols")
        f = parse(f, shapes=shapes)
    x = resolve_wrt(f, wrt)
    truth = expected_derivative(f, x, cotangent, hessian=hessian)
    extra = [x]
    if isinstance(cotangent, str):
        extra.append(Symbol.make(cotangent, f.dims))
    elif isinstance(cotangent, Symbol):
        extra.append(cotangent)
    if where is not None and not isinstance(where, Mapping):
        raise EinderivError(
            f"verify: where must be a dict of intermediates such as {{'dz': 'da * (1 - a**2)'}}, "
            f"got {type(where).__name__}"
        )
    all_where: dict[str, Any] = dict(where or {})
    claim_text: str | None = None
    if isinstance(claim, str):
        lines = [line for line in claim.replace(";", "\n").splitlines() if line.strip()]
        if not lines:
            raise EinderivError("verify: the claim is empty; write a formula such as 'W.T @ g'")
        all_where.update(_assignments(lines[:-1]))
        claim_text = _last_expression(lines)
    elif not isinstance(claim, Expr):
        raise EinderivError(
            f"verify: the claim must be text such as 'W.T @ g' or an expression, got "
            f"{type(claim).__name__}"
        )
    context = ClaimContext(f, extra, all_where)
    result_name = "H" if hessian else _result_name(
        x, cotangent, set(context.symbols) | set(context.defs))
    named_truth = with_names(truth, context.defs)
    expected_text = render_expected(named_truth)
    reason = index_reason(named_truth, result_name)
    claimed: Expr | None
    shape_problem = ""
    if isinstance(claim, Expr):
        claimed = claim
    else:
        try:
            claimed = context.parse(claim_text or "")
        except ParseError as err:
            if not isinstance(err.__context__, (ShapeError, SubscriptError)):
                unknown_name_hint(err, f, context, cotangent)
                raise
            claimed, shape_problem = None, err.message
    if claimed is None:
        sampler = Sampler([truth], domains_of=(f,))
        truth_values = sampler.values(truth)
        search = SearchReport()
        fixes = single_edit_fixes(
            claim_text, context, truth, sampler, truth_values, report=search
        )
        mistakes = ["shape mismatch", *[kind for kind, _ in fixes if kind != "shape mismatch"]]
        fix = fixes[0][1] if fixes else None
        fix_text = f"\nFix: {fix}" if fix else ""
        note = vector_t_note(claim_text, context)
        message = (
            f"Wrong: the claim's shapes do not fit ({shape_problem}).{note}{search.note()}\n"
            f"Correct: {result_name} = {expected_text}{fix_text}\nWhy: {reason}"
        )
        return Verdict(
            False,
            message,
            expected=expected_text,
            mistakes=tuple(dict.fromkeys(mistakes)),
            reason=reason,
            fix=fix,
            expected_shape=truth.dims,
            expected_expr=truth,
        )
    common = _Shared(
        expected=expected_text,
        reason=reason,
        claim_shape=claimed.dims,
        expected_shape=truth.dims,
        expected_expr=truth,
    )
    if claimed.dims != truth.dims:
        mistakes = ["shape mismatch"]
        hint = ""
        if tuple(reversed(claimed.dims)) == truth.dims and len(truth.dims) == 2:
            hint = " (the claim has the transposed shape)"
        sampler = Sampler([truth], domains_of=(f,))
        search = SearchReport()
        fixes = single_edit_fixes(
            claim_text, context, truth, sampler, sampler.values(truth), report=search
        )
        mistakes += [kind for kind, _ in fixes if kind not in mistakes]
        fix = fixes[0][1] if fixes else None
        fix_text = f"\nFix: {fix}" if fix else ""
        hint += jacobian_note(f, x, cotangent, claimed, truth, sampler)
        message = (
            f"Wrong: the claim has shape {_shape(claimed.dims)} but {result_name} must have shape "
            f"{_shape(truth.dims)}{hint}.{vector_t_note(claim_text, context)}{search.note()}\n"
            f"Correct: {result_name} = {expected_text}{fix_text}\n"
            f"Why: {reason}"
        )
        return Verdict(False, message, mistakes=tuple(mistakes), fix=fix, **common)
    if _symbolically_equal(claimed, truth):  # equal forms need no sampling
        message = f"Correct: {result_name} = {expected_text}.\nWhy: {reason}"
        return Verdict(True, message, max_error=0.0, **common)
    sampler = Sampler([truth, claimed], domains_of=(f,))
    truth_values = sampler.values(truth)
    claim_values = sampler.values(claimed)
    if truth_values is None or claim_values is None:
        raise EinderivError(
            "verify: could not evaluate the claim or the derivative numerically at random "
            "values; check that the claim's functions are defined there"
        )
    same, error = values_close(claim_values, truth_values)
    if same:
        message = f"Correct: {result_name} = {expected_text}.\nWhy: {reason}"
        return Verdict(True, message, max_error=error, **common)
    search = SearchReport()
    mistakes, fix, detail = diagnose(
        claimed, truth, claim_text, context, sampler, truth_values, claim_values, search
    )
    if not mistakes and holds_if_symmetric(f, claimed, truth):
        mistakes.append("assumes symmetric")
    if not mistakes:
        normalized, sign = holds_if_normalized(f, x, claimed, truth)
        if normalized:
            mistakes.extend(["wrong sign", "assumes normalized"] if sign < 0
                            else ["assumes normalized"])
            detail = (
                f"right only when {normalized} sums to 1 along its last axis, as a probability "
                "distribution or one-hot label does; the correct result holds for any "
                f"{normalized}"
            )
    explained = "; ".join(describe(m) for m in mistakes) if mistakes else "it differs numerically"
    if detail:
        explained += f": {detail}"
    fix_text = f"\nFix: {fix}" if fix else ""
    note = unused_definitions_note(claim_text, context, named_truth) if not mistakes else ""
    message = (
        f"Wrong: {explained} (max relative difference {error:.3g}).{note}{search.note()}\n"
        f"Correct: {result_name} = {expected_text}{fix_text}\nWhy: {reason}"
    )
    return Verdict(False, message, mistakes=tuple(mistakes), fix=fix, max_error=error, **common)


class _Shared(TypedDict):
    """The fields every verdict past the shape check shares (passed as ``**common``)."""

    expected: str
    reason: str
    claim_shape: tuple[str, ...]
    expected_shape: tuple[str, ...]
    expected_expr: Expr


def _symbolically_equal(claimed: Expr, truth: Expr) -> bool:
    """Equal as expressions: the same node, or equal up to index renaming and order.

    The claim is brought to the algebra's normal form first, as derivatives are
    (``A @ x + A.T @ x`` is the truth's ``(A + A.T) @ x``).
    """
    if claimed == truth:
        return True
    try:
        normal = normalize(claimed)
        return normal == truth or same(unwrap(normal), unwrap(truth))
    except RecursionError:  # a very deep expression: the numeric comparison decides
        return False


def _result_name(x: Symbol, cotangent: Any, taken: AbstractSet[str] = frozenset()) -> str:
    """``dW`` for a vjp (``∂L/∂W`` when ``dW`` already names something), else ``∂f/∂W``."""
    if cotangent is None:
        return f"∂f/∂{x.name}"
    name = f"d{x.name}"
    return f"∂L/∂{x.name}" if name in taken else name


def _shape(dims: tuple[str, ...]) -> str:
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def _assignments(lines: list[str]) -> dict[str, str]:
    """``name = expression`` lines of a multi-line claim, as where entries."""
    found: dict[str, str] = {}
    for line in lines:
        try:
            tree = ast.parse(line.strip())
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            raise EinderivError(
                f"verify: cannot read the claim line {line.strip()!r}: it is not Python "
                "syntax; every line but the last is an assignment 'name = expression'"
            ) from None
        stmt = tree.body[0] if tree.body else None
        if not (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
        ):
            raise EinderivError(
                f"verify: claim line {line.strip()!r} must be an assignment 'name = ...'; "
                "only the last line is the claimed result"
            )
        found[stmt.targets[0].id] = ast.unparse(stmt.value)
    return found


def _last_expression(lines: list[str]) -> str | None:
    if not lines:
        return None
    last = lines[-1].strip()
    try:
        tree = ast.parse(last)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return last  # parsing it again reports the syntax error with a caret
    if tree.body and isinstance(tree.body[0], ast.Assign):
        return ast.unparse(tree.body[0].value)
    return last
