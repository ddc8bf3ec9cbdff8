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

from .functions import FUNCTIONS
from .ir import (
    Delta,
    Expr,
    Func,
    LogSumExp,
    MatFunc,
    Product,
    Size,
    Sum,
    Symbol,
    size_owners,
    topological,
)

OUT_LETTERS = "abcdefgh"
SUM_LETTERS = "ijklpqrstuvwxyz"
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _fmt_coeff(c: float) -> str:
    if c == int(c) and abs(c) < 1e15:
        return str(int(c))
    return repr(c)


# -- einsum form ----------------------------------------------------------------------


class _SizeSource:
    """Finds a numpy spelling for the size of a dim (``W.shape[0]``)."""

    def __init__(self, root: Expr) -> None:
        self.root = root
        self.where: dict[str, str] = {}
        for node in topological(root):
            if isinstance(node, Symbol):
                for axis, dim in enumerate(node.dims):
                    self.where.setdefault(dim, f"{node.name}.shape[{axis}]")

    def __call__(self, dim: str) -> str:
        if dim == "1":
            return "1"
        owners = size_owners(self.root, dim) if dim not in self.where else []
        if owners:
            name, axis, _ = owners[0]
            self.where[dim] = f"{name}.shape[{axis}]"
        if dim not in self.where:
            from .errors import EinderivError

            raise EinderivError(
                f"cannot write the size of dim '{dim}' in numpy: no symbol in the expression has it"
            )
        return self.where[dim]


def to_einsum(expr: Expr) -> str:
    """One numpy expression for ``expr`` with ``np.einsum`` for every product."""
    return _einsum(expr, _SizeSource(expr), {})


def _einsum(node: Expr, size, memo: dict[str, str]) -> str:
    if node.key in memo:
        return memo[node.key]
    text = _einsum_node(node, size, memo)
    memo[node.key] = text
    return text


def numpy_function(name: str, arg: str, param: float | None = None) -> str:
    """The numpy spelling of an elementwise function applied to ``arg`` (a numpy expression)."""
    if name == "pow":
        assert param is not None
        if param == -1.0:
            return f"(1 / {arg})"
        if param == 0.5:
            return f"np.sqrt({arg})"
        return f"{arg}**{_fmt_coeff(param)}" if param >= 0 else f"{arg}**({_fmt_coeff(param)})"
    if name == "sigmoid":
        return f"(1 / (1 + np.exp(-{arg})))"
    if name == "relu":
        return f"np.maximum({arg}, 0)"
    if name == "step":
        return f"np.heaviside({arg}, 0.0)"
    if name == "softplus":
        return f"np.logaddexp(0, {arg})"
    return f"{FUNCTIONS[name].numpy}({arg})"


def numpy_logsumexp(arg: str, axes: tuple[int, ...], rank: int) -> str:
    """Stable numpy spelling of ``logsumexp(arg, axes)``."""
    ax = f"axis={axes[0]}" if len(axes) == 1 else f"axis={axes}"
    if len(axes) == rank:
        return f"(np.log(np.exp({arg} - {arg}.max()).sum()) + {arg}.max())"
    return (
        f"(np.log(np.exp({arg} - {arg}.max({ax}, keepdims=True)).sum({ax})) + {arg}.max({ax}))"
    )


def _einsum_node(node: Expr, size, memo) -> str:
    if isinstance(node, Symbol):
        return node.name
    if isinstance(node, Size):
        return f"float({size(node.dim)})"
    if isinstance(node, Delta):
        return f"np.eye({size(node.dim)})"
    if isinstance(node, Func):
        arg = _einsum(node.arg, size, memo)
        return numpy_function(node.name, f"({arg})" if node.name == "pow" else arg, node.param)
    if isinstance(node, MatFunc):
        arg = _einsum(node.arg, size, memo)
        if node.name == "inv":
            return f"np.linalg.inv({arg})"
        if node.name == "det":
            return f"np.linalg.det({arg})"
        return f"np.linalg.slogdet({arg})[1]"
    if isinstance(node, LogSumExp):
        arg = _einsum(node.arg, size, memo)
        return numpy_logsumexp(f"({arg})", node.axes, len(node.arg.dims))
    if isinstance(node, Sum):
        if not node.terms:
            shape = ", ".join(size(d) for d in node.dims)
            return f"np.zeros(({shape}{',' if len(node.dims) == 1 else ''}))"
        return "(" + " + ".join(_einsum(t, size, memo) for t in node.terms) + ")"
    if isinstance(node, Product):
        return _einsum_product(node, size, memo)
    raise AssertionError(node.kind)  # pragma: no cover


