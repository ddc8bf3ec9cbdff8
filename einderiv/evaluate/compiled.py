"""Evaluation: compile an expression DAG into a fast callable over numpy arrays.

Contract: :func:`compile` plans once -- one step per distinct node, so a shared
subexpression is computed once per call -- and caches, per tuple of input shapes, an
``opt_einsum`` contraction expression for every product (optimized path, planned once).
A Kronecker delta that survives simplification is never built as a dense identity:
the product is contracted with the delta's two indices merged and written into a
strided diagonal view of the result.  Values are checked against the declared dims:
a missing value, a wrong rank, a size that disagrees between two symbols sharing a dim
-- each an :class:`~einderiv.errors.EvaluationError` naming symbol, axis and sizes.

>>> import numpy as np, einderiv as ed
>>> W, x = ed.symbols("W[n,m] x[m]")
>>> f = ed.compile(ed.tanh(W @ x))
>>> f(W=np.zeros((2, 3)), x=np.ones(3))
array([0., 0.])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from einderiv.errors import EvaluationError
from einderiv.evaluate.plan import ProductPlan, plan_product, size_of
from einderiv.evaluate.steps import ProductStep
from einderiv.functions import FUNCTIONS
from einderiv.ir.nodes import (
    Delta,
    Expr,
    LogSumExp,
    MatFunc,
    Product,
    Size,
    Sum,
    Symbol,
    size_owners,
    unwrap,
)
from einderiv.ir.traversal import topological


class Compiled:
    """A compiled evaluator: ``fn(W=..., x=...)`` or ``fn({"W": ..., "x": ...})``."""

    def __init__(self, expr: Expr) -> None:
        if not isinstance(expr, Expr):
            raise EvaluationError(
                f"compile expects an einderiv expression, got {type(expr).__name__}"
            )
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
        self._contractions: dict[tuple, list[Callable | None]] = {}
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

    # -- binding values ---------------------------------------------------------------
    def bind(self, values: Mapping[str, Any], sizes: Mapping[str, int] | None = None):
        """Check ``values`` against the symbols; return arrays by name and dim sizes."""
        if not isinstance(values, Mapping):
            raise EvaluationError(
                f"values must be a dict of arrays by symbol name, got {type(values).__name__}"
            )
        missing = [s.name for s in self.symbols if s.name not in values]
        if missing:
            listing = ", ".join(
                f"'{s.name}' (dims {list(s.dims)})" for s in self.symbols if s.name in missing
            )
            raise EvaluationError(f"missing value for {listing}; pass it in the values dict")
        dim_size: dict[str, tuple[int, str, int]] = {}
        for dim, value in (sizes or {}).items():
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise EvaluationError(
                    f"sizes={{'{dim}': {value!r}}}: a dim size must be a non-negative integer"
                )
            dim_size[dim] = (int(value), "sizes", 0)
        arrays: dict[str, np.ndarray] = {}
        for sym in self.symbols:
            raw = values[sym.name]
            try:
                arr = np.asarray(raw)
            except Exception as err:  # pragma: no cover - exotic objects
                raise EvaluationError(f"value for '{sym.name}' is not an array: {err}") from None
            if arr.dtype.kind not in "biuf":
                raise EvaluationError(
                    f"value for '{sym.name}' must be real numbers, got dtype {arr.dtype}"
                )
            arr = arr.astype(float, copy=False)
            if arr.ndim != len(sym.dims):
                raise EvaluationError(
                    f"symbol '{sym.name}' has dims {list(sym.dims)} (rank {len(sym.dims)}) but its "
                    f"value has shape {arr.shape} (rank {arr.ndim})"
                )
            for axis, (dim, n) in enumerate(zip(sym.dims, arr.shape, strict=True)):
                if dim == "1":
                    if n != 1:
                        raise EvaluationError(
                            f"symbol '{sym.name}' axis {axis} is declared size 1 but the value has "
                            f"size {n} there (shape {arr.shape})"
                        )
                    continue
                if dim in dim_size and dim_size[dim][0] != n:
                    size0, owner, axis0 = dim_size[dim]
                    where = "sizes=" if owner == "sizes" else f"'{owner}' axis {axis0}"
                    raise EvaluationError(
                        f"dim '{dim}' has size {size0} from {where} but size {n} from "
                        f"'{sym.name}' axis {axis} (shape {arr.shape}); equal dim names need "
                        "equal sizes"
                    )
                dim_size.setdefault(dim, (n, sym.name, axis))
            if sym.symmetric and not np.allclose(arr, arr.T, rtol=1e-8, atol=1e-10):
                raise EvaluationError(
                    f"symbol '{sym.name}' is declared symmetric but its value is not "
                    "(max |A - A.T| = "
                    f"{np.max(np.abs(arr - arr.T)):.3g}); symmetrize it with (A + A.T) / 2"
                )
            arrays[sym.name] = arr
        self._sizes_from_other_values(values, dim_size)
        return arrays, {dim: entry[0] for dim, entry in dim_size.items()}

    def _sizes_from_other_values(self, values: Mapping[str, Any], dim_size: dict) -> None:
        """Sizes of dims no symbol here carries, read off other values passed.

        E.g. ``X`` for ``diff(X @ W, X)``, whose result no longer contains ``X``.
        """
        for dim in self.dims_needed:
            if dim in dim_size or dim == "1":
                continue
            for name, axis, rank in size_owners(self.expr, dim):
                if name in values and np.ndim(values[name]) == rank:
                    dim_size[dim] = (int(np.shape(values[name])[axis]), name, axis)
                    break

    # -- running ----------------------------------------------------------------------
    def __call__(self, values: Mapping[str, Any] | None = None, /, **kwargs: Any) -> np.ndarray:
        """Evaluate with values by name (a dict, keywords, or both)."""
        if values is not None and not isinstance(values, Mapping):
            raise EvaluationError(
                f"values must be a dict of arrays by symbol name, got {type(values).__name__}"
            )
        merged = dict(values or {})
        merged.update(kwargs)
        return self.run(merged)

    def run(self, values: Mapping[str, Any], sizes: Mapping[str, int] | None = None) -> np.ndarray:
        """Evaluate; ``sizes`` gives dims that no symbol in the expression carries."""
        arrays, dim_size = self.bind(values, sizes)
        shapes_key = tuple(sorted(dim_size.items()))
        contractions = self._contractions.get(shapes_key)
        nodes = self.nodes
        results: list[Any] = [None] * len(nodes)
        # owned[i]: results[i] is a temporary buffer this call allocated, that no other
        # node aliases -- a sum may accumulate into it when it is its only consumer.
        owned = [False] * len(nodes)
        built = contractions is None
        if built:
            contractions = [None] * len(nodes)
        uses, release = self._uses, self._release
        root = len(nodes) - 1
        for i, node in enumerate(nodes):
            kind = node.kind
            if kind == "symbol":
                results[i] = arrays[node.name]
            elif kind == "product":
                plan = self.plans[i]
                step = contractions[i]
                if step is None:
                    step = ProductStep(plan, [results[k] for k in plan.operands], dim_size)
                    contractions[i] = step
                value, fresh = step(results)
                results[i] = value
                owned[i] = fresh
            elif kind == "sum":
                results[i], owned[i] = _run_sum(
                    node, results, self.index_of, dim_size, owned, uses
                )
            elif kind == "func":
                with np.errstate(all="ignore"):
                    args = [results[self.index_of[a.key]] for a in node.args]
                    results[i] = np.asarray(FUNCTIONS[node.name].array(np, *args, node.param))
            elif kind == "matfunc":
                args = [results[self.index_of[a.key]] for a in node.args]
                results[i] = _run_matfunc(node, *args)
            elif kind == "logsumexp":
                results[i] = _run_logsumexp(node, results[self.index_of[node.arg.key]])
            elif kind == "size":
                results[i] = np.asarray(float(size_of(node.dim, dim_size)))
            elif kind == "delta":
                # Products and sums place a delta themselves (diagonal writes); only an
                # elementwise or matrix function of a bare delta, or a bare delta as the
                # whole result, needs it as an array.
                if i in self._dense_deltas:
                    results[i] = np.eye(size_of(node.dim, dim_size))
            else:  # pragma: no cover
                raise AssertionError(node.kind)
            for k in release[i]:  # intermediates whose last consumer was this node
                if k != root:
                    results[k] = None
        if built:
            self._contractions[shapes_key] = contractions
        out = results[-1]
        out = np.asarray(out, dtype=float)
        if not owned[root] and (
            not out.flags.writeable or not out.flags.owndata or root in self._inputs
        ):
            out = np.array(out)
        return out


def _run_sum(node: Sum, results, index_of, dim_size, owned, uses) -> tuple[np.ndarray, bool]:
    """Add the terms, accumulating in place into a temporary only this sum consumes."""
    shape = tuple(size_of(d, dim_size) for d in node.dims)
    if not node.terms:
        return np.zeros(shape), True
    indices = [index_of[t.key] for t in node.terms if not isinstance(t, Delta)]
    deltas = sum(1 for t in node.terms if isinstance(t, Delta))
    acc = None
    for position, k in enumerate(indices):
        value = results[k]
        if owned[k] and uses[k] == 1 and value.shape == shape:
            acc = value
            del indices[position]
            break
    if acc is None:
        if not indices:
            acc = np.zeros(shape)
        elif len(indices) == 1:
            acc = np.array(np.broadcast_to(results[indices[0]], shape))
            indices = []
        else:
            first, second = results[indices[0]], results[indices[1]]
            # np.array: np.add of two 0-d arrays returns a numpy scalar, not an out= buffer
            acc = np.add(first, second)
            if acc.shape != shape or not isinstance(acc, np.ndarray):
                acc = np.array(np.broadcast_to(acc, shape))
            indices = indices[2:]
    for k in indices:
        np.add(acc, results[k], out=acc)
    if deltas:  # a delta term adds 1 on the diagonal: no dense identity
        diagonal = np.arange(shape[0])
        acc[diagonal, diagonal] += deltas
    return acc, True


def _run_matfunc(node: MatFunc, value: np.ndarray, *more: np.ndarray) -> np.ndarray:
    try:
        if node.name == "solve":  # A^-1 B along B's first axis, for B of any rank
            rhs = more[0]
            return np.linalg.solve(value, rhs.reshape(rhs.shape[0], -1)).reshape(rhs.shape)
        if node.name == "inv":
            return np.linalg.inv(value)
        if node.name == "det":
            return np.asarray(np.linalg.det(value))
        sign, logabs = np.linalg.slogdet(value)
        return np.asarray(logabs if sign != 0 else -math.inf)
    except np.linalg.LinAlgError as err:
        raise EvaluationError(
            f"{node.name} of a singular matrix ({err}); check the values of {node.arg!r}"
        ) from None


def _run_logsumexp(node: LogSumExp, value: np.ndarray) -> np.ndarray:
    axes = node.axes
    if value.size == 0:
        return np.log(np.sum(np.exp(value), axis=axes))
    top = np.max(value, axis=axes, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(value - top), axis=axes, keepdims=True)) + top
    return np.squeeze(out, axis=axes) if axes else out


def compile(expr: Expr) -> Compiled:  # noqa: A001 - the public name of the contract
    """Plan ``expr`` once; the returned callable caches contraction paths per shape.

    >>> import numpy as np, einderiv as ed
    >>> x = ed.symbols("x[n]")
    >>> ed.compile(ed.sum(x * x))(x=np.array([1.0, 2.0]))
    array(5.)
    """
    cached = expr._cache.get("compiled") if isinstance(expr, Expr) else None
    if cached is None:
        cached = Compiled(expr)
        expr._cache["compiled"] = cached
    return cached
