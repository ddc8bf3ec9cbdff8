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

from .errors import EvaluationError
from .functions import FUNCTIONS
from .ir import (
    Delta,
    Expr,
    LogSumExp,
    MatFunc,
    Product,
    Size,
    Sum,
    Symbol,
    size_owners,
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
    letter: dict[int, str] = {}
    for _, labels in operands:
        for x in labels:
            if find(x) not in letter:  # a-z, A-Z, then opt_einsum's unicode symbols
                letter[find(x)] = opt_einsum.get_symbol(len(letter))
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
        if isinstance(expr, Delta):
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
                    step = _ProductStep(plan, [results[k] for k in plan.operands], dim_size)
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
                    arg = results[self.index_of[node.arg.key]]
                    results[i] = np.asarray(FUNCTIONS[node.name].evaluate(arg, node.param))
            elif kind == "matfunc":
                results[i] = _run_matfunc(node, results[self.index_of[node.arg.key]])
            elif kind == "logsumexp":
                results[i] = _run_logsumexp(node, results[self.index_of[node.arg.key]])
            elif kind == "size":
                results[i] = np.asarray(float(_size(node.dim, dim_size)))
            elif kind == "delta":
                # Products and sums place a delta themselves (diagonal writes); only an
                # elementwise or matrix function of a bare delta, or a bare delta as the
                # whole result, needs it as an array.
                if i in self._dense_deltas:
                    results[i] = np.eye(_size(node.dim, dim_size))
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


class _ProductStep:
    """One product at one set of shapes: planned contraction, scale and placement.

    The coefficient (times sizes of dangling summed dims) is applied where it is
    cheapest: folded into the smallest operand when it is a power of two (exact in
    floating point, so the result is unchanged), else in place on the fresh result.
    """

    __slots__ = (
        "operands", "contraction", "scale", "fold", "shaped", "out_shape", "tied",
        "rep_shape", "strides_of", "broadcast",
    )

    def __init__(self, plan: _ProductPlan, operands: list[np.ndarray], dim_size) -> None:
        scale = plan.coeff
        for dim in plan.sizes:
            scale *= _size(dim, dim_size)
        self.operands = plan.operands
        self.scale = scale
        self.contraction = None
        self.fold = -1  # operand position that takes the scale; -1: scale the result
        if plan.operands:
            shapes = [np.shape(x) for x in operands]
            self.contraction = _Contraction(plan.subscripts, shapes)
            if scale != 1.0 and _power_of_two(scale):
                out_size = math.prod(
                    _size(plan.rep_dims[r], dim_size) for r in plan.core_labels
                )
                sizes = [math.prod(shape) for shape in shapes]
                smallest = min(range(len(sizes)), key=sizes.__getitem__)
                if sizes[smallest] < out_size:
                    self.fold = smallest
        self.out_shape = tuple(_size(d, dim_size) for d in plan.out_dims)
        reps_order: list[int] = []
        for rep in plan.out_reps:
            if rep not in reps_order:
                reps_order.append(rep)
        self.shaped = tuple(
            (_size(plan.rep_dims[rep], dim_size) if rep in plan.core_labels else 1)
            for rep in reps_order
        )
        self.rep_shape = tuple(_size(plan.rep_dims[rep], dim_size) for rep in reps_order)
        self.tied = plan.tied
        self.strides_of = [reps_order.index(rep) for rep in plan.out_reps]
        self.broadcast = self.shaped != self.out_shape

    def __call__(self, results: list[Any]) -> tuple[np.ndarray, bool]:
        """The product's value and whether it is a fresh buffer nobody else holds."""
        scale = self.scale
        if self.contraction is not None:
            args = [results[k] for k in self.operands]
            if self.fold >= 0:
                args[self.fold] = args[self.fold] * scale
                scale = 1.0
            core = self.contraction(*args)
            fresh = _is_fresh(core, args)
            if scale != 1.0:
                if fresh:
                    np.multiply(core, scale, out=core)
                else:
                    core = core * scale
                    fresh = True
        else:
            core = np.asarray(scale)
            fresh = False
        if not self.tied:
            if not self.broadcast and core.shape == self.out_shape:
                return core, fresh and core.ndim > 0
            return np.broadcast_to(np.reshape(core, self.shaped), self.out_shape), False
        result = np.zeros(self.out_shape)
        strides = [0] * len(self.rep_shape)
        for axis, position in enumerate(self.strides_of):
            strides[position] += result.strides[axis]
        view = np.lib.stride_tricks.as_strided(
            result, shape=self.rep_shape, strides=strides, writeable=True
        )
        view[...] = np.reshape(core, self.shaped)
        return result, True


try:  # the C einsum without np.einsum's argument parsing (numpy >= 2 path, then 1.x)
    from numpy._core.multiarray import c_einsum as _c_einsum
except ImportError:  # pragma: no cover - older numpy
    try:
        from numpy.core.multiarray import c_einsum as _c_einsum
    except ImportError:
        _c_einsum = np.einsum


class _Contraction:
    """An opt_einsum contraction path at fixed shapes, run with little per-call overhead.

    The path comes from ``opt_einsum.contract_expression`` (``dp``: optimal in flops for the
    operand counts products have; ``greedy`` beyond).  Each pairwise step that BLAS can
    do becomes one ``np.dot`` on reshaped views (the reshapes and transposes are worked
    out here, once); every other step is one C ``einsum`` call.  Same steps and order as
    ``opt_einsum.contract``, without re-parsing them on every call.
    """

    __slots__ = ("steps", "contraction_list")

    def __init__(self, subscripts: str, shapes: list[tuple[int, ...]]) -> None:
        optimize = "dp" if len(shapes) <= 12 else "greedy"
        if len(shapes) == 1:
            optimize = "greedy"
        planned = opt_einsum.contract_expression(subscripts, *shapes, optimize=optimize)
        self.contraction_list = planned.contraction_list
        shapes = [tuple(x) for x in shapes]
        letters = subscripts.split("->")[0].split(",")
        size: dict[str, int] = {}
        for term, shape in zip(letters, shapes, strict=True):
            size.update(zip(term, shape, strict=True))
        self.steps: list[tuple] = []
        for inds, _, einsum_str, _, blas in planned.contraction_list:
            inputs, result = einsum_str.split("->")
            terms = inputs.split(",")
            if blas and "EINSUM" not in blas and len(terms) == 2:
                self.steps.append((inds, "dot", _dot_plan(terms[0], terms[1], result, size)))
            else:
                self.steps.append((inds, "einsum", einsum_str))

    def __call__(self, *operands: np.ndarray) -> np.ndarray:
        """Contract ``operands`` (in the subscripts' order)."""
        ops = list(operands)
        for inds, how, payload in self.steps:
            taken = [ops.pop(x) for x in inds]
            if how == "dot":
                perm_a, shape_a, perm_b, shape_b, shape_out, perm_out = payload
                a, b = taken
                if perm_a is not None:
                    a = a.transpose(perm_a)
                if perm_b is not None:
                    b = b.transpose(perm_b)
                value = np.dot(a.reshape(shape_a), b.reshape(shape_b)).reshape(shape_out)
                if perm_out is not None:
                    value = value.transpose(perm_out)
            else:
                value = _c_einsum(payload, *taken)
            ops.append(value)
        return ops[0]


def _dot_plan(left: str, right: str, result: str, size: dict[str, int]) -> tuple:
    """Reshapes and transposes that turn a pairwise contraction into one ``np.dot``."""
    summed = [c for c in left if c in right and c not in result]
    free_a = [c for c in left if c not in summed]
    free_b = [c for c in right if c not in summed]
    order_a = free_a + summed
    order_b = summed + free_b
    perm_a = tuple(left.index(c) for c in order_a)
    perm_b = tuple(right.index(c) for c in order_b)
    k = math.prod(size[c] for c in summed)
    # 1-D shapes where a side has no free axes: np.dot is then a matrix-vector product
    shape_a = (math.prod(size[c] for c in free_a), k) if free_a else (k,)
    shape_b = (k, math.prod(size[c] for c in free_b)) if free_b else (k,)
    tensor = free_a + free_b
    shape_out = tuple(size[c] for c in tensor)
    perm_out = tuple(tensor.index(c) for c in result)
    return (
        None if perm_a == tuple(range(len(left))) else perm_a,
        shape_a,
        None if perm_b == tuple(range(len(right))) else perm_b,
        shape_b,
        shape_out,
        None if perm_out == tuple(range(len(result))) else perm_out,
    )


def _is_fresh(value: Any, args: list[Any]) -> bool:
    """True when ``value`` is writable and its memory belongs to none of ``args``.

    A contraction's result may be a view (tensordot reshapes, a transposed result) of a
    buffer it allocated -- fresh -- or a view of an operand (an identity einsum) -- not.
    """
    if not isinstance(value, np.ndarray) or not value.flags.writeable:
        return False
    owner = value if value.base is None else value.base
    if not isinstance(owner, np.ndarray) or owner.base is not None:
        return False
    for arg in args:
        if owner is arg or owner is getattr(arg, "base", None):
            return False
    return True


def _power_of_two(value: float) -> bool:
    """True for +-2**k: scaling by it is exact (barring overflow and underflow)."""
    mantissa, _ = math.frexp(value)
    return abs(mantissa) == 0.5


def _size(dim: str, dim_size: Mapping[str, int]) -> int:
    if dim == "1":
        return 1
    if dim not in dim_size:
        raise EvaluationError(
            f"the size of dim '{dim}' is unknown: no symbol in the expression has it; "
            f"pass sizes={{'{dim}': ...}} to evaluate()"
        )
    return dim_size[dim]


def _run_sum(node: Sum, results, index_of, dim_size, owned, uses) -> tuple[np.ndarray, bool]:
    """Add the terms, accumulating in place into a temporary only this sum consumes."""
    shape = tuple(_size(d, dim_size) for d in node.dims)
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

        return evaluate_with_backend(expr, values, backend, sizes)
    return compile(expr).run(values, sizes)
