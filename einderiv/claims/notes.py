"""Notes attached to verdicts: hints for unknown names, Jacobians, symmetry, normalization."""

from __future__ import annotations

import ast
from typing import Any

import numpy as np

from einderiv.claims.context import ClaimContext, Sampler, names_in, render_expected, values_close
from einderiv.errors import ParseError
from einderiv.ir.nodes import Expr, Symbol


def unknown_name_hint(err: ParseError, f: Expr, context: ClaimContext, cotangent: Any) -> None:
    """Say how to fix an unknown name in a claim: a dim, a missing cotangent, a where."""
    prefix = "unknown name '"
    if not err.message.startswith(prefix):
        return
    name = err.message[len(prefix) :].split("'", 1)[0]
    dims = {d for sym in context.symbols.values() for d in sym.dims}
    if name in dims:
        owner, axis = next(
            (sym.name, sym.dims.index(name))
            for _, sym in sorted(context.symbols.items())
            if name in sym.dims
        )
        hint = (
            f"'{name}' is a dimension name, not a value; for its size write "
            f"{owner}.shape[{axis}], or use mean(...) instead of sum(...) / {name}"
        )
    elif cotangent is None and f.dims:
        hint = (
            f"the expression is not a scalar (dims {list(f.dims)}), so name the upstream "
            f"gradient: cotangent='{name}' (CLI: --cotangent {name}), or define '{name}' "
            f"with where={{'{name}': '...'}} (CLI: --where '{name}=...')"
        )
    else:
        close = f"{err.hint} Or, " if err.hint and err.hint.startswith("did you mean") else ""
        hint = (
            f"{close}if '{name}' is an intermediate, define it with where={{'{name}': '...'}} "
            f"(CLI: --where '{name}=...')"
        )
    err.hint = hint
    err.args = (err._render(),)


def jacobian_note(f, x, cotangent, claimed: Expr, truth: Expr, sampler: Sampler) -> str:
    """Why a full derivative has more axes than the claim, and what to check instead."""
    if cotangent is not None or len(truth.dims) <= len(claimed.dims) or not f.dims:
        return ""
    if len(truth.dims) == 2 and claimed.dims == truth.dims[:1] and truth.dims[0] == truth.dims[1]:
        a, b = sampler.values(claimed), sampler.values(truth)
        if a is not None and b is not None and values_close(a, [np.diagonal(v) for v in b])[0]:
            c = render_expected(claimed)
            return (
                f": the claim is the Jacobian's diagonal; an elementwise function's Jacobian is "
                f"the diagonal matrix np.diag({c}), and its vjp is ({c}) * g"
            )
    return (
        f": the derivative of an expression with dims {list(f.dims)} with respect to "
        f"{x.name} (dims {list(x.dims)}) has both sets of axes; to check a backprop formula, "
        "name the upstream gradient with cotangent='g' (CLI: --cotangent g)"
    )


def vector_t_note(claim_text: str | None, context: ClaimContext) -> str:
    """A note when the claim transposes a 1-D vector, which numpy leaves unchanged."""
    if not claim_text:
        return ""
    try:
        tree = ast.parse(claim_text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "T"
            and isinstance(node.value, ast.Name)
        ):
            name = node.value.id
            known = context.symbols.get(name) or context.defs.get(name)
            if known is not None and len(known.dims) == 1:
                return (
                    f"\nNote: {name} is a 1-D vector, and {name}.T is the same vector (numpy "
                    "vectors have no row/column orientation); an outer product u v^T is "
                    f"np.outer(u, v)"
                )
    return ""


def holds_if_normalized(f: Expr, x: Symbol, claimed: Expr, truth: Expr) -> tuple[str, int]:
    """A symbol whose rows summing to 1 make the claim right (up to the returned sign)."""
    for sym in sorted(f.symbols().values(), key=lambda s: s.name):
        if sym == x or not sym.dims or sym.dims[-1] == "1":
            continue
        sampler = Sampler([truth, claimed], domains_of=(f,))
        for point in sampler.points:
            if sym.name in point:
                value = np.abs(point[sym.name]) + 0.1
                point[sym.name] = value / value.sum(axis=-1, keepdims=True)
        a, b = sampler.values(claimed), sampler.values(truth)
        if a is None or b is None:
            continue
        if values_close(a, b)[0]:
            return sym.name, 1
        if values_close([-v for v in a], b)[0]:
            return sym.name, -1
    return "", 1


def holds_if_symmetric(f: Expr, claimed: Expr, truth: Expr) -> bool:
    """Whether the claim is right once the square non-symmetric matrices are symmetric."""
    square = [
        s for s in f.symbols().values()
        if len(s.dims) == 2 and s.dims[0] == s.dims[1] and not s.symmetric
    ]
    if not square:
        return False
    sampler = Sampler([truth, claimed], domains_of=(f,))
    for point in sampler.points:
        for sym in square:
            if sym.name in point:
                value = point[sym.name]
                point[sym.name] = (value + value.T) / 2
    a, b = sampler.values(claimed), sampler.values(truth)
    return a is not None and b is not None and values_close(a, b)[0]


def unused_definitions_note(claim_text: str | None, context: ClaimContext, named: Expr) -> str:
    """A hint when the claim uses an intermediate that the correct result does not."""
    if not claim_text:
        return ""
    used = names_in(claim_text) & set(context.defs)
    present = set(named.symbols())
    missing = sorted(used - present)
    if not missing:
        return ""
    shown = "; ".join(
        line for line in context.lines if line.split("=", 1)[0].strip() in missing
    ) or ", ".join(missing)
    return (
        f"\nNote: the correct result does not contain your {shown}; check that definition "
        "(a claim built on a wrong intermediate is wrong even if its last line is right)"
    )