def _einsum_product(node: Product, size, memo) -> str:
    operands: list[str] = []
    subs: list[str] = []
    scale = [] if node.coeff == 1.0 else [f"({_fmt_coeff(node.coeff)})"]
    for factor, labels in node.factors:
        if isinstance(factor, Size):
            scale.append(f"float({size(factor.dim)})")
            continue
        if not labels:
            scale.append(f"({_einsum(factor, size, memo)})")
            continue
        operands.append(_einsum(factor, size, memo))
        subs.append("".join(_LETTERS[x] for x in labels))
    present = {x for _, ls in node.factors for x in ls}
    for label in node.out:
        if label not in present:  # broadcast: multiply by ones along the label
            operands.append(f"np.ones({size(node.ldims[label])})")
            subs.append(_LETTERS[label])
    if operands:
        spec = ",".join(subs) + "->" + "".join(_LETTERS[x] for x in node.out)
        body = f"np.einsum('{spec}', {', '.join(operands)})"
        if scale:
            return "(" + " * ".join([*scale, body]) + ")"
        return body
    return "(" + " * ".join(scale or ["1"]) + ")"


# -- index form -----------------------------------------------------------------------


def _index_names(node: Product) -> dict[int, str]:
    names: dict[int, str] = {}
    for pos, label in enumerate(node.out):
        names[label] = OUT_LETTERS[pos] if pos < len(OUT_LETTERS) else f"o{pos}"
    k = 0
    for _, labels in node.factors:
        for label in labels:
            if label not in names:
                if node.ldims[label] == "1":  # a size-1 axis: its only index is 1
                    names[label] = "1"
                    continue
                names[label] = SUM_LETTERS[k] if k < len(SUM_LETTERS) else f"s{k}"
                k += 1
    return names


def _factor_name(node: Expr, latex: bool = False) -> str:
    if isinstance(node, Symbol):
        return node.name.replace("_", "\\_") if latex else node.name
    if isinstance(node, Delta):
        return "\\delta" if latex else "δ"
    if isinstance(node, Size):
        return node.dim
    if latex:
        try:
            from .render import to_latex

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
        return _factor_name(node, latex) + sub("".join(out_names))
    names = _index_names(node)
    for pos, label in enumerate(node.out):
        names[label] = out_names[pos]
    summed = [names[x] for x in node.summed if names[x] != "1"]
    parts = []
    for factor, labels in _display_order(node, node.factors):
        text = "".join(names[x] for x in labels)
        if isinstance(factor, Delta):
            text = "".join(sorted(text))
        parts.append(_factor_name(factor, latex) + sub(text))
    body = " ".join(parts) if parts else ""
    if summed:
        prefix = (f"\\sum_{{{''.join(summed)}}} " if latex else f"Σ_{''.join(summed)} ")
    else:
        prefix = ""
    coeff = node.coeff
    if not body:
        return _fmt_coeff(coeff)
    if coeff == 1.0:
        return prefix + body
    if coeff == -1.0:
        return "-" + prefix + body
    return f"{_fmt_coeff(coeff)} {prefix}{body}"


def to_index(expr: Expr, *, latex: bool = False, name: str = "F") -> str:
    r"""Index notation: ``F_<output indices> = <terms>`` with deltas and ``Σ`` sums.

    ``latex=True`` writes the same in LaTeX (``\delta_{ac}``, ``\sum_{i}``); ``name``
    names the tensor on the left.
    """
    out_names = [OUT_LETTERS[i] if i < len(OUT_LETTERS) else f"o{i}" for i in range(len(expr.dims))]
    joined = "".join(out_names)
    if latex:
        lhs = name.replace("_", "\\_") + (f"_{{{joined}}}" if joined else "")
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
    return size[expr.key]


def short_repr(expr: Expr) -> str:
    """A compact one-line description used by ``repr`` (matrix form when it is short)."""
    if _tree_size(expr) > _REPR_LIMIT:
        return f"<{expr.kind} dims={list(expr.dims)}, use einderiv.codegen for its code>"
    try:
        from .render import to_numpy

        return to_numpy(expr)
    except Exception:
        try:
            return to_einsum(expr)
        except Exception:
            return f"<{expr.kind} dims={list(expr.dims)}>"


# -- vec / Kronecker form -------------------------------------------------------------


def _finder(parent: list[int]):
    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    return find


