"""The table of array operations one backend gives the interpreter, and its shared defaults.

Contract: a :class:`Backend` is data -- the array namespace (handed to every registry function
as ``FUNCTIONS[name].array(xp, x, param)``) and the handful of operations in which backends
differ: taking values in (dtype, device and shape read without touching the data), making
zeros / identities / constants in the call's :class:`Placement`, a contraction planned at
fixed shapes, placing a product over tied output axes (a surviving Kronecker delta), adding
the terms of a sum, ``logsumexp``, the matrix functions, and handing the result out.  The
interpreter (:mod:`einderiv.evaluate.compiled`) has one loop over the DAG and reads only
this table, as ``opt_einsum``'s ``_core_contract`` reads its ``backends.dispatch``.

:func:`generic_ops` fills the table from an array-API-like namespace; a backend overrides
what it does better (numpy's BLAS steps and in-place writes, torch's strided placement) or
differently (dask's LU-based determinant), and :func:`make_backend` completes the composite
operations it left alone (placement by identities, sums with ``+``) from its primitives.
Every default makes its arrays in the placement's dtype and device, so nothing is promoted
behind the inputs' back.

>>> import numpy as np
>>> promoted_dtype([np.dtype("float32"), np.dtype("int64")])
dtype('float64')
>>> promoted_dtype([np.dtype("float32"), np.dtype("float32")])
dtype('float32')
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import opt_einsum

Shape = tuple[int, ...]
#: a contraction planned at fixed shapes: ``fn(*operands)`` in the subscripts' order
Contraction = Callable[..., Any]
#: places a core (shaped over the distinct output labels) onto the tied output axes
Placer = Callable[[Any, "Placement"], Any]
#: what :attr:`Backend.inspect` reads off a value: the value (the backend's array, or a host
#: numpy array), its numpy dtype (None: a dtype einderiv does not compute in), its shape
#: (None: not known yet), its device (None: host, or placed by the backend itself), and
#: whether the value is already the backend's array
Inspected = tuple[Any, "np.dtype | None", "Shape | None", Any, bool]


@dataclass(frozen=True, slots=True)
class Placement:
    """The dtype and device one call computes in: those of its inputs.

    ``dtype`` is the policy's numpy spelling (``float32``); ``native`` the backend's own
    dtype object (``torch.float32``; the numpy dtype elsewhere); ``device`` the inputs'
    device where the backend lets the caller choose one (torch), else ``None``.
    """

    dtype: np.dtype
    native: Any
    device: Any = None


@dataclass(frozen=True, slots=True)
class Backend:
    """One backend's operations, as data: the interpreter's only view of an array library.

    Values in (never reading the data, so nothing moves to the host):

    * ``inspect(value)`` -> :data:`Inspected`; ``devices_agree({name: device})`` -> the
      call's device (or an error naming the values on different devices);
      ``native_dtype(dtype)`` -> ``(compute dtype, backend dtype)`` (jax canonicalizes);
      ``settings()`` -> a token of global settings the placement depends on (jax's x64);
      ``to_backend(value, placement)``; ``asymmetry(matrix)`` -> ``max |A - A.T|`` (0 when
      symmetric to a few ulps), or ``None`` where it cannot be read (lazy or traced values).

    Arrays made by the backend, in the placement: ``zeros(shape, p)``, ``eye(n, p)``,
    ``full(shape, value, p)``; and ``broadcast_to(value, shape)``.

    Products and sums: ``contraction(subscripts, shapes)`` -> a planned callable;
    ``diagonal_placer(out_shape, rep_shape, strides_of)`` -> a placer for tied output
    axes; ``in_place`` (does the interpreter write into buffers it allocated? numpy only:
    jax stays functional, torch's autograd safe); ``fresh(value, operands)`` (is the value
    such a buffer, held by nobody else?); ``add_terms(values, reusable, shape, p)`` ->
    ``(sum, fresh)``; ``add_diagonal(acc, count, fresh, p)`` -> ``acc + count * I``.

    Functions: ``conform(value, p)`` (a function's result as an array of the placement's
    dtype), ``quiet()`` (a context for the whole call: numpy's errstate), ``logsumexp(x,
    axes)``, ``linalg`` (matrix function name -> implementation; a name missing is refused
    with an :class:`~einderiv.errors.EvaluationError` naming the backend), ``singular``
    (the exceptions that mean a singular matrix).  Result: ``finish(value, owned, is_input,
    inputs, p)`` (``is_input``: the result is an input itself; ``inputs``: the call's input
    arrays by name, to tell a view of one).
    """

    name: str
    xp: Any
    # -- values in ------------------------------------------------------------------------
    inspect: Callable[[Any], Inspected]
    devices_agree: Callable[[Mapping[str, Any]], Any]
    native_dtype: Callable[[np.dtype], tuple[np.dtype, Any]]
    settings: Callable[[], Any]
    to_backend: Callable[[Any, Placement], Any]
    asymmetry: Callable[[Any], float | None]
    # -- arrays made by the backend, in the placement -------------------------------------
    zeros: Callable[[Shape, Placement], Any]
    eye: Callable[[int, Placement], Any]
    full: Callable[[Shape, float, Placement], Any]
    broadcast_to: Callable[[Any, Shape], Any]
    # -- products and sums ----------------------------------------------------------------
    contraction: Callable[[str, list[Shape]], Contraction]
    diagonal_placer: Callable[[Shape, Shape, tuple[int, ...]], Placer]
    fresh: Callable[[Any, list[Any]], bool]
    in_place: bool
    add_terms: Callable[[list[Any], list[bool], Shape, Placement], tuple[Any, bool]]
    add_diagonal: Callable[[Any, float, bool, Placement], Any]
    # -- functions ------------------------------------------------------------------------
    conform: Callable[[Any, Placement], Any]
    quiet: Callable[[], contextlib.AbstractContextManager[Any]]
    logsumexp: Callable[[Any, tuple[int, ...]], Any]
    linalg: Mapping[str, Callable[..., Any]]
    singular: tuple[type[BaseException], ...]
    # -- the result out -------------------------------------------------------------------
    finish: Callable[[Any, bool, bool, Mapping[str, Any], Placement], Any]


def promoted_dtype(dtypes: Sequence[np.dtype]) -> np.dtype:
    """The dtype a call computes in: the inputs' floats promoted as numpy promotes them.

    Integer and boolean inputs count as float64 (numpy's promotion of an integer array
    with a float array); no inputs at all compute in float64.
    """
    if dtypes and dtypes[0].kind == "f" and all(d == dtypes[0] for d in dtypes):
        return dtypes[0]
    floats = [d if d.kind == "f" else np.dtype(np.float64) for d in dtypes]
    return np.result_type(*floats) if floats else np.dtype(np.float64)


def optimize_for(count: int) -> str:
    """opt_einsum's path optimizer for a product of ``count`` operands (``dp`` up to 12)."""
    return "dp" if 1 < count <= 12 else "greedy"


def shape_of(value: Any) -> Shape | None:
    """The shape of ``value`` as ints, read off ``.shape`` (no data access); None if unknown.

    ``None`` when a size is not known yet (a dask array with unknown chunk sizes has
    ``nan`` there).
    """
    raw = value.shape if hasattr(value, "shape") else np.shape(value)
    out: list[int] = []
    for n in raw:
        try:
            out.append(int(n))
        except (TypeError, ValueError):
            return None
    return tuple(out)


def symmetry_rtol(dtype: np.dtype) -> float:
    """Relative tolerance of the symmetry check: 1e-8, or a few ulps of a narrower float."""
    eps = float(np.finfo(dtype).eps) if dtype.kind == "f" else 0.0
    return max(1e-8, 8 * eps)


# -- defaults ----------------------------------------------------------------------------


def opt_einsum_contraction(backend: str) -> Callable[[str, list[Shape]], Contraction]:
    """Contractions planned once with ``opt_einsum.contract_expression``, run with ``backend=``."""

    def plan(subscripts: str, shapes: list[Shape]) -> Contraction:
        expression = opt_einsum.contract_expression(
            subscripts, *shapes, optimize=optimize_for(len(shapes))
        )

        def contract(*operands: Any) -> Any:
            return expression(*operands, backend=backend)

        return contract

    return plan


def identity_placer(fields: Mapping[str, Any]) -> Callable[..., Placer]:
    """Tied axes by a contraction with identities (for backends without strided writes).

    ``out_shape`` is the result's shape, ``rep_shape`` the shape over the distinct output
    labels, and ``strides_of[axis]`` the distinct label of each result axis.  Each repeated
    label gets a new letter joined to the first by an identity made in the placement; the
    contraction writes every result element once (no more work than a strided write).
    """
    contraction, broadcast_to = fields["contraction"], fields["broadcast_to"]
    zeros, eye = fields["zeros"], fields["eye"]

    def make(out_shape: Shape, rep_shape: Shape, strides_of: tuple[int, ...]) -> Placer:
        letters = [opt_einsum.get_symbol(j) for j in range(len(rep_shape))]
        terms = ["".join(letters)]
        eyes: list[int] = []
        target: list[str] = []
        seen: set[int] = set()
        for position in strides_of:
            if position in seen:
                new = opt_einsum.get_symbol(len(letters) + len(eyes))
                terms.append(letters[position] + new)
                eyes.append(rep_shape[position])
                target.append(new)
            else:
                seen.add(position)
                target.append(letters[position])
        subscripts = ",".join(terms) + "->" + "".join(target)
        shapes = [rep_shape] + [(n, n) for n in eyes]
        contract = None if math.prod(out_shape) == 0 else contraction(subscripts, shapes)

        def place(core: Any, placement: Placement) -> Any:
            if contract is None:
                return zeros(out_shape, placement)
            core = broadcast_to(core, rep_shape)
            return contract(core, *(eye(n, placement) for n in eyes))

        return place

    return make


def functional_add_terms(fields: Mapping[str, Any]) -> Callable[..., tuple[Any, bool]]:
    """Sum terms with ``+`` (no in-place writes: right for jax, autograd-safe for torch)."""
    zeros, broadcast_to = fields["zeros"], fields["broadcast_to"]

    def add_terms(
        values: list[Any], reusable: list[bool], shape: Shape, placement: Placement
    ) -> tuple[Any, bool]:
        if not values:
            return zeros(shape, placement), False
        acc = values[0]
        for value in values[1:]:
            acc = acc + value
        if tuple(acc.shape) != shape:
            acc = broadcast_to(acc, shape)
        return acc, False

    return add_terms


def identity_add_diagonal(fields: Mapping[str, Any]) -> Callable[..., Any]:
    """``acc + count * I`` with an identity made in the placement (``acc`` is square)."""
    eye = fields["eye"]

    def add_diagonal(acc: Any, count: float, fresh: bool, placement: Placement) -> Any:
        return acc + count * eye(acc.shape[0], placement)

    return add_diagonal


def generic_logsumexp(xp: Any) -> Callable[[Any, tuple[int, ...]], Any]:
    """``log(sum(exp(x), axes))`` shifted by the maximum, with the namespace's functions."""

    def logsumexp(x: Any, axes: tuple[int, ...]) -> Any:
        if not axes:
            return x
        top = xp.max(x, axis=axes, keepdims=True)
        top = xp.where(xp.isfinite(top), top, xp.zeros_like(top))
        out = xp.log(xp.sum(xp.exp(x - top), axis=axes, keepdims=True)) + top
        return xp.squeeze(out, axis=axes)

    return logsumexp


def generic_linalg(xp: Any) -> dict[str, Callable[..., Any]]:
    """``inv``, ``det``, ``logdet`` (``log |det|``) and ``solve`` from ``xp.linalg``."""
    linalg = getattr(xp, "linalg", None)
    table: dict[str, Callable[..., Any]] = {}
    if linalg is None:
        return table
    if hasattr(linalg, "inv"):
        table["inv"] = linalg.inv
    if hasattr(linalg, "det"):
        table["det"] = linalg.det
    if hasattr(linalg, "slogdet"):
        table["logdet"] = lambda a: linalg.slogdet(a)[1]
    if hasattr(linalg, "solve"):
        table["solve"] = linalg.solve
    return table


def generic_ops(name: str, xp: Any, array_type: type | tuple[type, ...]) -> dict[str, Any]:
    """The default fields for an array-API-like namespace ``xp`` whose arrays are ``array_type``.

    Returns the fields of :class:`Backend` as a dict: a backend module overrides some and
    builds its entry with :func:`make_backend`.  The composite operations
    (``diagonal_placer``, ``add_terms``, ``add_diagonal``) are ``None`` here and completed
    there from the final primitives.
    """

    def inspect(value: Any) -> Inspected:
        if isinstance(value, array_type):
            native: Any = value
            return native, np.dtype(native.dtype), shape_of(native), None, True
        host = np.asarray(value)
        return host, host.dtype, host.shape, None, False

    def asymmetry(value: Any) -> float | None:
        rtol = symmetry_rtol(np.dtype(value.dtype))
        if bool(xp.allclose(value, value.T, rtol=rtol, atol=1e-10)):
            return 0.0
        return float(xp.max(xp.abs(value - value.T)))

    def conform(value: Any, placement: Placement) -> Any:
        if not hasattr(value, "dtype"):
            return xp.asarray(value, dtype=placement.native)
        return value if value.dtype == placement.native else value.astype(placement.native)

    def broadcast_to(value: Any, shape: Shape) -> Any:
        return value if tuple(value.shape) == tuple(shape) else xp.broadcast_to(value, shape)

    return {
        "name": name,
        "xp": xp,
        "inspect": inspect,
        "devices_agree": lambda devices: None,
        "native_dtype": lambda dtype: (dtype, dtype),
        "settings": lambda: None,
        "to_backend": lambda value, p: xp.asarray(value, dtype=p.native),
        "asymmetry": asymmetry,
        "zeros": lambda shape, p: xp.zeros(shape, dtype=p.native),
        "eye": lambda n, p: xp.eye(n, dtype=p.native),
        "full": lambda shape, value, p: xp.full(shape, value, dtype=p.native),
        "broadcast_to": broadcast_to,
        "contraction": opt_einsum_contraction(name),
        "diagonal_placer": None,
        "fresh": lambda value, args: False,
        "in_place": False,
        "add_terms": None,
        "add_diagonal": None,
        "conform": conform,
        "quiet": contextlib.nullcontext,
        "logsumexp": generic_logsumexp(xp),
        "linalg": generic_linalg(xp),
        "singular": (),
        "finish": lambda value, owned, is_input, inputs, p: value,
    }


def make_backend(fields: Mapping[str, Any]) -> Backend:
    """The :class:`Backend` for ``fields``, composite operations completed from primitives."""
    done = dict(fields)
    if done["diagonal_placer"] is None:
        done["diagonal_placer"] = identity_placer(done)
    if done["add_terms"] is None:
        done["add_terms"] = functional_add_terms(done)
    if done["add_diagonal"] is None:
        done["add_diagonal"] = identity_add_diagonal(done)
    return Backend(**done)
