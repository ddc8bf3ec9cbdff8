"""Calls the interpreter and generated code share: matrix functions and refusals.

Contract: :func:`matfunc` evaluates an ``inv``/``det``/``logdet``/``solve`` node with a
backend's table and turns what goes wrong into an :class:`~einderiv.errors.EvaluationError`
(a singular matrix names the matrix argument; a backend or dtype without the operation says
what to use instead); :func:`refused` is the error for an operation a backend lacks.

>>> import numpy as np, einderiv as ed
>>> from einderiv.evaluate.backends import load_backend
>>> A = ed.symbols("A[n,n]")
>>> float(matfunc(load_backend("numpy"), ed.det(A), [np.eye(2) * 2]))
4.0
"""

from __future__ import annotations

from typing import Any

from einderiv.errors import EvaluationError
from einderiv.evaluate.ops import Backend, Placement


def matfunc(backend: Backend, node: Any, args: list[Any]) -> Any:
    """``inv``/``det``/``logdet``/``solve`` of ``args`` (the node's children's values)."""
    implementation = backend.linalg.get(node.name)
    if implementation is None:
        raise EvaluationError(
            f"matrix function '{node.name}' is not available with backend "
            f"'{backend.name}'; evaluate this expression with backend='numpy'"
        )
    try:
        if node.name == "solve" and len(args[1].shape) > 2:  # along B's first axis
            rhs = args[1]
            shape = tuple(rhs.shape)
            return implementation(args[0], rhs.reshape(shape[0], -1)).reshape(shape)
        return implementation(*args)
    except backend.singular as err:
        raise EvaluationError(
            f"{node.name} of a singular matrix ({err}); check the values of "
            f"{node.children[0]!r}"
        ) from None
    except (TypeError, RuntimeError, ValueError) as err:  # e.g. no float16 linalg
        raise EvaluationError(
            f"backend '{backend.name}' cannot compute {node.name} in "
            f"{args[0].dtype if args else '?'} ({err}); cast the inputs to float32 or "
            "float64"
        ) from None


def refused(backend: Backend, what: str, placement: Placement, err: Exception) -> EvaluationError:
    """The error for an operation ``backend`` lacks (or lacks in the call's dtype)."""
    if isinstance(err, (AttributeError, NotImplementedError)):
        return EvaluationError(
            f"{what} is not available with backend '{backend.name}' ({err}); evaluate with "
            "backend='numpy', or compute this part with the backend's own functions"
        )
    return EvaluationError(  # e.g. a kernel missing for a dtype (float16 on the CPU)
        f"{what} failed with backend '{backend.name}' in {placement.dtype} ({err}); cast the "
        "inputs to float32 or float64"
    )
