"""The index-level reason of a result: why its matrix form reads as it does."""

from __future__ import annotations

from einderiv.claims.context import render_expected
from einderiv.ir.nodes import Delta, Expr, Product, Sum, Symbol, unwrap
from einderiv.render.index import to_index
from einderiv.render.letters import OUT_LETTERS

# -- the reason -----------------------------------------------------------------------


def index_reason(expr: Expr, name: str) -> str:
    """Two lines: the index form of ``expr`` and how the matrix order is read off it."""
    text = to_index(expr)
    lhs, _, rhs = text.partition(" = ")
    subs = lhs[2:] if lhs.startswith("F_") else ""
    first = f"{name}_{subs} = {rhs}" if subs else f"{name} = {rhs}"
    root, expr = expr, unwrap(expr)
    second = _product_reason(expr, root) if isinstance(expr, Product) else ""
    if isinstance(expr, Symbol) and expr.dims:
        second = f"The result is {expr.name} itself, index for index."
    if not second and isinstance(expr, Sum):
        second = _sum_reason(expr, root)
    if not second:
        second = (
            "Each term is read off on its own: an index shared by two factors and absent from "
            "the result is summed (a matrix product), and the result's indices give its rows "
            "and columns."
            if isinstance(expr, Sum)
            else "Each summed index joins two factors; the surviving indices give the rows "
            "and columns."
        )
    return first + "\n" + second


def _sum_reason(expr: Sum, root: Expr) -> str:
    """Each term of a short sum with its index form and the matrix form it reads as."""
    if len(expr.terms) > 4:
        return ""
    parts = []
    for term in expr.terms:
        index = to_index(term).partition(" = ")[2]
        matrix = render_expected(term, root)
        if len(index) > 60 or len(matrix) > 60:
            return ""
        parts.append(f"{index} is {matrix}")
    return "Each term is read off on its own: " + "; ".join(parts) + "."


def _factor_name(factor: Expr, root: Expr) -> str:
    """A factor's matrix form, in parentheses unless it is a name or a single call."""
    if isinstance(factor, Symbol):
        return factor.name
    text = render_expected(factor, root)
    head = text.split("(", 1)[0]
    if head and head.replace(".", "").replace("_", "").isalnum() and text.endswith(")"):
        depth = 0
        for pos, char in enumerate(text):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0 and char == ")":
                if pos == len(text) - 1:
                    return text
                break
    return f"({text})"


def _bare(text: str) -> str:
    """``text`` without the parentheses :func:`_factor_name` put around it."""
    return text[1:-1] if text.startswith("(") and factor_name_wrapped(text) else text


def factor_name_wrapped(text: str) -> bool:
    """True when ``text`` is one parenthesized group (its outer parentheses can go)."""
    depth = 0
    for pos, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return pos == len(text) - 1
    return False


def _product_reason(expr: Product, root: Expr) -> str:
    """How one einsum term reads as matrix algebra, in words; '' when no rule fits."""
    names = {label: OUT_LETTERS[pos] for pos, label in enumerate(expr.out)}
    factors = [(f, ls) for f, ls in expr.factors if not isinstance(f, Delta)]
    deltas = [ls for f, ls in expr.factors if isinstance(f, Delta)]
    if (
        len(deltas) == 1
        and len(expr.out) == 2
        and set(deltas[0]) == set(expr.out)
        and not expr.summed
        and factors
        and all(len(ls) == 1 for _, ls in factors)
    ):
        inner = " * ".join(_factor_name(f, root) for f, _ in factors)
        return (
            f"The delta δ_ab is zero unless a = b, so only the diagonal survives: a "
            f"diagonal matrix, np.diag({_bare(inner) if len(factors) == 1 else inner})."
        )
    if len(factors) != len(expr.factors) or not factors:
        return ""
    # Factors with the same labels multiply entry by entry: one group, one operand.
    groups: dict[tuple[int, ...], list[Expr]] = {}
    for f, ls in factors:
        groups.setdefault(tuple(ls), []).append(f)
    operands = [
        (" * ".join(_factor_name(f, root) for f in fs) if len(fs) == 1
         else "(" + " * ".join(_factor_name(f, root) for f in fs) + ")", ls)
        for ls, fs in groups.items()
    ]
    summed = expr.summed
    idx = "".join(names[label] for label in expr.out)
    if len(operands) == 1:
        (op, ls), hadamard = operands[0], len(groups[operands[0][1]]) > 1
        if not summed and ls == tuple(expr.out):
            if hadamard:
                return (
                    f"No index is summed and every factor carries the same indices ({idx}), "
                    "so the factors multiply entry by entry: an elementwise product (*), "
                    "not a matrix product (@)."
                )
            return f"The result is {op} itself, index for index ({op}_{idx})."
        if not summed and len(ls) == 2 and ls == tuple(reversed(expr.out)):
            return (
                f"The indices of {op} appear swapped ({op}_{idx[::-1]} in the result's "
                f"{idx}), so the result is its transpose, {op}.T."
            )
        if len(summed) == 1 and len(ls) == len(expr.out) + 1:
            axis = ls.index(summed[0])
            return (
                f"The summed index i appears in {op} only (its axis {axis}) and not in the "
                f"result, so it is summed out: {op}.sum(axis={axis})."
            )
        return ""
    if len(operands) == 2 and not summed and len(expr.out) == 2:
        (oa, la), (ob, lb) = operands
        if len(la) == 1 and len(lb) == 1:
            if la[0] != expr.out[0]:
                (oa, la), (ob, lb) = (ob, lb), (oa, la)
            return (
                f"No index is summed: the row index {names[la[0]]} comes only from {oa} and "
                f"the column index {names[lb[0]]} only from {ob}, so every pair of entries "
                f"multiplies: the outer product np.outer({_bare(oa)}, {_bare(ob)})."
            )
        return ""
    if len(operands) == 2 and len(summed) == 1 and len(expr.out) == 1:
        (fa, la), (fb, lb) = operands
        if len(la) == 1:
            (fa, la), (fb, lb) = (fb, lb), (fa, la)
        s, a = summed[0], expr.out[0]
        if len(la) == 2 and lb == (s,) and set(la) == {s, a}:
            if la.index(a) == 0:
                return (
                    f"The result's index {names[a]} is the row index of {fa} and the summed "
                    f"index i its column index, shared with {fb}, so it reads {fa} @ {fb}."
                )
            return (
                f"The result's index {names[a]} is the column index of {fa} and the summed "
                f"index i its row index, shared with {fb}, so it reads {fa}.T @ {fb}."
            )
        return ""
    if len(operands) == 2 and len(summed) == 1 and len(expr.out) == 2:
        (fa, la), (fb, lb) = operands
        if len(la) != 2 or len(lb) != 2:
            return ""
        s = summed[0]
        if expr.out[0] in lb:
            (fa, la), (fb, lb) = (fb, lb), (fa, la)
        if s not in la or s not in lb or expr.out[0] not in la or expr.out[1] not in lb:
            return ""
        pa = "column" if la.index(s) == 1 else "row"
        pb = "row" if lb.index(s) == 0 else "column"
        left = fa if la.index(s) == 1 else f"{fa}.T"
        right = fb if lb.index(s) == 0 else f"{fb}.T"
        return (
            f"The result's row index {names[expr.out[0]]} comes from {fa} and its column "
            f"index {names[expr.out[1]]} from {fb}; the summed index i is the {pa} index of "
            f"{fa} and the {pb} index of {fb}, so it reads {left} @ {right}."
        )
    return ""
