r"""Rendering: expressions back into matrix form (numpy, LaTeX), index and einsum forms.

Contract: :func:`to_numpy` returns ONE numpy expression that uses only the declared
symbol names, numbers, ``np.`` functions, ``@``, ``.T`` and array methods, and that
``eval(s, {"np": numpy, **values})`` turns into the same array as ``evaluate``.
:func:`to_latex` writes the same matrix form in LaTeX.  Both read one small matrix
syntax tree (:class:`MNode`) built by :func:`matrix_form`; rendering never raises for a
valid expression: a product with no matrix form (rank >= 3, factors with more than two
indices) falls back to ``np.einsum`` for that product only (index form in LaTeX).

A product's tensor network is read as a graph: labels are nodes, factors of rank <= 2
are edges (vectors are end caps).  Reading rules, applied until none fits:

* two factors over the same labels -> Hadamard ``A * B`` (a dot ``a @ b`` for vectors);
* a summed label that one factor carries -> ``.sum(axis=...)`` (``np.trace`` for a loop);
* a summed label that two factors carry -> a ``@`` chain, transposes from the direction
  of travel, oriented to the output order;
* a label used three times -> diagonal scaling by broadcasting (``s[:, None] * X``);
* a free label pair with no chain -> ``np.outer``; a broadcast label -> ``np.ones``.

Output is deterministic: the same input always renders the same string.

>>> import einderiv as ed
>>> W, x = ed.symbols("W[n,m] x[m]")
>>> ed.vjp(W @ x, "x", "g").to_numpy()
'W.T @ g'
>>> ed.vjp(W @ x, "x", "g").to_latex()
'W^\\top g'
"""

from __future__ import annotations

from typing import Any

from einderiv.errors import EinderivError
from einderiv.ir.nodes import Expr
from einderiv.render.api import matrix_form, network, to_latex, to_numpy
from einderiv.render.einsum_form import to_einsum
from einderiv.render.index import short_repr, to_index
from einderiv.render.kronecker import kronecker_numpy, to_kronecker
from einderiv.render.program import to_latex_where, to_program
from einderiv.render.tree import MNode


def _to_numpy(self: Expr) -> str:
    """One numpy expression in matrix form (see :mod:`einderiv.render`)."""
    return to_numpy(self)


def _to_latex(self: Expr, where: bool = False, name: str | None = None) -> str:
    r"""LaTeX of the matrix form (or index form for higher-rank tensors).

    ``where=True`` writes the readable form: the result (called ``name``, as
    :meth:`to_program` calls it), then ``where`` and its named parts (``s = \\sigma(X w)``),
    as :meth:`to_program` names them.  ``name`` needs ``where=True``.
    """
    if name is not None and not where:
        raise EinderivError("to_latex(name=...) names the result of the where-form: "
                            "pass where=True as well")
    return to_latex_where(self, name) if where else to_latex(self)


def _to_program(self: Expr, name: str | None = None) -> str:
    """The readable form: numpy lines with named intermediates (see :mod:`einderiv.render.program`).

    >>> import einderiv as ed
    >>> W, x = ed.symbols("W[n,m] x[m]")
    >>> print(ed.vjp(W @ x, "x", "g").to_program())
    dx = W.T @ g
    """
    return to_program(self, name)


def _to_index(self: Expr) -> str:
    """Index notation with Kronecker deltas, e.g. ``F_abcd = δ_ac W_db``."""
    return to_index(self)


def _to_einsum(self: Expr) -> str:
    """A numpy expression that uses ``np.einsum`` for every product (always exists)."""
    return to_einsum(self)


def _to_kronecker(self: Expr, y: str = "Y", x: str = "X") -> str | None:
    """Vec/Kronecker form of a 4-D matrix-by-matrix derivative (column-major vec), or None.

    >>> import einderiv as ed
    >>> X, W = ed.symbols("X[p,q] W[q,r]")
    >>> ed.diff(X @ W, X).to_kronecker()
    'vec(dY) = (W.T ⊗ I) vec(dX)  [column-major vec]'
    """
    return to_kronecker(self, y=y, x=x)


#: a plain LaTeX form longer than this displays in the where-form (named parts) instead
DISPLAY_WHERE_AFTER = 100


def _repr_latex_(self: Expr) -> str:
    """Jupyter's display: the matrix form, or the where-form when the plain one is long."""
    try:
        plain = to_latex(self)
        if len(plain) > DISPLAY_WHERE_AFTER:
            where = to_latex_where(self)
            if len(where) < len(plain) or "where" in where:
                return "$$" + where + "$$"
        return "$" + plain + "$"
    except Exception:  # pragma: no cover - display must never raise
        return "$" + short_repr(self) + "$"


def install() -> None:
    """Give :class:`~einderiv.ir.Expr` its printing methods (idempotent)."""
    methods: dict[str, Any] = {
        "to_numpy": _to_numpy,
        "to_latex": _to_latex,
        "to_program": _to_program,
        "to_index": _to_index,
        "to_einsum": _to_einsum,
        "to_kronecker": _to_kronecker,
        "__repr__": short_repr,
        "_repr_latex_": _repr_latex_,
    }
    for name, method in methods.items():
        setattr(Expr, name, method)


install()

__all__ = [
    "MNode", "kronecker_numpy", "matrix_form", "network", "short_repr", "to_einsum", "to_index",
    "to_kronecker", "to_latex", "to_latex_where", "to_numpy", "to_program",
]