def _kron_terms(expr: Expr):
    """``[(coeff, B, A, scalars)]`` with ``F_abcd = coeff * scalars * A_ac B_bd``, or None."""
    if len(expr.dims) != 4:
        return None
    terms = expr.terms if isinstance(expr, Sum) else (expr,)
    found = []
    for term in terms:
        if not isinstance(term, Product):
            return None
        a, b, c, d = term.out
        parent = list(range(len(term.ldims)))
        find = _finder(parent)
        for _, labels in term.factors:
            for label in labels[1:]:
                parent[find(label)] = find(labels[0])
        if find(a) != find(c) or find(b) != find(d) or find(a) == find(b):
            return None
        groups: dict[str, list] = {"ac": [], "bd": [], "scalar": []}
        for factor, labels in term.factors:
            root = find(labels[0]) if labels else None
            key = "ac" if root == find(a) else "bd" if root == find(b) else "scalar"
            groups[key].append((factor, labels))
        ldims = dict(enumerate(term.ldims))
        left = Product.make(1.0, groups["ac"], (a, c), ldims)
        right = Product.make(1.0, groups["bd"], (b, d), ldims)
        scalar = Product.make(1.0, groups["scalar"], (), ldims) if groups["scalar"] else None
        found.append((term.coeff, right, left, scalar))
    return found


def _kron_matrix_text(node: Product, root: Expr, readable: bool) -> str:
    from .render import matrix_form, to_text

    if readable and len(node.factors) == 1 and isinstance(node.factors[0][0], Delta):
        return "I"
    return to_text(matrix_form(node, root=root))


def to_kronecker(expr: Expr, y: str = "Y", x: str = "X") -> str | None:
    """The vec/Kronecker form of a 4-D matrix-by-matrix derivative, or None.

    For ``F_abcd = ∂Y_ab/∂X_cd`` (``diff(Y, X)``) and column-major ``vec`` (stacked
    columns, as in Magnus & Neudecker), ``vec(dY) = J vec(dX)`` with
    ``J = F.reshape(p*q, r*s, order="F")``; a term ``A_ac B_bd`` gives ``J = B ⊗ A``.
    Returns None when a term does not split into such a pair.

    >>> import einderiv as ed
    >>> X, W = ed.symbols("X[p,q] W[q,r]")
    >>> to_kronecker(ed.diff(X @ W, "X"))
    'vec(dY) = (W.T ⊗ I) vec(dX)  [column-major vec]'
    """
    terms = _kron_terms(expr)
    if terms is None:
        return None
    parts = []
    for coeff, right, left, scalar in terms:
        text = f"{_kron_matrix_text(right, expr, True)} ⊗ {_kron_matrix_text(left, expr, True)}"
        if scalar is not None:
            from .render import matrix_form, to_text

            text = f"{to_text(matrix_form(scalar, root=expr))} * ({text})"
        parts.append((coeff, text))
    body = ""
    for index, (coeff, text) in enumerate(parts):
        sign = "-" if coeff < 0 else "+"
        mag = abs(coeff)
        item = f"({text})" if mag == 1.0 else f"{_fmt_coeff(mag)} * ({text})"
        if index == 0:
            body = item if sign == "+" else "-" + item
        else:
            body += f" {sign} {item}"
    if len(parts) > 1:
        body = f"({body})"
    return f"vec(d{y}) = {body} vec(d{x})  [column-major vec]"


def kronecker_numpy(expr: Expr) -> str | None:
    """The numpy text of the Jacobian matrix ``J`` of :func:`to_kronecker` (``np.kron``), or None.

    ``eval`` of it equals ``F.reshape(p*q, r*s, order="F")`` for the 4-D tensor ``F``.

    >>> import einderiv as ed
    >>> X, W = ed.symbols("X[p,q] W[q,r]")
    >>> kronecker_numpy(ed.diff(X @ W, "X"))
    'np.kron(W.T, np.eye(X.shape[0]))'
    """
    terms = _kron_terms(expr)
    if terms is None:
        return None
    parts = []
    for coeff, right, left, scalar in terms:
        text = f"np.kron({_kron_matrix_text(right, expr, False)}, "
        text += f"{_kron_matrix_text(left, expr, False)})"
        if scalar is not None:
            from .render import matrix_form, to_text

            text = f"({to_text(matrix_form(scalar, root=expr))}) * {text}"
        if coeff != 1.0:
            text = f"({_fmt_coeff(coeff)}) * {text}"
        parts.append(text)
    return " + ".join(parts)
