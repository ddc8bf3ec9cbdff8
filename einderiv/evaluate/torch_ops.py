"""The torch backend: tensors stay on their device and in their dtype, autograd flows through.

Contract: the inputs' device is the device of the call (numpy or list values are moved to
it; tensors on two different devices are an :class:`~einderiv.errors.EvaluationError`);
zeros, identities and constants are made there in the call's dtype; values are validated
from ``.shape`` and ``.dtype`` only (nothing is copied to the host, so ``device="meta"``
tensors evaluate to meta tensors).  Products are ``opt_einsum`` contractions with
``backend="torch"``; a surviving Kronecker delta is written into a strided view
(``as_strided(...).copy_``, which autograd differentiates); sums use ``+`` (no in-place
writes into tensors autograd may need).  The result never aliases the caller's memory:
an input returned as is, or a view of one (``W.T``), is cloned; a broadcast (stride-0)
result is made contiguous.

Example (needs torch; tests/evaluate/test_backends.py runs it)::

    x = ed.symbols("x[n]")
    ed.compile(2 * x, backend="torch")(x=torch.ones(2, dtype=torch.float32))
    # tensor([2., 2.]) -- float32, on x's device
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from einderiv.errors import EvaluationError
from einderiv.evaluate.ops import (
    Backend,
    Inspected,
    Placement,
    Placer,
    Shape,
    generic_ops,
    make_backend,
    symmetry_rtol,
)


def _shares_storage(value: Any, inputs: Any) -> bool:
    """True when ``value`` lives in the memory of one of ``inputs`` (a view of an input)."""
    if value.device.type == "meta":
        return False
    pointer = value.untyped_storage().data_ptr()
    return any(x.untyped_storage().data_ptr() == pointer for x in inputs)


def torch_backend(torch: Any) -> Backend:
    """The table entry for the ``torch`` module."""
    to_numpy_dtype: dict[Any, np.dtype] = {
        torch.float16: np.dtype(np.float16),
        torch.float32: np.dtype(np.float32),
        torch.float64: np.dtype(np.float64),
        torch.complex64: np.dtype(np.complex64),
        torch.complex128: np.dtype(np.complex128),
        torch.int8: np.dtype(np.int8),
        torch.int16: np.dtype(np.int16),
        torch.int32: np.dtype(np.int32),
        torch.int64: np.dtype(np.int64),
        torch.uint8: np.dtype(np.uint8),
        torch.bool: np.dtype(np.bool_),
    }
    to_torch_dtype: dict[np.dtype, Any] = {
        np.dtype(np.float16): torch.float16,
        np.dtype(np.float32): torch.float32,
        np.dtype(np.float64): torch.float64,
    }

    def inspect(value: Any) -> Inspected:
        if isinstance(value, torch.Tensor):
            shape = tuple(value.shape)
            return value, to_numpy_dtype.get(value.dtype), shape, value.device, True
        host = np.asarray(value)
        return host, host.dtype, host.shape, None, False

    def devices_agree(devices: Mapping[str, Any]) -> Any:
        found = sorted({str(d) for d in devices.values()})
        if len(found) > 1:
            listing = ", ".join(f"'{name}' on {device}" for name, device in devices.items())
            raise EvaluationError(
                f"backend 'torch': the values are on different devices ({listing}); move them "
                "to one device (tensor.to(device)) before evaluating"
            )
        return next(iter(devices.values())) if devices else None

    def to_backend(value: Any, p: Placement) -> Any:
        if isinstance(value, torch.Tensor):
            if value.dtype == p.native and (p.device is None or value.device == p.device):
                return value
            return value.to(dtype=p.native, device=p.device)
        if not value.flags.writeable:  # torch warns on (and must not alias) read-only memory
            value = np.array(value)
        return torch.as_tensor(value, dtype=p.native, device=p.device)

    def asymmetry(value: Any) -> float | None:
        if value.device.type == "meta":  # no data to check
            return None
        rtol = symmetry_rtol(to_numpy_dtype[value.dtype])
        if torch.allclose(value, value.T, rtol=rtol, atol=1e-10):
            return 0.0
        return float((value - value.T).abs().max())

    def diagonal_placer(out_shape: Shape, rep_shape: Shape, strides_of: tuple[int, ...]) -> Placer:
        element = [math.prod(out_shape[axis + 1 :]) for axis in range(len(out_shape))]
        strides = [0] * len(rep_shape)
        for axis, position in enumerate(strides_of):
            strides[position] += element[axis]

        def place(core: Any, p: Placement) -> Any:
            result = torch.zeros(out_shape, dtype=p.native, device=core.device)
            result.as_strided(rep_shape, strides).copy_(core)
            return result

        return place

    def conform(value: Any, p: Placement) -> Any:
        if not isinstance(value, torch.Tensor):
            return torch.as_tensor(value, dtype=p.native, device=p.device)
        return value if value.dtype == p.native else value.to(p.native)

    def logsumexp(value: Any, axes: tuple[int, ...]) -> Any:
        return torch.logsumexp(value, dim=axes) if axes else value

    def finish(
        value: Any, owned: bool, is_input: bool, inputs: Mapping[str, Any], p: Placement
    ) -> Any:
        if is_input or (value._is_view() and _shares_storage(value, inputs.values())):
            return value.clone()  # a transpose of an input would alias the caller's memory
        if value.numel() > 1 and 0 in value.stride():
            return value.contiguous()
        return value

    fields = generic_ops("torch", torch, torch.Tensor)
    fields.update(
        inspect=inspect,
        devices_agree=devices_agree,
        native_dtype=lambda dtype: (dtype, to_torch_dtype[dtype]),
        to_backend=to_backend,
        asymmetry=asymmetry,
        zeros=lambda shape, p: torch.zeros(shape, dtype=p.native, device=p.device),
        eye=lambda n, p: torch.eye(n, dtype=p.native, device=p.device),
        full=lambda shape, value, p: torch.full(shape, value, dtype=p.native, device=p.device),
        broadcast_to=lambda value, shape: (
            value if tuple(value.shape) == tuple(shape) else torch.broadcast_to(value, shape)
        ),
        diagonal_placer=diagonal_placer,
        conform=conform,
        logsumexp=logsumexp,
        linalg={
            "inv": torch.linalg.inv,
            "det": torch.linalg.det,
            "logdet": lambda a: torch.linalg.slogdet(a)[1],
            "solve": torch.linalg.solve,
        },
        singular=(torch.linalg.LinAlgError,),
        finish=finish,
    )
    return make_backend(fields)
