"""Structural matrix builders: trace, diag, outer and dot.

inv, det, logdet and solve are registry entries, built in :mod:`einderiv.build.registry`.
"""

from __future__ import annotations

from typing import Any

from einderiv.build.arithmetic import matmul
from einderiv.build.symbols import as_expr
from einderiv.errors import ShapeError
from einderiv.ir.nodes import Delta, Expr
from einderiv.rewrite.terms import make_product


def trace(a: Any) -> Expr:
    """Trace of a square matrix."""
    e = as_expr(a, "trace operand")
    _require_square(e, "trace")
    return make_product(1.0, [(e, (0, 0))], (), {0: e.dims[0]})


def diag(v: Any) -> Expr:
    """``np.diag``: a vector becomes a diagonal matrix; a square matrix gives its diagonal."""
    e = as_expr(v, "diag operand")
    if len(e.dims) == 1:
        d = e.dims[0]
        return make_product(1.0, [(e, (0,)), (Delta.make(d), (0, 1))], (0, 1), {0: d, 1: d})
    _require_square(e, "diag")
    return make_product(1.0, [(e, (0, 0))], (0,), {0: e.dims[0]})


def outer(a: Any, b: Any) -> Expr:
    """Outer product of two vectors."""
    a, b = as_expr(a, "outer operand"), as_expr(b, "outer operand")
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


def dot(a: Any, b: Any) -> Expr:
    """``np.dot`` for 1-D and 2-D operands (as ``@``); stacked arrays need ``@`` or einsum.

    >>> import einderiv as ed
    >>> u, v = ed.symbols("u[n] v[n]")
    >>> ed.dot(u, v) == u @ v
    True
    """
    left, right = as_expr(a, "dot operand"), as_expr(b, "dot operand")
    if len(left.dims) > 2 or len(right.dims) > 2:
        raise ShapeError(
            f"dot of operands with dims {list(left.dims)} and {list(right.dims)}: only 1-D and "
            "2-D operands are supported; use '@' or einsum for stacked arrays"
        )
    return matmul(left, right)
