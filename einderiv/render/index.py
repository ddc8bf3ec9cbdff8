"""Index and einsum forms: the always-available renderings of any expression.

Contract: :func:`to_einsum` returns one numpy expression (``np.einsum`` for every
product) that ``eval(s, {"np": numpy, **values})`` turns into the same array as
``evaluate``; it exists for every expression, so it is the fallback when no matrix
form exists.  :func:`to_index` writes index notation with Kronecker deltas and summed
indices (``F_abcd = δ_ac W_db``): output indices are ``a, b, c, …`` in order, summed
ones ``i, j, k, …``.

>>> import einderiv as ed
>>> X, W = ed.symbols("X[p,q] W[q,r]")
>>> ed.diff(X @ W, "X").to_index()
'F_abcd = δ_ac W_db'
"""

from __future__ import annotations

from einderiv.ir.nodes import (
    Delta,
    Expr,
    Product,
    Size,
    Sum,
    Symbol,
    unwrap,
)
from einderiv.ir.traversal import topological
from einderiv.render.api import to_latex, to_numpy
from einderiv.render.einsum_form import to_einsum
from einderiv.render.latex import indexed, latex_name
from einderiv.render.letters import OUT_LETTERS, index_names
from einderiv.render.numbers import number_latex, number_plain


def _factor_name(node: Expr, latex: bool = False) -> str:
    if isinstance(node, Symbol):
        return latex_name(node.name) if latex else node.name
    if isinstance(node, Delta):
        return "\\delta" if latex else "δ"
    if isinstance(node, Size):
        return node.dim
    if latex:
        try:
            return "\\left(" + to_latex(node) + "\\right)"
        except Exception:  # pragma: no cover - rendering never blocks the index form
            pass
    return "(" + short_repr(node) + ")"


def _display_order(node: Product, factors):
    """Factors in reading order.

    Deltas first (as written by hand: δ_ac W_db), then by the first output index a
    factor carries, so that a chain reads from the row index to the column index.
    """
    position = {label: pos for pos, label in enumerate(node.out)}

    def key(item):
        index, (factor, labels) = item
        first = min((position[x] for x in labels if x in position), default=len(position))
        return (not isinstance(factor, Delta), first, index)

    return [pair for _, pair in sorted(enumerate(factors), key=key)]


def _index_term(node: Expr, out_names: list[str], latex: bool = False) -> str:
    """One term in index form with its output indices named ``out_names``."""
    def sub(text: str) -> str:
        if not text:
            return ""
        return f"_{{{text}}}" if latex else f"_{text}"

    if not isinstance(node, Product):
        if latex and isinstance(node, Symbol):
            return indexed(node.name, "".join(out_names))
        return _factor_name(node, latex) + sub("".join(out_names))
    names = index_names(node)
    for pos, label in enumerate(node.out):
        names[label] = out_names[pos]
    summed = [names[x] for x in node.summed if names[x] != "1"]
    parts = []
    for factor, labels in _display_order(node, node.factors):
        text = "".join(names[x] for x in labels)
        if isinstance(factor, Delta):
            text = "".join(sorted(text))
        if latex and isinstance(factor, Symbol):  # the matrix form's spelling: h_{1,c}
            parts.append(indexed(factor.name, text))
        else:
            parts.append(_factor_name(factor, latex) + sub(text))
    body = " ".join(parts) if parts else ""
    if summed:
        prefix = (f"\\sum_{{{''.join(summed)}}} " if latex else f"Σ_{''.join(summed)} ")
    else:
        prefix = ""
    coeff = node.coeff
    number = number_latex if latex else number_plain
    if not body:
        return number(coeff)
    if coeff == 1.0:
        return prefix + body
    if coeff == -1.0:
        return "-" + prefix + body
    scale = number_latex(coeff) if latex else number_plain(coeff, factor=True)
    return f"{scale} {prefix}{body}"


def to_index(expr: Expr, *, latex: bool = False, name: str = "F") -> str:
    r"""Index notation: ``F_<output indices> = <terms>`` with deltas and ``Σ`` sums.

    ``latex=True`` writes the same in LaTeX (``\delta_{ac}``, ``\sum_{i}``); ``name``
    names the tensor on the left.
    """
    expr = unwrap(expr)
    out_names = [  # a size-1 axis has the single index 1: dba_a1 = Σ_i dz_ai
        "1" if dim == "1" else OUT_LETTERS[i] if i < len(OUT_LETTERS) else f"o{i}"
        for i, dim in enumerate(expr.dims)
    ]
    joined = "".join(out_names)
    if latex:
        lhs = indexed(name, joined)
    else:
        lhs = name + (f"_{joined}" if joined else "")
    if isinstance(expr, Sum):
        if not expr.terms:
            return f"{lhs} = 0"
        body = ""
        for index, term in enumerate(expr.terms):
            text = _index_term(term, out_names, latex)
            if index == 0:
                body = text
            elif text.startswith("-"):
                body += " - " + text[1:]
            else:
                body += " + " + text
        return f"{lhs} = {body}"
    return f"{lhs} = {_index_term(expr, out_names, latex)}"


_REPR_LIMIT = 4000


def _tree_size(expr: Expr) -> int:
    """Number of nodes of ``expr`` written out as a tree (shared nodes counted per use)."""
    size: dict[str, int] = {}
    for node in topological(expr):
        size[node.key] = min(1 + sum(size[c.key] for c in node.children), 10**9)
    return size[unwrap(expr).key]


def short_repr(expr: Expr) -> str:
    """A compact one-line description used by ``repr`` (matrix form when it is short)."""
    if _tree_size(expr) > _REPR_LIMIT:
        return f"<{unwrap(expr).kind} dims={list(expr.dims)}, use einderiv.codegen for its code>"
    try:
        return to_numpy(expr)
    except Exception:
        try:
            return to_einsum(expr)
        except Exception:
            return f"<{expr.kind} dims={list(expr.dims)}>"
