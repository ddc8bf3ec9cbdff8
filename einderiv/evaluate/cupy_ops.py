"""The cupy backend: cupy arrays on the current device, in the inputs' dtype.

Contract: numpy or list values are copied to the current cupy device (``with
cupy.cuda.Device(k):`` chooses it); cupy arrays on two different devices are an
:class:`~einderiv.errors.EvaluationError`.  Zeros, identities and constants are made by cupy
in the call's dtype; products are ``opt_einsum`` contractions with ``backend="cupy"``;
tied output axes are a contraction with identities; ``inv``/``det``/``logdet``/``solve`` come
from ``cupy.linalg``.  The table is built from the module handed in, so its wiring is
tested against a stand-in namespace where cupy (a CUDA library) is not installed; that
test says nothing about cupy's own results.

Example (needs cupy and a GPU)::

    f = ed.compile(ed.grad(loss, "w"), backend="cupy")
    f(X=cupy.asarray(X, dtype=cupy.float32), w=w)  # a float32 cupy array, current device
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from einderiv.errors import EvaluationError
from einderiv.evaluate.ops import (
    Backend,
    Inspected,
    Placement,
    generic_ops,
    make_backend,
    shape_of,
)


def cupy_backend(cupy: Any) -> Backend:
    """The table entry for the ``cupy`` module."""

    def devices_agree(devices: Mapping[str, Any]) -> Any:
        found = {str(d) for d in devices.values()}
        if len(found) > 1:
            listing = ", ".join(f"'{name}' on {device}" for name, device in devices.items())
            raise EvaluationError(
                f"backend 'cupy': the values are on different devices ({listing}); copy them "
                "to one device before evaluating"
            )
        return None

    def finish(
        value: Any, owned: bool, is_input: bool, inputs: Mapping[str, Any], p: Placement
    ) -> Any:
        return value.copy() if is_input else value

    def inspect(value: Any) -> Inspected:
        if isinstance(value, cupy.ndarray):
            device = getattr(value, "device", None)
            return value, np.dtype(value.dtype), shape_of(value), device, True
        host = np.asarray(value)
        return host, host.dtype, host.shape, None, False

    fields = generic_ops("cupy", cupy, cupy.ndarray)
    fields.update(
        inspect=inspect,
        devices_agree=devices_agree,
        singular=(getattr(cupy.linalg, "LinAlgError", np.linalg.LinAlgError),),
        finish=finish,
    )
    return make_backend(fields)
