"""Evaluating an expression once, on numpy or another backend."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from einderiv.evaluate.backends import evaluate_with_backend
from einderiv.evaluate.compiled import compile
from einderiv.ir.nodes import (
    Expr,
)


def evaluate(
    expr: Expr,
    values: Mapping[str, Any],
    backend: str = "numpy",
    sizes: Mapping[str, int] | None = None,
) -> np.ndarray:
    """Evaluate ``expr`` at ``values`` (symbol name -> array)."""
    if backend != "numpy":
        return evaluate_with_backend(expr, values, backend, sizes)
    return compile(expr).run(values, sizes)
