"""Backends: evaluate an expression with jax, torch, cupy or dask arrays.

Contract: :func:`evaluate_with_backend` checks the values against the symbols exactly as
the numpy evaluator does (same :class:`~einderiv.errors.EvaluationError` messages, read
off the values' shapes only, so nothing leaves the device), then walks the DAG once per
call: every product is one ``opt_einsum`` contraction planned per shape
(``contract_expression(...)`` called with ``backend=``), elementwise and matrix functions
come from the backend's own array module, and the result is the backend's array type
(a jax array, a torch tensor, a cupy array, a lazy dask array).  Inputs are converted
with the backend's ``asarray``; numpy inputs become float64 (jax keeps its own default
dtype unless ``jax_enable_x64`` is on).  A Kronecker delta that survives simplification is
applied as an identity matrix here (no strided diagonal writes outside numpy).

>>> import numpy as np, einderiv as ed
>>> from einderiv.evaluate.backends import BACKENDS
>>> sorted(BACKENDS)
['cupy', 'dask', 'jax', 'torch']
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import opt_einsum

from einderiv.errors import EvaluationError
from einderiv.evaluate.compiled import compile
from einderiv.evaluate.plan import plan_product
from einderiv.functions import FUNCTIONS
from einderiv.ir.nodes import Expr, Product

BACKENDS: dict[str, str] = {
    "jax": "jax.numpy",
    "torch": "torch",
    "cupy": "cupy",
    "dask": "dask.array",
}


class _Ops:
    """The array operations one backend needs, by name (numpy-like by default)."""

    def __init__(self, backend: str) -> None:
        module_name = BACKENDS[backend]
        try:
            self.xp = importlib.import_module(module_name)
        except ImportError as err:
            raise EvaluationError(
                f"backend '{backend}' needs the package '{module_name.split('.')[0]}', which is "
                f"not installed ({err}); install it or use backend='numpy'"
            ) from None
        self.backend = backend

    # -- conversion ---------------------------------------------------------------------
    def asarray(self, value: Any) -> Any:
        """The backend's array for ``value`` (numpy input becomes float64)."""
        xp = self.xp
        if self.backend == "torch":
            if isinstance(value, xp.Tensor):
                return value if value.is_floating_point() else value.double()
            return xp.as_tensor(np.asarray(value, dtype=np.float64))
        if self.backend == "dask":
            if isinstance(value, xp.Array):
                return value.astype(float)
            return xp.from_array(np.asarray(value, dtype=np.float64))
        if self.backend == "jax" and isinstance(value, np.ndarray | float | int | list):
            return xp.asarray(np.asarray(value, dtype=np.float64))
        return xp.asarray(value)

    def scalar(self, value: float, like: Any = None) -> Any:
        """A 0-d array holding ``value``."""
        if self.backend == "torch":
            dtype = like.dtype if like is not None else self.xp.float64
            return self.xp.tensor(value, dtype=dtype)
        return self.xp.asarray(value)

    def eye(self, n: int, like: Any = None) -> Any:
        """The identity matrix of size ``n``."""
        if self.backend == "torch":
            dtype = like.dtype if like is not None else self.xp.float64
            return self.xp.eye(n, dtype=dtype)
        if like is not None:
            return self.xp.eye(n, dtype=like.dtype)
        return self.xp.eye(n)

    def zeros(self, shape: tuple[int, ...]) -> Any:
        """Zeros of ``shape``."""
        if self.backend == "torch":
            return self.xp.zeros(shape, dtype=self.xp.float64)
        return self.xp.zeros(shape)

    def broadcast_to(self, value: Any, shape: tuple[int, ...]) -> Any:
        """``value`` broadcast to ``shape``."""
        if tuple(value.shape) == tuple(shape):
            return value
        if self.backend == "torch":
            return value.expand(*shape) if shape else value.reshape(())
        return self.xp.broadcast_to(value, shape)

    # -- functions ----------------------------------------------------------------------
    def func(self, name: str, *args: Any, param: float | None) -> Any:
        """Elementwise ``name(*args)`` with the backend's own kernels (the registry's ``array``)."""
        return FUNCTIONS[name].array(self.xp, *args, param)

    def matfunc(self, name: str, x: Any, *more: Any) -> Any:
        """``inv``/``det``/``logdet``/``solve`` with the backend's linear algebra."""
        linalg = getattr(self.xp, "linalg", None)
        if linalg is None or not hasattr(linalg, "inv"):
            raise EvaluationError(
                f"{name} is not available with backend '{self.backend}' (its array module has "
                "no linalg.inv/det/slogdet); evaluate this expression with backend='numpy'"
            )
        if name == "solve":  # A^-1 B along B's first axis, for B of any rank
            rhs = more[0]
            return linalg.solve(x, rhs.reshape(rhs.shape[0], -1)).reshape(rhs.shape)
        if name == "inv":
            return linalg.inv(x)
        if name == "det":
            return linalg.det(x)
        sign, logabs = linalg.slogdet(x)
        return logabs + 0.0 * sign

    def logsumexp(self, x: Any, axes: tuple[int, ...]) -> Any:
        """``log(sum(exp(x), axes))``, stably."""
        if not axes:
            return x
        if self.backend == "torch":
            return self.xp.logsumexp(x, dim=axes)
        if self.backend == "jax":
            import jax.scipy.special

            return jax.scipy.special.logsumexp(x, axis=axes)
        xp = self.xp
        top = xp.max(x, axis=axes, keepdims=True)
        top = xp.where(xp.isfinite(top), top, 0.0)
        out = xp.log(xp.sum(xp.exp(x - top), axis=axes, keepdims=True)) + top
        return xp.squeeze(out, axis=axes)


