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
from dataclasses import dataclass
from typing import Any

import numpy as np
import opt_einsum

from .canonical import is_symmetric  # noqa: F401 - re-exported for evaluators
from .errors import EvaluationError
from .functions import FUNCTIONS
from .ir import (
    DIM_OWNERS,
    Delta,
    Expr,
    Func,
    LogSumExp,
    MatFunc,
    Product,
    Size,
    Sum,
    Symbol,
    topological,
)

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass
class _ProductPlan:
    """How one product is evaluated: an einsum over its non-delta factors, then placement."""

    coeff: float
    operands: list[int]  # step indices of the einsum operands
    subscripts: str  # einsum subscripts over representative labels
    sizes: list[str]  # dims whose sizes multiply the result (dangling summed labels, Size)
    out_dims: tuple[str, ...]
    core_labels: tuple[int, ...]  # representative labels of the einsum output, in order
    out_reps: tuple[int, ...]  # representative of each output axis
    rep_dims: dict[int, str]
    tied: bool  # some output axes share a representative (a surviving delta)


def _plan_product(node: Product, index_of: dict[str, int]) -> _ProductPlan:
    parent = list(range(len(node.ldims)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    out_set = set(node.out)
    operands: list[tuple[int, tuple[int, ...]]] = []
    sizes: list[str] = []
    for factor, labels in node.factors:
        if isinstance(factor, Delta):
            a, b = find(labels[0]), find(labels[1])
            if a != b:
                # prefer an output label as the representative
                if b in out_set and a not in out_set:
                    a, b = b, a
                parent[b] = a
        elif isinstance(factor, Size):
            sizes.append(factor.dim)
        else:
            operands.append((index_of[factor.key], labels))
    reps_in_factors = {find(x) for _, ls in operands for x in ls}
    out_reps = tuple(find(x) for x in node.out)
    # summed classes that no operand carries: each contributes its dim's size
    classes = {find(x) for x in range(len(node.ldims))}
    for rep in sorted(classes - reps_in_factors - set(out_reps)):
        if node.ldims[rep] != "1":
            sizes.append(node.ldims[rep])
    core: list[int] = []
    for rep in out_reps:
        if rep in reps_in_factors and rep not in core:
            core.append(rep)
    letter = {}
    for _, labels in operands:
        for x in labels:
            letter.setdefault(find(x), _LETTERS[len(letter)] if len(letter) < 52 else None)
    if any(v is None for v in letter.values()):
        raise EvaluationError("a product with more than 52 distinct indices cannot be evaluated")
    subscripts = ",".join("".join(letter[find(x)] for x in ls) for _, ls in operands)
    subscripts += "->" + "".join(letter[r] for r in core)
    return _ProductPlan(
        coeff=node.coeff,
        operands=[i for i, _ in operands],
        subscripts=subscripts,
        sizes=sizes,
        out_dims=node.dims,
        core_labels=tuple(core),
        out_reps=out_reps,
        rep_dims={find(x): node.ldims[x] for x in range(len(node.ldims))},
        tied=len(set(out_reps)) < len(out_reps),
    )


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
        self.plans: dict[int, _ProductPlan] = {
            i: _plan_product(node, self.index_of)
            for i, node in enumerate(self.nodes)
            if isinstance(node, Product)
        }
        self._contractions: dict[tuple, list[Callable | None]] = {}
        self.dims_needed = sorted({d for node in self.nodes for d in node.dims})
        self._dense_deltas = {
            self.index_of[child.key]
            for node in self.nodes
            if not isinstance(node, (Product, Sum))
            for child in node.children
            if isinstance(child, Delta)
        }
        if isinstance(expr, Delta):
            self._dense_deltas.add(len(self.nodes) - 1)

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
        """Sizes of dims no symbol here carries, read off other values passed (e.g. ``X``
        for ``diff(X @ W, X)``, whose result no longer contains ``X``)."""
        for dim in self.dims_needed:
            if dim in dim_size or dim == "1":
                continue
            for name, axis, rank in DIM_OWNERS.get(dim, ()):
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
        results: list[Any] = [None] * len(self.nodes)
        if contractions is None:
            contractions = [None] * len(self.nodes)
        built = False
        for i, node in enumerate(self.nodes):
            if isinstance(node, Symbol):
                results[i] = arrays[node.name]
            elif isinstance(node, Product):
                plan = self.plans[i]
                if contractions[i] is None and plan.operands:
                    shapes = [results[k].shape for k in plan.operands]
                    contractions[i] = opt_einsum.contract_expression(
                        plan.subscripts, *shapes, optimize="auto"
                    )
                    built = True
                results[i] = _run_product(plan, contractions[i], results, dim_size)
            elif isinstance(node, Sum):
                results[i] = _run_sum(node, results, self.index_of, dim_size)
            elif isinstance(node, Func):
                with np.errstate(all="ignore"):
                    arg = results[self.index_of[node.arg.key]]
                    results[i] = np.asarray(FUNCTIONS[node.name].evaluate(arg, node.param))
            elif isinstance(node, MatFunc):
                results[i] = _run_matfunc(node, results[self.index_of[node.arg.key]])
            elif isinstance(node, LogSumExp):
                results[i] = _run_logsumexp(node, results[self.index_of[node.arg.key]])
            elif isinstance(node, Size):
                results[i] = np.asarray(float(_size(node.dim, dim_size)))
            elif isinstance(node, Delta):
                # Products and sums place a delta themselves (diagonal writes); only an
                # elementwise or matrix function of a bare delta, or a bare delta as the
                # whole result, needs it as an array.
                if i in self._dense_deltas:
                    results[i] = np.eye(_size(node.dim, dim_size))
            else:  # pragma: no cover
                raise AssertionError(node.kind)
        if built:
            self._contractions[shapes_key] = contractions
        out = results[-1]
        out = np.asarray(out, dtype=float)
        if not out.flags.writeable or not out.flags.owndata:
            out = np.array(out)
        return out


def _size(dim: str, dim_size: Mapping[str, int]) -> int:
    if dim == "1":
        return 1
    if dim not in dim_size:
        raise EvaluationError(
            f"the size of dim '{dim}' is unknown: no symbol in the expression has it; "
            f"pass sizes={{'{dim}': ...}} to evaluate()"
        )
    return dim_size[dim]


def _run_product(plan: _ProductPlan, contraction, results, dim_size) -> np.ndarray:
    scale = plan.coeff
    for dim in plan.sizes:
        scale *= _size(dim, dim_size)
    if plan.operands:
        core = contraction(*(results[k] for k in plan.operands))
        if scale != 1.0:
            core = core * scale
    else:
        core = np.asarray(scale)
    out_shape = tuple(_size(d, dim_size) for d in plan.out_dims)
    reps_order: list[int] = []
    for rep in plan.out_reps:
        if rep not in reps_order:
            reps_order.append(rep)
    # Arrange the core over the distinct output representatives (broadcast the missing).
    expand = []
    for rep in reps_order:
        expand.append(rep in plan.core_labels)
    core = np.asarray(core)
    shaped = core.reshape(
        tuple(
            (_size(plan.rep_dims[rep], dim_size) if present else 1)
            for rep, present in zip(reps_order, expand, strict=True)
        )
    )
    rep_shape = tuple(_size(plan.rep_dims[rep], dim_size) for rep in reps_order)
    if not plan.tied:
        return np.broadcast_to(shaped, out_shape)
    result = np.zeros(out_shape)
    strides = [0] * len(reps_order)
    for axis, rep in enumerate(plan.out_reps):
        strides[reps_order.index(rep)] += result.strides[axis]
    view = np.lib.stride_tricks.as_strided(result, shape=rep_shape, strides=strides, writeable=True)
    view[...] = shaped
    return result


def _run_sum(node: Sum, results, index_of, dim_size) -> np.ndarray:
    shape = tuple(_size(d, dim_size) for d in node.dims)
    if not node.terms:
        return np.zeros(shape)
    values = [results[index_of[t.key]] for t in node.terms if not isinstance(t, Delta)]
    deltas = [t for t in node.terms if isinstance(t, Delta)]
    if not values:
        acc = np.zeros(shape)
    else:
        # np.array: np.add of two 0-d arrays returns a numpy scalar, not an out= buffer
        acc = np.array(np.add(values[0], values[1]) if len(values) > 1 else values[0])
        for value in values[2:]:
            np.add(acc, value, out=acc)
    if deltas:  # a delta term adds 1 on the diagonal: no dense identity
        if acc.shape != shape:
            acc = np.array(np.broadcast_to(acc, shape))
        diagonal = np.arange(shape[0])
        acc[diagonal, diagonal] += len(deltas)
    return np.broadcast_to(acc, shape) if acc.shape != shape else acc


def _run_matfunc(node: MatFunc, value: np.ndarray) -> np.ndarray:
    try:
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


def evaluate(
    expr: Expr,
    values: Mapping[str, Any],
    backend: str = "numpy",
    sizes: Mapping[str, int] | None = None,
) -> np.ndarray:
    """Evaluate ``expr`` at ``values`` (symbol name -> array)."""
    if backend != "numpy":
        from .backends import evaluate_with_backend

        return evaluate_with_backend(expr, values, backend)
    return compile(expr).run(values, sizes)
