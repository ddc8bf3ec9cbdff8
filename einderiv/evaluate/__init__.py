"""Evaluation: generated straight-line code per signature, over one reference interpreter.

:func:`compile` plans an expression once; a call generates (once per signature of shapes and
dtypes) a straight-line function with the contraction paths frozen into BLAS calls,
in-place elementwise updates and the value checks done once, and runs it;
:meth:`Expr.evaluate <einderiv.ir.Expr.evaluate>` (installed here) evaluates once.  Both
take ``backend=`` -- ``numpy`` (default), ``jax``, ``torch``, ``cupy`` or ``dask`` -- and
return that library's arrays in the inputs' dtype and on their device.  Modules: ``plan``
(a product as an einsum plus delta placement), ``steps`` (a product at fixed shapes, for the
interpreter), ``subscripts`` (an einsum step in a-zA-Z), ``ops`` (the table type),
``numpy_ops``/``jax_ops``/``torch_ops``/``cupy_ops``/``dask_ops`` (one table each),
``backends`` (the table by name), ``binding`` (the value checks), ``calls`` (matrix
functions), ``compiled`` (the interpreter and the entry), ``structure`` (proven signs),
``kernels`` (numpy's in-place ufuncs), ``emitter``/``products``/``lowering`` (generating a
body), ``generated`` (the per-signature cache), ``api``.

>>> import numpy as np, einderiv as ed
>>> W, x = ed.symbols("W[n,m] x[m]")
>>> (W @ x).evaluate({"W": np.eye(2, 3), "x": np.arange(3.0)})
array([0., 1.])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from einderiv.errors import EvaluationError
from einderiv.evaluate.api import compile, evaluate  # noqa: A004 - the contract's name
from einderiv.evaluate.compiled import Compiled
from einderiv.ir.nodes import Expr


def _evaluate(
    self: Expr,
    values: Mapping[str, Any] | None = None,
    backend: str = "numpy",
    sizes: Mapping[str, int] | None = None,
    **kw: Any,
) -> Any:
    """Evaluate numerically; ``values`` maps symbol names to arrays (keywords too).

    ``backend`` picks the array library (``numpy``, ``jax``, ``torch``, ``cupy``, ``dask``).

    >>> import numpy as np, einderiv as ed
    >>> x = ed.symbols("x[n]")
    >>> (2 * x).evaluate(x=np.array([1.0, 2.0]))
    array([2., 4.])
    """
    if values is not None and not isinstance(values, Mapping):
        raise EvaluationError(
            f"values must be a dict of arrays by symbol name, got {type(values).__name__}"
        )
    merged = dict(values or {})
    merged.update(kw)
    return evaluate(self, merged, backend=backend, sizes=sizes)


def install() -> None:
    """Give :class:`~einderiv.ir.Expr` its ``evaluate`` method (idempotent)."""
    Expr.evaluate = _evaluate  # type: ignore[method-assign]


install()

__all__ = ["Compiled", "compile", "evaluate"]
