"""Composite and structural functions: reductions, shapes, and functions built from others.

Contract: an entry with ``expand`` builds the function from other registry functions
through the injected ``ops`` (``ops.<name>`` is the builder of that registry entry) and
the expression operators, so it needs no node kind, derivative or spelling of its own:
it is differentiated, evaluated and printed as what it expands to.  An entry without
``expand`` names a structural builder of the build layer (``einderiv.build``), which
checks at import that it has one for each.

>>> from einderiv.functions import FUNCTIONS
>>> FUNCTIONS["var"].options
(('axis', None), ('keepdims', False))
"""

from __future__ import annotations

from typing import Any

from einderiv.functions.schema import Composite, Example
from einderiv.ir.nodes import Expr

_AXIS = (("axis", None), ("keepdims", False))


def _var(ops: Any, a: Expr, axis: Any, keepdims: bool) -> Expr:
    return ops.mean(ops.square(a - ops.mean(a, axis, True)), axis, keepdims)


ENTRIES: list[Composite] = [
    Composite(
        name="sum", summary="sum over axes (all by default)", arrays=("a",), options=_AXIS,
        method=True, example=Example("X[n,m]", "sum(X, axis=0)", "X.sum(axis=0)"),
    ),
    Composite(
        name="mean", summary="mean over axes (all by default)", arrays=("a",), options=_AXIS,
        method=True, example=Example("X[n,m]", "mean(X, axis=1)", "X.mean(axis=1)"),
    ),
    Composite(
        name="var", summary="variance over axes (all by default), ddof 0", arrays=("a",),
        options=_AXIS, method=True, expand=_var,
        example=Example(
            "x[n]", "var(x)", "((x - x.mean())**2).mean()"
        ),
    ),
    Composite(
        name="std", summary="standard deviation over axes (all by default), ddof 0",
        arrays=("a",), options=_AXIS, method=True,
        expand=lambda ops, a, axis, keepdims: ops.sqrt(ops.var(a, axis, keepdims)),
        example=Example(
            "x[n]", "std(x)", "np.sqrt(((x - x.mean())**2).mean())"
        ),
    ),
    Composite(
        name="norm", summary="2-norm over axes (Frobenius for a matrix), as np.linalg.norm",
        options=_AXIS,
        expand=lambda ops, x, axis, keepdims: ops.sqrt(ops.sum(x * x, axis, keepdims)),
        example=Example("x[n]", "norm(x)", "np.linalg.norm(x)"),
    ),
    Composite(
        name="square", summary="x ** 2", expand=lambda ops, x: x**2,
        example=Example("x[n]", "square(x)", "x**2"),
    ),
    Composite(
        name="softmax", summary="exp(x) / sum(exp(x)) over axis (last by default), stable",
        options=(("axis", -1),),
        example=Example(
            "z[n]", "softmax(z)", "np.exp(z - z.max()) / np.exp(z - z.max()).sum()"
        ),
    ),
    Composite(
        name="log_softmax", summary="x - logsumexp(x) over axis (last by default)",
        options=(("axis", -1),),
        expand=lambda ops, x, axis: ops.log(ops.softmax(x, axis)),
        example=Example(
            "z[n]", "log_softmax(z)", "z - (np.log(np.exp(z - z.max()).sum()) + z.max())"
        ),
    ),
    Composite(
        name="logsumexp", summary="log(sum(exp(x))) over axes (all by default, as jax), stable",
        arrays=("a",), options=_AXIS,
        example=Example(
            "z[n]", "logsumexp(z)", "np.log(np.exp(z - z.max()).sum()) + z.max()"
        ),
    ),
    Composite(
        name="trace", summary="trace of a square matrix", arrays=("a",),
        example=Example("A[n,n]", "trace(A)", "np.trace(A)"),
    ),
    Composite(
        name="diag", summary="a vector as a diagonal matrix, or a square matrix's diagonal",
        arrays=("v",), example=Example("v[n]", "diag(v)", "np.diag(v)"),
    ),
    Composite(
        name="outer", summary="outer product of two vectors", arrays=("a", "b"),
        example=Example("a[n] b[m]", "outer(a, b)", "np.outer(a, b)"),
    ),
    Composite(
        name="transpose", summary="permute axes (reverse them by default)", arrays=("a",),
        options=(("axes", None),), method=True,
        example=Example("X[n,m]", "transpose(X)", "X.T"),
    ),
    Composite(
        name="matmul", summary="matrix product, as @", arrays=("a", "b"),
        example=Example("A[n,m] x[m]", "matmul(A, x)", "A @ x"),
    ),
    Composite(
        name="dot", summary="as @ for 1-D and 2-D operands", arrays=("a", "b"),
        example=Example("a[n] b[n]", "dot(a, b)", "a @ b"),
    ),
]
