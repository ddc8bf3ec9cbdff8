"""Binding values to an expression's symbols: every check a call's values get, by shape only.

Contract: :meth:`Binder.bind` reads shapes and dtypes (never the data, so nothing moves to the
host) and returns the backend's arrays by name in the call's dtype and device, the size of
every dim, and the call's :class:`~einderiv.evaluate.ops.Placement`.  What it refuses is an
:class:`~einderiv.errors.EvaluationError` that names the symbol, axis and sizes and says
how to fix it: a missing value, a value that is not an array (a ragged list), a wrong rank,
a size that disagrees between two symbols sharing a dim, ``sizes=`` that is not a dict of
dim names to non-negative integers, a symmetric symbol whose value is not symmetric.  The
results of these checks depend on the values' types, shapes and dtypes only, so a compiled
evaluator runs them once per signature (the symmetric check, which reads the data, runs on
every call).

>>> import numpy as np, einderiv as ed
>>> binder = Binder(ed.symbols("W[n,m]") @ ed.symbols("x[m]"), "numpy")
>>> arrays, sizes, placement = binder.bind({"W": np.ones((2, 3)), "x": np.ones(3)})
>>> sizes
{'n': 2, 'm': 3}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

import numpy as np

from einderiv.errors import EvaluationError
from einderiv.evaluate.backends import load_backend
from einderiv.evaluate.ops import Backend, Placement, promoted_dtype, shape_of
from einderiv.ir.nodes import Expr, Size, Symbol, size_owners
from einderiv.ir.traversal import topological

Bound = tuple[dict[str, Any], dict[str, int], Placement]


def check_values(values: Any) -> None:
    """Refuse ``values`` that are not a mapping of names to arrays."""
    if type(values) is not dict and not isinstance(values, Mapping):
        raise EvaluationError(
            f"values must be a dict of arrays by symbol name, got {type(values).__name__}"
        )


def check_sizes(sizes: Any) -> dict[str, int]:
    """``sizes=`` as a dict of dim name -> size, or the error that says what was expected.

    >>> check_sizes({"n": 3})
    {'n': 3}
    """
    if sizes is None:
        return {}
    if not isinstance(sizes, Mapping):
        raise EvaluationError(
            f"sizes= must be a dict of dim name -> size, got {type(sizes).__name__} "
            f"{sizes!r:.40}; pass e.g. sizes={{'n': 3}}"
        )
    out: dict[str, int] = {}
    for dim, value in sizes.items():
        if not isinstance(dim, str) or not dim.isidentifier():
            raise EvaluationError(
                f"sizes= key {dim!r:.40} is not a dim name; the keys are the dim names of the "
                "declarations (sizes={'n': 3} for W[n,m])"
            )
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise EvaluationError(
                f"sizes={{'{dim}': {value!r:.40}}}: a dim size must be a non-negative integer"
            )
        out[dim] = int(value)
    return out


class Binder:
    """The value checks of one expression with one backend (see the module docstring)."""

    def __init__(self, expr: Expr, backend: str | Backend = "numpy") -> None:
        self.backend = backend if isinstance(backend, Backend) else load_backend(backend)
        self.expr = expr
        nodes = topological(expr)
        self.symbols = sorted((n for n in nodes if isinstance(n, Symbol)), key=lambda s: s.name)
        names: dict[str, Symbol] = {}
        for sym in self.symbols:
            if sym.name in names:
                raise EvaluationError(
                    f"symbol '{sym.name}' appears with two declarations: dims "
                    f"{list(names[sym.name].dims)} and {list(sym.dims)}; use one name per symbol"
                )
            names[sym.name] = sym
        # a Size node is a scalar but needs its dim's size (``sum(B + b, axis=1)`` w.r.t.
        # ``b`` is ``m * g`` with no symbol carrying m)
        self.dims_needed = sorted(
            {d for node in nodes for d in node.dims}
            | {node.dim for node in nodes if isinstance(node, Size)}
        )
        self.symmetric = [sym.name for sym in self.symbols if sym.symmetric]
        self._placements: dict[tuple, Placement] = {}

    def bind(self, values: Mapping[str, Any], sizes: Mapping[str, int] | None = None) -> Bound:
        """Check ``values`` against the symbols by shape and dtype only (module docstring)."""
        check_values(values)
        dim_size: dict[str, tuple[int, str, int]] = {
            dim: (n, "sizes", 0) for dim, n in check_sizes(sizes).items()
        }
        backend = self.backend
        inspect = backend.inspect
        taken: list[tuple[str, Any, np.dtype, bool]] = []
        devices: dict[str, Any] = {}
        dtypes: list[np.dtype] = []
        for sym in self.symbols:
            name = sym.name
            try:
                value, dtype, shape, device, native = inspect(values[name])
            except Exception as err:  # noqa: BLE001 - whatever the object raised
                self.missing(values)
                raise EvaluationError(
                    f"value for '{name}' is not an array: {err}; pass an array (or a nested "
                    "list of equal-length rows)"
                ) from None
            if dtype is None or dtype.kind not in "biuf":
                raise EvaluationError(
                    f"value for '{name}' must be real numbers, got dtype "
                    f"{dtype if dtype is not None else getattr(value, 'dtype', '?')}; "
                    "pass float16, float32 or float64 (or integer) arrays"
                )
            if shape is None or len(shape) != len(sym.dims):
                shape_error(sym, value, shape)
            for axis, dim in enumerate(sym.dims):
                n = shape[axis]
                entry = dim_size.get(dim)
                if entry is None:
                    if dim == "1":
                        if n != 1:
                            shape_error(sym, value, shape, axis)
                        continue
                    dim_size[dim] = (n, name, axis)
                elif entry[0] != n:
                    shape_error(sym, value, shape, axis, entry)
            if device is not None:
                devices[name] = device
            taken.append((name, value, dtype, native))
            dtypes.append(dtype)
        used = self._sizes_from_other_values(values, dim_size)
        if not taken:  # no symbol: the values that gave sizes, else all values passed
            dtypes = self._fallback_dtypes(values, used or list(values), devices)
        device = backend.devices_agree(devices) if devices else None
        placement = self.placement(tuple(dtypes), device)
        to_backend, compute = backend.to_backend, placement.dtype
        arrays = {
            name: value if native and dtype == compute else to_backend(value, placement)
            for name, value, dtype, native in taken
        }
        self.check_symmetric(arrays)
        return arrays, {dim: entry[0] for dim, entry in dim_size.items()}, placement

    def check_symmetric(self, arrays: Mapping[str, Any]) -> None:
        """Refuse a value of a symmetric symbol that is not symmetric (reads the data)."""
        for name in self.symmetric:
            gap = self.backend.asymmetry(arrays[name])
            if gap:
                raise EvaluationError(
                    f"symbol '{name}' is declared symmetric but its value is not "
                    f"(max |A - A.T| = {gap:.3g}); symmetrize it with (A + A.T) / 2"
                )

    def missing(self, values: Mapping[str, Any]) -> None:
        """Raise the error that lists the symbols ``values`` has no value for, if any."""
        missing = [s for s in self.symbols if s.name not in values]
        if missing:
            listing = ", ".join(f"'{s.name}' (dims {list(s.dims)})" for s in missing)
            raise EvaluationError(f"missing value for {listing}; pass it in the values dict")

    def _fallback_dtypes(
        self, values: Mapping[str, Any], names: list[str], devices: dict[str, Any]
    ) -> list[np.dtype]:
        """Dtypes (and devices, into ``devices``) of ``values[names]``: a call's with no symbol.

        ``grad(trace(A), A)`` is an identity in ``A``'s dtype, on ``A``'s device.
        """
        dtypes = []
        for name in names:
            try:
                _, dtype, _, device, _ = self.backend.inspect(values[name])
            except Exception:  # noqa: BLE001 - a value only read for its shape
                continue
            if dtype is not None and dtype.kind in "biuf":
                dtypes.append(dtype)
            if device is not None:
                devices[name] = device
        return dtypes

    def _sizes_from_other_values(self, values: Mapping[str, Any], dim_size: dict) -> list[str]:
        """Sizes of dims no symbol here carries, read off other values passed.

        E.g. ``X`` for ``diff(X @ W, X)``, whose result no longer contains ``X``.  Returns
        the names of the values read (the dtype and device of a call with no symbols).
        """
        used: list[str] = []
        for dim in self.dims_needed:
            if dim in dim_size or dim == "1":
                continue
            for name, axis, rank in size_owners(self.expr, dim):
                if name not in values:
                    continue
                try:
                    shape = shape_of(values[name])
                except Exception as err:  # noqa: BLE001 - a ragged list, an odd object
                    raise EvaluationError(
                        f"value for '{name}' (read for the size of dim '{dim}') is not an "
                        f"array: {err}; pass an array (or a nested list of equal-length rows)"
                    ) from None
                if shape is not None and len(shape) == rank:
                    dim_size[dim] = (shape[axis], name, axis)
                    used.append(name)
                    break
        return used

    def placement(self, dtypes: tuple[np.dtype, ...], device: Any) -> Placement:
        """The call's placement for the inputs' ``dtypes`` (cached per dtypes and device)."""
        key = (dtypes, device, self.backend.settings())
        found = self._placements.get(key)
        if found is None:
            compute, native = self.backend.native_dtype(promoted_dtype(dtypes))
            found = self._placements[key] = Placement(compute, native, device)
        return found


def shape_error(
    sym: Symbol,
    value: Any,
    shape: tuple[int, ...] | None,
    axis: int | None = None,
    entry: tuple[int, str, int] | None = None,
) -> NoReturn:
    """Raise the error for a value whose shape does not fit ``sym``'s dims."""
    if shape is None:
        raise EvaluationError(
            f"value for '{sym.name}' has a shape that is not known yet "
            f"({getattr(value, 'shape', '?')}); for a dask array call "
            "compute_chunk_sizes() first"
        )
    if axis is None:
        raise EvaluationError(
            f"symbol '{sym.name}' has dims {list(sym.dims)} (rank {len(sym.dims)}) but its "
            f"value has shape {shape} (rank {len(shape)}); pass an array with one axis per "
            "declared dim (reshape it), or declare the symbol with the value's rank"
        )
    if entry is None:
        raise EvaluationError(
            f"symbol '{sym.name}' axis {axis} is declared size 1 but the value has "
            f"size {shape[axis]} there (shape {shape}); pass a value with size 1 on that "
            "axis, or declare the axis with a dim name instead of 1"
        )
    size0, owner, axis0 = entry
    where = "sizes=" if owner == "sizes" else f"'{owner}' axis {axis0}"
    raise EvaluationError(
        f"dim '{sym.dims[axis]}' has size {size0} from {where} but size {shape[axis]} from "
        f"'{sym.name}' axis {axis} (shape {shape}); equal dim names need equal sizes: "
        "pass values that agree, or declare the axes with different dim names"
    )
