"""Builders keep their operands' inputs: what a result needs from outside its DAG.

A builder works on the mathematics of its operands (their bodies); when an operand is
an annotated root (a parsed program, a derivative) or the result no longer carries a
dim its operands had (``A @ x - A @ x`` is the zero vector of ``n``), the result is
annotated with the operands' inputs and names, so its sizes and arguments still come
from its own symbols -- never from anything else declared in the process.

>>> import einderiv as ed
>>> A, x = ed.symbols("A[n,n] x[n]")
>>> zero = A @ x - A @ x
>>> [s.name for s in ed.ir.inputs_of(zero)]
['A', 'x']
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from einderiv.ir.nodes import Annotated, Expr, annotate, dims_carried, dims_needed, names_of, unwrap

F = TypeVar("F", bound=Callable[..., Any])


def keeps_inputs(build: F) -> F:
    """Wrap a builder so that it reads operand bodies and annotates what needs it."""

    @functools.wraps(build)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        operands = [a for a in (*args, *kwargs.values()) if isinstance(a, Expr)]
        annotated = any(isinstance(a, Annotated) for a in operands)
        if annotated:
            args = tuple(unwrap(a) if isinstance(a, Expr) else a for a in args)
            kwargs = {k: unwrap(v) if isinstance(v, Expr) else v for k, v in kwargs.items()}
        result = build(*args, **kwargs)
        if not annotated and not (dims_needed(result) - dims_carried(result)):
            return result
        names = [pair for a in operands for pair in names_of(a)]
        return annotate(result, operands, names)

    return wrapper  # type: ignore[return-value]
