r"""Matrix functions: ``inv``, ``det``, ``logdet`` and ``solve``, one entry each.

Contract: ``array(xp, *args, param)`` evaluates with ``xp``'s linear algebra
(``xp.linalg``) and keeps the arguments' dtype; a namespace without the operation is an
:class:`~einderiv.errors.EvaluationError` naming both.  ``check`` raises a
:class:`~einderiv.errors.ShapeError` for arguments of the wrong shape.  The index rules
(``∂inv(X) = -inv(X) ∂X inv(X)``, ``∂solve(A, B) = solve(A, ∂B - ∂A solve(A, B))``) are
the derivative modes' (:mod:`einderiv.derive`).

``solve(A, B)`` is ``A⁻¹ B`` computed without an inverse.  Users pass a vector or a
matrix ``B``; derivatives make ``B`` of higher rank, solved along its first axis (the
other axes are columns), which the evaluators and printers support.

The LaTeX of ``inv`` and ``solve`` is written by the printer as a chain (``A^{-1} B``,
``A^{-\top}`` for a transpose), following the templates here.

>>> import numpy as np
>>> from einderiv.functions import FUNCTIONS
>>> FUNCTIONS["solve"].array(np, np.diag([2.0, 4.0]), np.ones(2), None)
array([0.5 , 0.25])
"""

from __future__ import annotations

from typing import Any

from einderiv.errors import EvaluationError, ShapeError
from einderiv.functions.schema import Example, Matrix, namespace
from einderiv.ir.nodes import Expr


def _linalg(xp: Any, operation: str) -> Any:
    """``xp.linalg.<operation>``, or an error naming the namespace and the operation."""
    found = getattr(getattr(xp, "linalg", None), operation, None)
    if found is None:
        raise EvaluationError(
            f"the array namespace '{namespace(xp)}' has no linalg.{operation}; evaluate this "
            "expression with backend='numpy'"
        )
    return found


def _inv(xp: Any, x: Any, _p: Any = None) -> Any:
    return _linalg(xp, "inv")(x)


def _det(xp: Any, x: Any, _p: Any = None) -> Any:
    return _linalg(xp, "det")(x)


def _logdet(xp: Any, x: Any, _p: Any = None) -> Any:
    sign, logabs = _linalg(xp, "slogdet")(x)
    return logabs + 0.0 * sign


def _solve(xp: Any, a: Any, b: Any, _p: Any = None) -> Any:
    """``A⁻¹ B`` along ``B``'s first axis, for ``B`` of any rank >= 1 (one solve call)."""
    shape = tuple(b.shape)
    if len(shape) == 2:
        return _linalg(xp, "solve")(a, b)
    columns = b.reshape(shape[0], -1)
    return _linalg(xp, "solve")(a, columns).reshape(shape)


def _square(name: str):
    def check(x: Expr) -> None:
        if len(x.dims) != 2 or x.dims[0] != x.dims[1]:
            raise ShapeError(
                f"{name} needs a square matrix (dims like ['n', 'n']), got dims {list(x.dims)}"
            )

    return check


def _check_solve(a: Expr, b: Expr) -> None:
    _square("solve")(a)
    if len(b.dims) not in (1, 2):
        raise ShapeError(
            f"solve(A, B) needs B to be a vector or a matrix, got dims {list(b.dims)}; "
            "use einsum to solve along other axes"
        )
    if b.dims[0] != a.dims[1]:
        raise ShapeError(
            f"solve(A, B): A has dims {list(a.dims)} but B's first axis is dim "
            f"'{b.dims[0]}' (dims {list(b.dims)}); they must agree"
        )


ENTRIES: list[Matrix] = [
    Matrix(
        name="inv", summary="matrix inverse", arrays=("a",), array=_inv, check=_square("inv"),
        numpy="np.linalg.inv({0})", latex="#1^{-1}",
        example=Example("A[n,n]", "inv(A)", "np.linalg.inv(A)"),
    ),
    Matrix(
        name="det", summary="determinant", arrays=("a",), array=_det, check=_square("det"),
        numpy="np.linalg.det({0})", latex=r"\det",
        example=Example("A[n,n]", "det(A)", "np.linalg.det(A)"),
    ),
    Matrix(
        name="logdet", summary="log |det|, as the log of slogdet", arrays=("a",),
        array=_logdet, check=_square("logdet"), numpy="np.linalg.slogdet({0})[1]",
        latex=r"\log\det", example=Example("A[n,n]", "logdet(A)", "np.linalg.slogdet(A)[1]"),
    ),
    Matrix(
        name="solve", summary="A⁻¹ B without an inverse (B a vector or a matrix)",
        arrays=("a", "b"), array=_solve, check=_check_solve, numpy="np.linalg.solve({0}, {1})",
        latex="#1^{-1} #2",
        example=Example("A[n,n] B[n,k]", "solve(A, B)", "np.linalg.solve(A, B)"),
    ),
]