def _placeholder(value: Any) -> np.ndarray:
    """A zero-memory float array of ``value``'s shape (validation without copying data)."""
    shape = tuple(int(n) for n in getattr(value, "shape", np.shape(value)))
    return np.lib.stride_tricks.as_strided(np.zeros(1), shape=shape, strides=(0,) * len(shape))


def evaluate_with_backend(
    expr: Expr,
    values: Mapping[str, Any],
    backend: str,
    sizes: Mapping[str, int] | None = None,
) -> Any:
    """Evaluate ``expr`` with ``backend`` (``jax``, ``torch``, ``cupy`` or ``dask``).

    Returns the backend's array type.  Errors in the values are the numpy evaluator's.
    """
    if backend not in BACKENDS:
        raise EvaluationError(
            f"unknown backend {backend!r}; choose one of numpy, {', '.join(sorted(BACKENDS))}"
        )
    if not isinstance(values, Mapping):
        raise EvaluationError(
            f"values must be a dict of arrays by symbol name, got {type(values).__name__}"
        )
    ops = _Ops(backend)
    compiled = compile(expr)
    shapes_only = {name: _placeholder(value) for name, value in values.items()}
    _, dim_size = compiled.bind(shapes_only, sizes)
    cache: dict[tuple, dict[int, Callable]] = expr._cache.setdefault(f"backend:{backend}", {})
    key = tuple(sorted(dim_size.items()))
    contractions = cache.setdefault(key, {})

    def size_of(dim: str) -> int:
        if dim == "1":
            return 1
        if dim not in dim_size:
            raise EvaluationError(
                f"the size of dim '{dim}' is unknown: no symbol in the expression has it; "
                f"pass sizes={{'{dim}': ...}} to evaluate()"
            )
        return dim_size[dim]

    nodes = compiled.nodes
    index_of = compiled.index_of
    results: list[Any] = [None] * len(nodes)
    for i, node in enumerate(nodes):
        kind = node.kind
        if kind == "symbol":
            results[i] = ops.asarray(values[node.name])
        elif kind == "product":
            results[i] = _product(node, i, results, index_of, ops, size_of, contractions,
                                  plan_product)
        elif kind == "sum":
            shape = tuple(size_of(d) for d in node.dims)
            acc = None
            for term in node.terms:
                if term.kind == "delta":
                    value = ops.eye(size_of(term.dim))
                else:
                    value = results[index_of[term.key]]
                acc = value if acc is None else acc + value
            results[i] = ops.zeros(shape) if acc is None else ops.broadcast_to(acc, shape)
        elif kind == "func":
            args = [results[index_of[a.key]] for a in node.args]
            results[i] = ops.func(node.name, *args, param=node.param)
        elif kind == "matfunc":
            results[i] = ops.matfunc(node.name, *(results[index_of[a.key]] for a in node.args))
        elif kind == "logsumexp":
            results[i] = ops.logsumexp(results[index_of[node.arg.key]], node.axes)
        elif kind == "size":
            results[i] = ops.scalar(float(size_of(node.dim)))
        elif kind == "delta":
            results[i] = ops.eye(size_of(node.dim))
        else:  # pragma: no cover
            raise AssertionError(kind)
    return results[-1]


def _product(node: Product, i: int, results, index_of, ops: _Ops, size_of, contractions,
             plan_product) -> Any:
    """One product: contraction over non-delta factors, then deltas as identities."""
    plan = plan_product(node, index_of)
    scale = plan.coeff
    for dim in plan.sizes:
        scale *= size_of(dim)
    letters: dict[int, str] = {}
    inputs, output = plan.subscripts.split("->")
    # letters of the plan's subscripts, by representative label (core order = output order)
    for rep, letter in zip(plan.core_labels, output, strict=True):
        letters[rep] = letter
    operands = [results[k] for k in plan.operands]
    if operands:
        expression = contractions.get(i)
        if expression is None:
            shapes = [tuple(x.shape) for x in operands]
            expression = opt_einsum.contract_expression(plan.subscripts, *shapes, optimize="dp")
            contractions[i] = expression
        core = expression(*operands, backend=ops.backend)
        if scale != 1.0:
            core = core * scale
    else:
        core = ops.scalar(scale)
    # Place the core over the output axes: broadcast missing reps, tie repeated ones.
    used = set(output) | set(inputs.replace(",", ""))
    spare = iter(c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in used)
    out_letters: list[str] = []
    seen: set[int] = set()
    eyes: list[tuple[str, int]] = []
    for rep in plan.out_reps:
        if rep not in letters:
            letters[rep] = next(spare)
            eyes.append((letters[rep], -1))  # broadcast axis: a ones vector
        if rep in seen:  # a tied axis: a new letter joined to the first by an identity
            letter = next(spare)
            eyes.append((letters[rep] + letter, size_of(plan.rep_dims[rep])))
            out_letters.append(letter)
        else:
            seen.add(rep)
            out_letters.append(letters[rep])
    if not eyes:
        return core
    terms = [output]
    arrays = [core]
    for spec, n in eyes:
        if n == -1:
            rep = next(r for r, c in letters.items() if c == spec)
            dim = size_of(plan.rep_dims[rep])
            terms.append(spec)
            arrays.append(ops.broadcast_to(ops.scalar(1.0, core), (dim,)))
        else:
            terms.append(spec)
            arrays.append(ops.eye(n, core))
    target = "".join(out_letters)
    if math.prod(size_of(d) for d in plan.out_dims) == 0:
        return ops.zeros(tuple(size_of(d) for d in plan.out_dims))
    return opt_einsum.contract(",".join(terms) + "->" + target, *arrays, backend=ops.backend)
