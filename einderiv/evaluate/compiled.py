"""The interpreter: one loop over an expression DAG, run with one backend's operations.

Contract: :func:`compile` plans once -- one step per distinct node, so a shared
subexpression is computed once per call -- and caches, per tuple of input shapes, a
:class:`~einderiv.evaluate.steps.ProductStep` (an ``opt_einsum`` path planned once) for
every product.  Every backend (numpy, jax, torch, cupy, dask) runs the same loop; what
differs is read from its :class:`~einderiv.evaluate.ops.Backend` table, and numpy's fast
paths (BLAS steps, strided diagonal writes, in-place sums, releasing intermediates) are
that table's operations.  A Kronecker delta that survives simplification is never
multiplied in as a dense identity.

Values are checked against the declared dims from their shapes only (nothing is copied to
the host): a missing value, a wrong rank, a size that disagrees between two symbols
sharing a dim -- each an :class:`~einderiv.errors.EvaluationError` naming symbol, axis and
sizes.  Dtype and device policy: the call computes in the inputs' dtypes promoted as numpy
promotes them (float32 stays float32; integers count as float64; jax canonicalizes, so
without ``jax_enable_x64`` it computes in float32) on the inputs' device, and every node's
value -- identities, zeros and constants included -- is made in that dtype and device.

>>> import numpy as np, einderiv as ed
>>> W, x = ed.symbols("W[n,m] x[m]")
>>> f = ed.compile(ed.tanh(W @ x))
>>> f(W=np.zeros((2, 3)), x=np.ones(3))
array([0., 0.])
>>> f(W=np.zeros((2, 3), dtype=np.float32), x=np.ones(3, dtype=np.float32)).dtype
dtype('float32')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

import numpy as np

from einderiv.errors import EvaluationError
from einderiv.evaluate.backends import load_backend
from einderiv.evaluate.ops import Backend, Placement, promoted_dtype, shape_of
from einderiv.evaluate.plan import ProductPlan, plan_product, size_of
from einderiv.evaluate.steps import ProductStep
from einderiv.functions import FUNCTIONS
from einderiv.ir.nodes import Delta, Expr, Product, Size, Sum, Symbol, size_owners, unwrap
from einderiv.ir.traversal import topological


class Compiled:
    """A compiled evaluator: ``fn(W=..., x=...)`` or ``fn({"W": ..., "x": ...})``.

    ``backend`` names the array library (``numpy`` by default; ``jax``, ``torch``,
    ``cupy``, ``dask``); results are that library's arrays.
    """

    def __init__(self, expr: Expr, backend: str | Backend = "numpy") -> None:
        if not isinstance(expr, Expr):
            raise EvaluationError(
                f"compile expects an einderiv expression, got {type(expr).__name__}"
            )
        self.backend = backend if isinstance(backend, Backend) else load_backend(backend)
        self.expr = expr
        self.nodes = topological(expr)
        self.index_of = {node.key: i for i, node in enumerate(self.nodes)}
        self.symbols = sorted(
            (n for n in self.nodes if isinstance(n, Symbol)), key=lambda s: s.name
        )
        names: dict[str, Symbol] = {}
        for sym in self.symbols:
            if sym.name in names:
                raise EvaluationError(
                    f"symbol '{sym.name}' appears with two declarations: dims "
                    f"{list(names[sym.name].dims)} and {list(sym.dims)}; use one name per symbol"
                )
            names[sym.name] = sym
        self.plans: dict[int, ProductPlan] = {
            i: plan_product(node, self.index_of)
            for i, node in enumerate(self.nodes)
            if isinstance(node, Product)
        }
        # sums: the positions of their non-delta terms and how many delta terms they add
        self._sum_terms: dict[int, tuple[list[int], int]] = {
            i: (
                [self.index_of[t.key] for t in node.terms if not isinstance(t, Delta)],
                sum(1 for t in node.terms if isinstance(t, Delta)),
            )
            for i, node in enumerate(self.nodes)
            if isinstance(node, Sum)
        }
        self._steps: dict[tuple, list[Any]] = {}
        self._placements: dict[tuple, Placement] = {}
        # a Size node is a scalar but needs its dim's size (``sum(B + b, axis=1)`` w.r.t.
        # ``b`` is ``m * g`` with no symbol carrying m)
        self.dims_needed = sorted(
            {d for node in self.nodes for d in node.dims}
            | {node.dim for node in self.nodes if isinstance(node, Size)}
        )
        self._dense_deltas = {
            self.index_of[child.key]
            for node in self.nodes
            if not isinstance(node, (Product, Sum))
            for child in node.children
            if isinstance(child, Delta)
        }
        if isinstance(unwrap(expr), Delta):
            self._dense_deltas.add(len(self.nodes) - 1)
        # consumers of each node, and the nodes whose last consumer is node i
        self._uses = [0] * len(self.nodes)
        last: dict[int, int] = {}
        for i, node in enumerate(self.nodes):
            for child in node.children:
                k = self.index_of[child.key]
                self._uses[k] += 1
                last[k] = i
        self._release: list[list[int]] = [[] for _ in self.nodes]
        for k, i in last.items():
            self._release[i].append(k)
        self._inputs = {i for i, n in enumerate(self.nodes) if isinstance(n, Symbol)}
        self._symmetric = [sym.name for sym in self.symbols if sym.symmetric]
        self._quiet = any(n.kind in ("func", "logsumexp") for n in self.nodes)
        # the position of each node's first child (the argument of a function)
        self._arg = [self.index_of[n.children[0].key] if n.children else -1 for n in self.nodes]

    # -- binding values ---------------------------------------------------------------
    def bind(
        self, values: Mapping[str, Any], sizes: Mapping[str, int] | None = None
    ) -> tuple[dict[str, Any], dict[str, int], Placement]:
        """Check ``values`` against the symbols by shape and dtype only.

        Returns the backend's arrays by name (in the call's dtype, on its device), the dim
        sizes, and the call's :class:`~einderiv.evaluate.ops.Placement`.
        """
        if type(values) is not dict and not isinstance(values, Mapping):
            raise EvaluationError(
                f"values must be a dict of arrays by symbol name, got {type(values).__name__}"
            )
        dim_size: dict[str, tuple[int, str, int]] = {}
        for dim, value in (sizes or {}).items():
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise EvaluationError(
                    f"sizes={{'{dim}': {value!r}}}: a dim size must be a non-negative integer"
                )
            dim_size[dim] = (int(value), "sizes", 0)
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
                self._missing(values)
                raise EvaluationError(f"value for '{name}' is not an array: {err}") from None
            if dtype is None or dtype.kind not in "biuf":
                raise EvaluationError(
                    f"value for '{name}' must be real numbers, got dtype "
                    f"{dtype if dtype is not None else getattr(value, 'dtype', '?')}; "
                    "pass float16, float32 or float64 (or integer) arrays"
                )
            if shape is None or len(shape) != len(sym.dims):
                _shape_error(sym, value, shape)
            for axis, dim in enumerate(sym.dims):
                n = shape[axis]
                entry = dim_size.get(dim)
                if entry is None:
                    if dim == "1":
                        if n != 1:
                            _shape_error(sym, value, shape, axis)
                        continue
                    dim_size[dim] = (n, name, axis)
                elif entry[0] != n:
                    _shape_error(sym, value, shape, axis, entry)
            if device is not None:
                devices[name] = device
            taken.append((name, value, dtype, native))
            dtypes.append(dtype)
        used = self._sizes_from_other_values(values, dim_size)
        if not taken:  # no symbol: the values that gave sizes, else all values passed
            dtypes = self._fallback_dtypes(values, used or list(values), devices)
        device = backend.devices_agree(devices) if devices else None
        placement = self._placements.get((tuple(dtypes), device, backend.settings()))
        if placement is None:
            placement = self._placement(tuple(dtypes), device)
        to_backend, compute = backend.to_backend, placement.dtype
        arrays = {
            name: value if native and dtype == compute else to_backend(value, placement)
            for name, value, dtype, native in taken
        }
        for name in self._symmetric:
            gap = backend.asymmetry(arrays[name])
            if gap:
                raise EvaluationError(
                    f"symbol '{name}' is declared symmetric but its value is not "
                    f"(max |A - A.T| = {gap:.3g}); symmetrize it with (A + A.T) / 2"
                )
        return arrays, {dim: entry[0] for dim, entry in dim_size.items()}, placement

    def _missing(self, values: Mapping[str, Any]) -> None:
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
                shape = shape_of(values[name])
                if shape is not None and len(shape) == rank:
                    dim_size[dim] = (shape[axis], name, axis)
                    used.append(name)
                    break
        return used

    def _placement(self, dtypes: tuple[np.dtype, ...], device: Any) -> Placement:
        """The call's placement for the inputs' ``dtypes`` (cached per dtypes and device)."""
        key = (dtypes, device, self.backend.settings())
        found = self._placements.get(key)
        if found is None:
            compute, native = self.backend.native_dtype(promoted_dtype(dtypes))
            found = self._placements[key] = Placement(compute, native, device)
        return found

    # -- display ------------------------------------------------------------------------
    def __repr__(self) -> str:
        args = ", ".join(s.name for s in self.symbols)
        dims = "(" + ", ".join(self.expr.dims) + ("," if len(self.expr.dims) == 1 else "") + ")"
        return f"<Compiled {self.backend.name} fn({args}) -> {dims}: {self.expr!r}>"

    def __str__(self) -> str:
        args = ", ".join(f"{s.name}[{','.join(s.dims)}]" if s.dims else s.name
                         for s in self.symbols)
        return (f"compiled einderiv expression (backend {self.backend.name})\n"
                f"  arguments: {args or 'none'}\n  result:    dims ({', '.join(self.expr.dims)})"
                f"\n  computes:  {self.expr!r}")

    # -- running ----------------------------------------------------------------------
    def __call__(self, values: Mapping[str, Any] | None = None, /, **kwargs: Any) -> Any:
        """Evaluate with values by name (a dict, keywords, or both)."""
        if values is not None and not isinstance(values, Mapping):
            raise EvaluationError(
                f"values must be a dict of arrays by symbol name, got {type(values).__name__}"
            )
        merged = dict(values or {})
        merged.update(kwargs)
        return self.run(merged)

    def run(self, values: Mapping[str, Any], sizes: Mapping[str, int] | None = None) -> Any:
        """Evaluate; ``sizes`` gives dims that no symbol in the expression carries."""
        arrays, dim_size, placement = self.bind(values, sizes)
        shapes_key = tuple(sorted(dim_size.items()))
        steps = self._steps.get(shapes_key)
        if steps is None:
            steps = [None] * len(self.nodes)
        if self._quiet:  # numpy: log(0) is -inf, not a warning (one errstate per call)
            with self.backend.quiet():
                value, owned = self._interpret(arrays, dim_size, placement, steps)
        else:
            value, owned = self._interpret(arrays, dim_size, placement, steps)
        self._steps.setdefault(shapes_key, steps)
        root = len(self.nodes) - 1
        return self.backend.finish(value, owned, root in self._inputs, arrays, placement)

    def _interpret(
        self,
        arrays: dict[str, Any],
        dim_size: dict[str, int],
        placement: Placement,
        steps: list[Any],
    ) -> tuple[Any, bool]:
        """The loop: each node's value from its children's, by the backend's operations.

        ``steps`` holds what depends on shapes only (product steps, sum shapes) and is
        filled on the first call at these shapes.  Returns the root's value and whether it
        is a buffer this call allocated.
        """
        backend = self.backend
        xp, conform, add_terms = backend.xp, backend.conform, backend.add_terms
        nodes: list[Any] = self.nodes  # Any: each branch reads its own kind's fields
        arg_of = self._arg
        results: list[Any] = [None] * len(nodes)
        # owned[i]: results[i] is a temporary buffer this call allocated, that no other
        # node aliases -- a backend that writes in place may accumulate a sum into it
        # when the sum is its only consumer.
        owned = [False] * len(nodes)
        uses, release = self._uses, self._release
        root = len(nodes) - 1
        for i, node in enumerate(nodes):
            kind = node.kind
            if kind == "symbol":
                results[i] = arrays[node.name]
            elif kind == "product":
                step = steps[i]
                if step is None:
                    plan = self.plans[i]
                    shapes = [tuple(results[k].shape) for k in plan.operands]
                    step = steps[i] = ProductStep(plan, backend, shapes, dim_size)
                results[i], owned[i] = step(results, placement)
            elif kind == "sum":
                shape = steps[i]
                if shape is None:
                    shape = steps[i] = tuple(size_of(d, dim_size) for d in node.dims)
                terms, deltas = self._sum_terms[i]
                value, fresh = add_terms(
                    [results[k] for k in terms],
                    [owned[k] and uses[k] == 1 for k in terms],
                    shape,
                    placement,
                )
                if deltas:  # a delta term adds on the diagonal: no dense identity
                    value = backend.add_diagonal(value, float(deltas), fresh, placement)
                    fresh = backend.in_place
                results[i], owned[i] = value, fresh
            elif kind == "func":
                args = [results[self.index_of[a.key]] for a in node.args]
                try:
                    value = FUNCTIONS[node.name].array(xp, *args, node.param)
                except (AttributeError, NotImplementedError, TypeError, RuntimeError) as err:
                    raise _refused(backend, f"function '{node.name}'", placement, err) from None
                results[i] = conform(value, placement)
            elif kind == "matfunc":
                results[i] = conform(self._matfunc(node, results), placement)
            elif kind == "logsumexp":
                arg = results[arg_of[i]]
                try:
                    value = backend.logsumexp(arg, node.axes)
                except (AttributeError, NotImplementedError, TypeError, RuntimeError) as err:
                    raise _refused(backend, "logsumexp", placement, err) from None
                results[i] = conform(value, placement)
            elif kind == "size":
                results[i] = backend.full((), float(size_of(node.dim, dim_size)), placement)
            elif kind == "delta":
                # Products and sums place a delta themselves (diagonal writes); only an
                # elementwise or matrix function of a bare delta, or a bare delta as the
                # whole result, needs it as an array.
                if i in self._dense_deltas:
                    results[i] = backend.eye(size_of(node.dim, dim_size), placement)
            else:  # pragma: no cover
                raise AssertionError(node.kind)
            for k in release[i]:  # intermediates whose last consumer was this node
                if k != root:
                    results[k] = None
        return results[root], owned[root]

    def _matfunc(self, node: Any, results: list[Any]) -> Any:
        """``inv``/``det``/``logdet``/``solve`` of the node's children, by the backend's table."""
        backend = self.backend
        implementation = backend.linalg.get(node.name)
        if implementation is None:
            raise EvaluationError(
                f"matrix function '{node.name}' is not available with backend "
                f"'{backend.name}'; evaluate this expression with backend='numpy'"
            )
        args = [results[self.index_of[child.key]] for child in node.children]
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


def _refused(backend: Backend, what: str, placement: Placement, err: Exception) -> EvaluationError:
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


def _shape_error(
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
            f"value has shape {shape} (rank {len(shape)})"
        )
    if entry is None:
        raise EvaluationError(
            f"symbol '{sym.name}' axis {axis} is declared size 1 but the value has "
            f"size {shape[axis]} there (shape {shape})"
        )
    size0, owner, axis0 = entry
    where = "sizes=" if owner == "sizes" else f"'{owner}' axis {axis0}"
    raise EvaluationError(
        f"dim '{sym.dims[axis]}' has size {size0} from {where} but size {shape[axis]} from "
        f"'{sym.name}' axis {axis} (shape {shape}); equal dim names need equal sizes"
    )


def compile(expr: Expr, backend: str = "numpy") -> Compiled:  # noqa: A001 - the contract's name
    """Plan ``expr`` once for ``backend``; the callable caches contraction paths per shape.

    ``backend`` is ``numpy`` (the default), ``jax``, ``torch``, ``cupy`` or ``dask``; the
    callable returns that library's arrays, in the inputs' dtype and on their device.

    >>> import numpy as np, einderiv as ed
    >>> x = ed.symbols("x[n]")
    >>> ed.compile(ed.sum(x * x))(x=np.array([1.0, 2.0]))
    array(5.)
    """
    if not isinstance(expr, Expr):
        raise EvaluationError(
            f"compile expects an einderiv expression, got {type(expr).__name__}"
        )
    key = "compiled" if backend == "numpy" else f"compiled:{backend}"
    cache: dict[str, Any] = expr._cache  # type: ignore[attr-defined]  # a slot of every node
    cached = cache.get(key)
    if cached is None:
        cached = cache[key] = Compiled(expr, backend)
    return cached
