r"""Why a result reads as it does: its index form, and the walk that made its matrix form.

Contract: :func:`reading` returns two lines for an expression: its index form under a
name (``dWaa_ab = Σ_i dz_ai a_prev_bi``) and, in words, how the matrix form was read off
that index form -- generated from the :class:`~einderiv.render.walk.Step` records the
renderer kept while it walked each product's tensor network (which index joined which
factors as a row or a column, which factor entered transposed, what was summed out,
broadcast or put on a diagonal), so the reason always agrees with the printed form.
verify's "Why" and explain's reading of the order are this text.

>>> import einderiv as ed
>>> dz, a_prev = ed.symbols("dz[n,m] a_prev[n,m]")
>>> formula, why = reading(dz @ a_prev.T, "dWaa").split("\n")
>>> formula
'dWaa_ab = Σ_i dz_ai a_prev_bi'
>>> "the column index of dz and the column index of a_prev, so it reads dz @ a_prev.T" in why
True
"""

from __future__ import annotations

from einderiv.ir.nodes import Expr, Func, LogSumExp, MatFunc, Product, Sum, Symbol, unwrap
from einderiv.render.api import deep_recursion
from einderiv.render.index import to_index
from einderiv.render.letters import OUT_LETTERS, index_names
from einderiv.render.numpytext import to_text
from einderiv.render.reader import Renderer
from einderiv.render.tree import Call, Leaf, MNode, ReduceSum, Transpose
from einderiv.render.walk import Step

_AXIS = ("row", "column")


def reading(expr: Expr, name: str) -> str:
    """The index form of ``expr`` named ``name``, then how its matrix order is read off.

    ``expr`` may be a part of a larger expression whose inputs give its sizes (an
    annotated root carries them).
    """
    text = to_index(expr)
    lhs, _, rhs = text.partition(" = ")
    subs = lhs[2:] if lhs.startswith("F_") else ""
    first = f"{name}_{subs} = {rhs}" if subs else f"{name} = {rhs}"
    body = unwrap(expr)
    renderer = Renderer(expr)
    with deep_recursion():
        printed = to_text(renderer.full(body))
        second = _reason(body, renderer, printed)
    return first + "\n" + second


def _reason(body: Expr, renderer: Renderer, printed: str) -> str:
    if isinstance(body, Symbol):
        return f"The result is {body.name} itself, index for index." if body.dims else (
            f"The result is the scalar {body.name}.")
    if isinstance(body, Product):
        walk = renderer.walks.get(body.key)
        if walk is None:  # no matrix form: read as an einsum
            return _einsum_reason(body)
        return _product_reason(body, walk, printed)
    if isinstance(body, Sum):
        return _sum_reason(body, renderer)
    if isinstance(body, Func):
        return (
            f"The function {body.name} applies entry by entry, so the result keeps its "
            f"argument's indices: {printed}."
        )
    if isinstance(body, (MatFunc, LogSumExp)):
        return f"The result is a matrix function of its argument: {printed}."
    return f"It reads {printed}."


def _operand(tree: MNode) -> str:
    """A step's operand as numpy text, parenthesized unless it is one atom or call."""
    text = to_text(tree)
    atomic = isinstance(tree, (Leaf, Call, ReduceSum)) or (
        isinstance(tree, Transpose) and isinstance(tree.arg, Leaf)
    )
    return text if atomic else f"({text})"


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _product_reason(node: Product, walk: tuple[Step, ...], printed: str) -> str:
    names = index_names(node)
    for pos, label in enumerate(node.out):
        names[label] = (
            "1" if node.ldims[label] == "1"
            else OUT_LETTERS[pos] if pos < len(OUT_LETTERS) else f"o{pos}"
        )
    if not walk:
        return f"No index joins two factors and none is summed, so it reads {printed}."
    sentences = []
    earlier: dict[MNode, str] = {}  # results of earlier steps, by how the text calls them
    group: list[Step] = []
    for step in [*walk, None]:
        if step is not None and step.rule == "elementwise":
            group.append(step)
            continue
        if group:
            sentences.append(_elementwise_sentence(group, names, earlier))
            earlier[group[-1].result[0]] = "that product"
            group = []
        if step is not None:
            sentences.append(_sentence(step, node, names, earlier))
            earlier[step.result[0]] = _called(step)
    last = to_text(walk[-1].result[0])
    if last != printed:  # placed along the output axes afterwards (keepdims, a scale)
        sentences.append(f"In the result's shape and with its scale, it reads {printed}.")
    return " ".join(s for s in sentences if s)


def _called(step: Step) -> str:
    """How a later sentence calls the result of ``step``."""
    return {"matmul": "that matrix product", "sum": "that sum", "scale": "the scaled matrix",
            "diag": "that diagonal matrix"}.get(step.rule, "that result")


