"""Evaluating an expression once, on numpy or another backend.

>>> import numpy as np, einderiv as ed
>>> from einderiv.evaluate.api import evaluate
>>> x = ed.symbols("x[n]")
>>> evaluate(ed.sum(x), {"x": np.ones(3, dtype=np.float32)})
array(3., dtype=float32)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from einderiv.evaluate.compiled import compile
from einderiv.ir.nodes import Expr


def evaluate(
    expr: Expr,
    values: Mapping[str, Any],
    backend: str = "numpy",
    sizes: Mapping[str, int] | None = None,
) -> Any:
    """Evaluate ``expr`` at ``values`` (symbol name -> array) with ``backend``'s arrays.

    The compiled evaluator is cached on the expression, so repeated calls plan once.
    """
    return compile(expr, backend).run(values, sizes)
