"""The vec/Kronecker form of matrix-by-matrix (4-D) and vector-by-matrix (3-D) derivatives.

Under column-major ``vec`` (stacked columns, as in Magnus & Neudecker), the derivative
``F`` of ``Y`` with respect to a matrix ``X`` is the matrix ``J`` with
``vec(dY) = J vec(dX)``, ``J = F.reshape(len(vec(Y)), len(vec(X)), order="F")``.  A term
``A_ac B_bd`` of a 4-D ``F_abcd`` gives ``B ⊗ A``; a term of a 3-D ``F_acd = ∂y_a/∂X_cd``
gives ``v.T ⊗ A`` for ``A_ac v_d`` (``d(A @ x) = dA @ x``: ``x.T ⊗ I``) and ``A ⊗ v.T`` for
``A_ad v_c`` (``d(X @ b)``-like forms along the rows).
"""

from __future__ import annotations

from einderiv.ir.nodes import (
    Delta,
    Expr,
    Product,
    Sum,
    unwrap,
)
from einderiv.render.api import matrix_form
from einderiv.render.numbers import format_number
from einderiv.render.numpytext import to_text

# -- vec / Kronecker form -------------------------------------------------------------


def _finder(parent: list[int]):
    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    return find


def _kron_terms(expr: Expr):
    """``[(coeff, B, A, scalars)]`` with ``F_abcd = coeff * scalars * A_ac B_bd``, or None.

    For a 3-D ``F_acd`` (a vector by a matrix), ``B`` is a row vector: ``(coeff, v.T, A,
    scalars)`` for ``A_ac v_d`` and ``(coeff, A, v.T, scalars)`` for ``A_ad v_c``; the vector
    is returned as a one-label product, marked by :func:`_row`.
    """
    if len(expr.dims) == 3:
        return _kron_terms_3d(expr)
    if len(expr.dims) != 4:
        return None
    body = unwrap(expr)
    terms = body.terms if isinstance(body, Sum) else (body,)
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


def _kron_terms_3d(expr: Expr):
    body = unwrap(expr)
    terms = body.terms if isinstance(body, Sum) else (body,)
    found = []
    for term in terms:
        if not isinstance(term, Product):
            return None
        a, c, d = term.out
        parent = list(range(len(term.ldims)))
        find = _finder(parent)
        for _, labels in term.factors:
            for label in labels[1:]:
                parent[find(label)] = find(labels[0])
        if find(a) == find(c) and find(d) not in (find(a),):
            pair, single, row_right = (a, c), d, True
        elif find(a) == find(d) and find(c) != find(a):
            pair, single, row_right = (a, d), c, False
        else:
            return None
        groups: dict[str, list] = {"pair": [], "single": [], "scalar": []}
        for factor, labels in term.factors:
            root = find(labels[0]) if labels else None
            key = ("pair" if root == find(a) else "single" if root == find(single)
                   else "scalar")
            groups[key].append((factor, labels))
        if not groups["single"]:
            return None  # F does not depend on one of X's indices: no such vector
        ldims = dict(enumerate(term.ldims))
        matrix = Product.make(1.0, groups["pair"], pair, ldims)
        vector = _Row(Product.make(1.0, groups["single"], (single,), ldims))
        scalar = Product.make(1.0, groups["scalar"], (), ldims) if groups["scalar"] else None
        found.append((term.coeff, vector, matrix, scalar) if row_right
                     else (term.coeff, matrix, vector, scalar))
    return found


class _Row:
    """A vector that enters a Kronecker product as a row (``v.T``, ``v[None, :]``)."""

    def __init__(self, node: Product) -> None:
        self.node = node


def _kron_matrix_text(node, root: Expr, readable: bool) -> str:
    if isinstance(node, _Row):
        text = to_text(matrix_form(node.node, root=root))
        simple = text.isidentifier()
        if readable:
            return f"{text}.T" if simple else f"({text}).T"
        return f"{text}[None, :]" if simple else f"({text})[None, :]"
    if readable and len(node.factors) == 1 and isinstance(node.factors[0][0], Delta):
        return "I"
    return to_text(matrix_form(node, root=root))


def to_kronecker(expr: Expr, y: str = "Y", x: str = "X") -> str | None:
    """The vec/Kronecker form of a 4-D matrix-by-matrix (or 3-D vector-by-matrix) derivative.

    For ``F_abcd = ∂Y_ab/∂X_cd`` (``diff(Y, X)``) and column-major ``vec`` (stacked
    columns, as in Magnus & Neudecker), ``vec(dY) = J vec(dX)`` with
    ``J = F.reshape(p*q, r*s, order="F")``; a term ``A_ac B_bd`` gives ``J = B ⊗ A``.
    Returns None when a term does not split into such a pair.

    >>> import einderiv as ed
    >>> X, W = ed.symbols("X[p,q] W[q,r]")
    >>> to_kronecker(ed.diff(X @ W, "X"))
    'vec(dY) = (W.T ⊗ I) vec(dX)  [column-major vec]'
    >>> A, x = ed.symbols("A[n,m] x[m]")
    >>> to_kronecker(ed.diff(A @ x, "A"), y="y", x="A")
    'vec(dy) = (x.T ⊗ I) vec(dA)  [column-major vec]'
    """
    terms = _kron_terms(expr)
    if terms is None:
        return None
    parts = []
    for coeff, right, left, scalar in terms:
        text = f"{_kron_matrix_text(right, expr, True)} ⊗ {_kron_matrix_text(left, expr, True)}"
        if scalar is not None:
            text = f"{to_text(matrix_form(scalar, root=expr))} * ({text})"
        parts.append((coeff, text))
    body = ""
    for index, (coeff, text) in enumerate(parts):
        sign = "-" if coeff < 0 else "+"
        mag = abs(coeff)
        item = f"({text})" if mag == 1.0 else f"{format_number(mag)} * ({text})"
        if index == 0:
            body = item if sign == "+" else "-" + item
        else:
            body += f" {sign} {item}"
    if len(parts) > 1:
        body = f"({body})"
    return f"vec(d{y}) = {body} vec(d{x})  [column-major vec]"


def kronecker_numpy(expr: Expr) -> str | None:
    """The numpy text of the Jacobian matrix ``J`` of :func:`to_kronecker` (``np.kron``), or None.

    ``eval`` of it equals ``F.reshape(p*q, r*s, order="F")`` for the 4-D tensor ``F``
    (``F.reshape(p, r*s, order="F")`` for a 3-D one).

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
            text = f"({to_text(matrix_form(scalar, root=expr))}) * {text}"
        if coeff != 1.0:
            text = f"({format_number(coeff)}) * {text}"
        parts.append(text)
    return " + ".join(parts)