def _elementwise_sentence(group: list[Step], names: dict[int, str], earlier: dict) -> str:
    """Factors over the same indices multiplying entry by entry, one sentence for them all."""
    factors: list[str] = []
    inside = {step.result[0] for step in group}
    for step in group:
        for tree, _ in step.operands:
            if tree not in inside:
                factors.append(earlier.get(tree) or _operand(tree))
    shared = "".join(names[x] for x in group[0].operands[0][1])
    swapped = any(step.transposed[1:] == (True,) for step in group)
    note = " (one with its indices swapped)" if swapped else ""
    return (
        f"{_and(factors)} carry the same indices ({shared}){note} and no index is summed "
        f"between them, so they multiply entry by entry: an elementwise product (*), not a "
        f"matrix product (@): {to_text(group[-1].result[0])}."
    )


def _sentence(step: Step, node: Product, names: dict[int, str], earlier: dict) -> str:
    idx = names.get(step.label, "?") if step.label is not None else ""
    ops = [(earlier.get(tree) or _operand(tree), labels) for tree, labels in step.operands]
    result = to_text(step.result[0])
    final = set(step.result[1]) == set(node.out) and len(step.result[1]) == len(node.out)
    if step.rule == "matmul":
        (a, la), (b, lb) = ops
        if len(lb) == 1:  # matrix @ vector
            where = _AXIS[la.index(step.label)]
            free = names[la[1 - la.index(step.label)]]
            return (
                f"The result's index {free} is the {_AXIS[1 - la.index(step.label)]} index of "
                f"{a} and the summed index {idx} its {where} index, shared with {b}, so it "
                f"reads {result}."
            )
        p, q = step.result[1]
        lead = (
            f"The result's row index {names[p]} comes from {a} and its column index "
            f"{names[q]} from {b}; " if final else ""
        )
        text = (
            f"{lead}the summed index {idx} is the {_AXIS[la.index(step.label)]} index of {a} "
            f"and the {_AXIS[lb.index(step.label)]} index of {b}, so it reads {result}."
        )
        return text[0].upper() + text[1:]
    if step.rule == "dot":
        (a, _), (b, _) = ops
        return (
            f"The summed index {idx} is the only index of {a} and of {b}: the dot product "
            f"{result}."
        )
    if step.rule == "trace":
        (a, _), (b, _) = ops
        return f"{a} and {b} close a loop over their two indices: the trace {result}."
    if step.rule == "sum":
        ((a, la),) = ops
        if not step.result[1]:
            return f"Every index of {a} is summed: {result}."
        axis = la.index(step.label)
        return (
            f"The summed index {idx} appears in {a} only (its axis {axis}) and not in the "
            f"result, so it is summed out: {result}."
        )
    if step.rule == "scale":
        (v, _), (m, lm) = ops
        side = _AXIS[lm.index(step.label)] + "s"
        return (
            f"The index {idx} is shared by {v}, a vector, and the matrix {m}, so the vector "
            f"scales the {side} of {m}: {result}."
        )
    if step.rule == "diag":
        return (
            f"The delta δ is zero unless its two indices agree, so only the diagonal "
            f"survives: a diagonal matrix, {result}."
        )
    if step.rule == "unit axis":
        ((a, _),) = ops
        return f"The size-1 axis of {a} broadcasts along the result's axis at its place."
    if step.rule == "orient":
        ((a, la),) = ops
        seen = "".join(names[x] for x in la)
        want = "".join(names[x] for x in node.out)
        return (
            f"The indices of {a} appear swapped ({a}_{seen} in the result's {want}), so the "
            f"result is its transpose, {result}."
        )
    if step.rule == "outer":
        (a, la), (b, lb) = ops
        return (
            f"No index is summed: the row index {names[la[0]]} comes only from {a} and the "
            f"column index {names[lb[0]]} only from {b}, so every pair of entries multiplies: "
            f"the outer product {result}."
        )
    if step.rule == "broadcast":
        ((a, _),) = ops
        return f"{a} does not depend on the index {idx}, so it is repeated along it: {result}."
    return ""


def _sum_reason(node: Sum, renderer: Renderer) -> str:
    """Each term of a short sum with its index form and the matrix form it reads as."""
    parts = []
    for term in node.terms[:5]:
        index = to_index(term).partition(" = ")[2]
        matrix = to_text(renderer.full(term))
        parts.append(f"{index} is {matrix}")
    if len(node.terms) > 4 or any(len(p) > 130 for p in parts):
        return (
            "Each term is read off on its own: an index shared by two of its factors and "
            "absent from the result is summed (a matrix product); the result's indices give "
            "its rows and columns."
        )
    return "Each term is read off on its own: " + "; ".join(parts) + "."


def _einsum_reason(node: Product) -> str:
    summed = list(node.summed)
    if not summed:
        return "Every factor keeps its indices: the result is their product, in index form."
    return (
        f"The summed indices join factors of more than two indices, which no matrix product "
        f"spells: it is read as an einsum ({len(summed)} summed "
        f"{'index' if len(summed) == 1 else 'indices'})."
    )
