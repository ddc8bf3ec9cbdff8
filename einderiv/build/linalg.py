"""Matrix functions: trace, diag, outer, inv, det, logdet."""

from __future__ import annotations

from typing import Any

from einderiv.build.symbols import as_expr
from einderiv.errors import ShapeError
from einderiv.ir.nodes import Delta, Expr
from einderiv.rewrite.matrix import make_matfunc
from einderiv.rewrite.terms import make_product


def trace(expr: Any) -> Expr:
    """Trace of a square matrix."""
    e = as_expr(expr, "trace operand")
    _require_square(e, "trace")
    return make_product(1.0, [(e, (0, 0))], (), {0: e.dims[0]})


def diag(expr: Any) -> Expr:
    """``np.diag``: a vector becomes a diagonal matrix; a square matrix gives its diagonal."""
    e = as_expr(expr, "diag operand")
    if len(e.dims) == 1:
        d = e.dims[0]
        return make_product(1.0, [(e, (0,)), (Delta.make(d), (0, 1))], (0, 1), {0: d, 1: d})
    _require_square(e, "diag")
    return make_product(1.0, [(e, (0, 0))], (0,), {0: e.dims[0]})


def outer(left: Any, right: Any) -> Expr:
    """Outer product of two vectors."""
    a, b = as_expr(left, "outer operand"), as_expr(right, "outer operand")
    if len(a.dims) != 1 or len(b.dims) != 1:
        raise ShapeError(
            f"outer needs two vectors, got dims {list(a.dims)} and {list(b.dims)}"
        )
    return make_product(1.0, [(a, (0,)), (b, (1,))], (0, 1), {0: a.dims[0], 1: b.dims[0]})


def _require_square(e: Expr, what: str) -> None:
    if len(e.dims) != 2 or e.dims[0] != e.dims[1]:
        raise ShapeError(
            f"{what} needs a square matrix (dims like ['n', 'n']), got dims {list(e.dims)}"
        )


def inv(expr: Any) -> Expr:
    """Matrix inverse."""
    e = as_expr(expr, "inv operand")
    _require_square(e, "inv")
    return make_matfunc("inv", e)


def det(expr: Any) -> Expr:
    """Determinant."""
    e = as_expr(expr, "det operand")
    _require_square(e, "det")
    return make_matfunc("det", e)


def logdet(expr: Any) -> Expr:
    """``log(det(X))`` (of the absolute value for a negative determinant, as slogdet)."""
    e = as_expr(expr, "logdet operand")
    _require_square(e, "logdet")
    return make_matfunc("logdet", e)
