"""The compiled evaluator: the interpreter (the reference path) and the generated code's entry.

Contract: :func:`compile` plans once -- one step per distinct node, so a shared
subexpression is computed once per call.  A call goes through generated straight-line code
where the backend has it (numpy, torch, jax: :mod:`einderiv.evaluate.generated`), else
through the interpreter, :meth:`Compiled.interpret`: one loop over the DAG that caches, per
tuple of input shapes, a :class:`~einderiv.evaluate.steps.ProductStep` (an ``opt_einsum``
path planned once) for every product.  Every backend (numpy, jax, torch, cupy, dask) runs
the same loop; what differs is read from its :class:`~einderiv.evaluate.ops.Backend` table,
and numpy's fast paths (BLAS steps, strided diagonal writes, in-place sums, releasing
intermediates) are that table's operations.  A Kronecker delta that survives
simplification is never multiplied in as a dense identity.  Generated code and the
interpreter give the same values (to rounding) and raise the same errors.

Values are checked against the declared dims from their shapes only
(:mod:`einderiv.evaluate.binding`; nothing is copied to the host): a missing value, a wrong
rank, a size that disagrees between two symbols sharing a dim -- each an
:class:`~einderiv.errors.EvaluationError` naming symbol, axis and sizes; so is a part with
more than numpy's 64 dims, or an array larger than the machine's memory (with the advice to
use a vjp or jvp).  Dtype and device policy: the call computes in the inputs' dtypes
promoted as numpy promotes them (float32 stays float32; integers count as float64; jax
canonicalizes, so without ``jax_enable_x64`` it computes in float32) on the inputs' device,
and every node's value -- identities, zeros and constants included -- is made in that dtype
and device.

>>> import numpy as np, einderiv as ed
>>> W, x = ed.symbols("W[n,m] x[m]")
>>> f = ed.compile(ed.tanh(W @ x))
>>> f(W=np.zeros((2, 3)), x=np.ones(3))
array([0., 0.])
>>> f(W=np.zeros((2, 3), dtype=np.float32), x=np.ones(3, dtype=np.float32)).dtype
dtype('float32')
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from einderiv.errors import EvaluationError
from einderiv.evaluate.binding import Binder, Bound, check_values
from einderiv.evaluate.calls import matfunc, refused
from einderiv.evaluate.generated import Generated, generates
from einderiv.evaluate.ops import Backend, Placement
from einderiv.evaluate.plan import ProductPlan, plan_product, size_of
from einderiv.evaluate.steps import ProductStep
from einderiv.evaluate.structure import bounds, sign_of
from einderiv.functions import FUNCTIONS
from einderiv.ir.nodes import Delta, Expr, Product, Sum, Symbol, size_owners, unwrap
from einderiv.ir.traversal import topological

#: numpy's most dimensions per array (NPY_MAXDIMS)
MAX_DIMS = 64


def _memory_bytes() -> int | None:
    """This machine's physical memory in bytes, where the OS says (None elsewhere)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return None


MEMORY = _memory_bytes()


class Compiled:
    """A compiled evaluator: ``fn(W=..., x=...)`` or ``fn({"W": ..., "x": ...})``.

    ``backend`` names the array library (``numpy`` by default; ``jax``, ``torch``,
    ``cupy``, ``dask``); results are that library's arrays.  ``generate=False`` keeps every
    call on the interpreter (the reference path); :meth:`interpret` is that path.
    """

    def __init__(self, expr: Expr, backend: str | Backend = "numpy", generate: bool = True) -> None:
        if not isinstance(expr, Expr):
            raise EvaluationError(
                f"compile expects an einderiv expression, got {type(expr).__name__}; build "
                "one with ed.parse(text, shapes=...) or ed.symbols(...)"
            )
        self.binder = Binder(expr, backend)
        self.backend = self.binder.backend
        self.expr = expr
        self.nodes = topological(expr)
        self.index_of = {node.key: i for i, node in enumerate(self.nodes)}
        self.symbols = self.binder.symbols
        self.symmetric_names = self.binder.symmetric
        self.plans: dict[int, ProductPlan] = {
            i: plan_product(node, self.index_of)
            for i, node in enumerate(self.nodes)
            if isinstance(node, Product)
        }
        # sums: the positions of their non-delta terms and how many delta terms they add
        self.sum_terms: dict[int, tuple[list[int], int]] = {
            i: (
                [self.index_of[t.key] for t in node.terms if not isinstance(t, Delta)],
                sum(1 for t in node.terms if isinstance(t, Delta)),
            )
            for i, node in enumerate(self.nodes)
            if isinstance(node, Sum)
        }
        self._steps: dict[tuple, list[Any]] = {}
        self.dense_deltas = {
            self.index_of[child.key]
            for node in self.nodes
            if not isinstance(node, (Product, Sum))
            for child in node.children
            if isinstance(child, Delta)
        }
        if isinstance(unwrap(expr), Delta):
            self.dense_deltas.add(len(self.nodes) - 1)
        # consumers of each node, and the nodes whose last consumer is node i
        self._uses = [0] * len(self.nodes)
        consumers: dict[int, set[int]] = {}
        last: dict[int, int] = {}
        for i, node in enumerate(self.nodes):
            for child in node.children:
                k = self.index_of[child.key]
                self._uses[k] += 1
                last[k] = i
                consumers.setdefault(k, set()).add(i)
        self.consumer_of = {k: next(iter(c)) for k, c in consumers.items() if len(c) == 1}
        # does every consumer of node k absorb a coefficient (products and sums do)?
        self.absorbs = [
            k != len(self.nodes) - 1
            and all(self.nodes[i].kind in ("product", "sum") for i in consumers.get(k, ()))
            for k in range(len(self.nodes))
        ]
        self.use_counts = self._uses
        self._release: list[list[int]] = [[] for _ in self.nodes]
        for k, i in last.items():
            self._release[i].append(k)
        self._inputs = {i for i, n in enumerate(self.nodes) if isinstance(n, Symbol)}
        self._quiet = any(n.kind in ("func", "logsumexp") for n in self.nodes)
        # the position of each node's first child (the argument of a function)
        self._arg = [self.index_of[n.children[0].key] if n.children else -1 for n in self.nodes]
        carried = {d for sym in self.symbols for d in sym.dims}
        owners: dict[str, None] = {}
        for dim in self.binder.dims_needed:
            if dim not in carried and dim != "1":
                for name, _, _ in size_owners(expr, dim):
                    owners[name] = None
        self.owner_names = [name for name in owners if name not in carried]
        self.rank = max((len(n.dims) for n in self.nodes), default=0)
        self._signs: list[int] | None = None
        self.generated = Generated(self) if generate and generates(self.backend.name) else None

    @property
    def signs(self) -> list[int]:
        """The proven sign of every node's entries (1, -1, 0: unknown), in DAG order."""
        if self._signs is None:
            self._signs = [sign_of(b) for b in bounds(self.expr)]
        return self._signs

    # -- binding values ---------------------------------------------------------------
    def bind(self, values: Mapping[str, Any], sizes: Mapping[str, int] | None = None) -> Bound:
        """Check ``values`` against the symbols by shape and dtype only.

        Returns the backend's arrays by name (in the call's dtype, on its device), the dim
        sizes, and the call's :class:`~einderiv.evaluate.ops.Placement`.
        """
        return self.binder.bind(values, sizes)

    def check_symmetric(self, arrays: Mapping[str, Any]) -> None:
        """Refuse a value of a symmetric symbol that is not symmetric."""
        self.binder.check_symmetric(arrays)

    def check_limits(self, dim_size: Mapping[str, int], placement: Placement) -> None:
        """Refuse what cannot be evaluated here: more than 64 dims, arrays beyond the memory."""
        if self.rank > MAX_DIMS:
            node = max(self.nodes, key=lambda n: len(n.dims))
            raise EvaluationError(
                f"a part of this expression has {len(node.dims)} dims, more than the {MAX_DIMS} "
                "a numpy array can have (NPY_MAXDIMS); differentiate with a vjp or jvp "
                "instead of the full derivative, or reshape the input to fewer axes"
            )
        if MEMORY is None:
            return
        itemsize = placement.dtype.itemsize
        largest = 0
        shape: tuple[int, ...] = ()
        for node in self.nodes:
            if node.kind in ("delta", "symbol") or (
                node.kind == "product" and not node.children
            ):
                continue
            entries = math.prod(size_of(d, dim_size) for d in node.dims)
            if entries > largest:
                largest, shape = entries, tuple(size_of(d, dim_size) for d in node.dims)
        if largest * itemsize > MEMORY:
            raise self._too_big(shape, largest * itemsize, placement)

    def _too_big(self, shape: tuple, nbytes: float, placement: Placement) -> EvaluationError:
        where = f"more than this machine's memory ({MEMORY / 2**30:.1f} GiB)" if MEMORY else \
            "more memory than there is"
        return EvaluationError(
            f"evaluating this expression needs an array of shape {shape} "
            f"({math.prod(shape):.3g} entries, {nbytes / 2**30:.1f} GiB in {placement.dtype}), "
            f"{where}; for a derivative this size compute a vjp (ed.vjp(f, 'x', 'g')) or a "
            "jvp (ed.jvp(f, 'x', 'v')) instead of the full Jacobian, or evaluate at smaller sizes"
        )

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
        if not kwargs and values is not None and self.generated is not None:
            try:
                return self.generated.entry(values)
            except MemoryError:
                raise self._out_of_memory(values, None) from None
        if kwargs:
            if values is not None:
                check_values(values)
            merged = dict(values or {})
            merged.update(kwargs)
            values = merged
        return self.run({} if values is None else values)

    def run(self, values: Mapping[str, Any], sizes: Mapping[str, int] | None = None) -> Any:
        """Evaluate; ``sizes`` gives dims that no symbol in the expression carries."""
        try:
            if self.generated is not None:
                return self.generated.entry(values, sizes)
            return self.interpret(values, sizes)
        except MemoryError:
            raise self._out_of_memory(values, sizes) from None

    def interpret(self, values: Mapping[str, Any], sizes: Mapping[str, int] | None = None) -> Any:
        """Evaluate with the interpreter: the reference path every generated body matches."""
        arrays, dim_size, placement = self.bind(values, sizes)
        self.check_limits(dim_size, placement)
        try:
            return self.interpret_bound(arrays, dim_size, placement)
        except MemoryError:
            raise self._out_of_memory(values, sizes) from None

    def interpret_bound(
        self,
        arrays: dict[str, Any],
        dim_size: dict[str, int],
        placement: Placement,
        steps: list[Any] | None = None,
        check: bool = True,
    ) -> Any:
        """The interpreter on values already bound (``steps``: a cache to fill, e.g. under jit)."""
        shapes_key = tuple(sorted(dim_size.items()))
        if steps is None:
            steps = self._steps.get(shapes_key)
            if steps is None:
                steps = [None] * len(self.nodes)
                if len(self._steps) < 64:
                    self._steps[shapes_key] = steps
        if self._quiet:  # numpy: log(0) is -inf, not a warning (one errstate per call)
            with self.backend.quiet():
                value, owned = self._interpret(arrays, dim_size, placement, steps)
        else:
            value, owned = self._interpret(arrays, dim_size, placement, steps)
        root = len(self.nodes) - 1
        return self.backend.finish(value, owned, root in self._inputs, arrays, placement)

    def _out_of_memory(self, values: Any, sizes: Any) -> EvaluationError:
        try:
            _, dim_size, placement = self.bind(values, sizes)
        except EvaluationError as err:
            return err
        shape = tuple(size_of(d, dim_size) for d in self.nodes[-1].dims)
        return self._too_big(shape, math.prod(shape) * placement.dtype.itemsize, placement)

    def source(self, values: Mapping[str, Any] | None = None, /, sizes: Any = None,
               **kwargs: Any) -> str:
        """The Python source generated for these values' signature ('' for the interpreter)."""
        merged = dict(values or {})
        merged.update(kwargs)
        if self.generated is None:
            return ""
        return self.generated.source(merged, sizes)

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
                terms, deltas = self.sum_terms[i]
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
                    raise refused(backend, f"function '{node.name}'", placement, err) from None
                results[i] = conform(value, placement)
            elif kind == "matfunc":
                args = [results[self.index_of[child.key]] for child in node.children]
                results[i] = conform(matfunc(backend, node, args), placement)
            elif kind == "logsumexp":
                arg = results[arg_of[i]]
                try:
                    value = backend.logsumexp(arg, node.axes)
                except (AttributeError, NotImplementedError, TypeError, RuntimeError) as err:
                    raise refused(backend, "logsumexp", placement, err) from None
                results[i] = conform(value, placement)
            elif kind == "size":
                results[i] = backend.full((), float(size_of(node.dim, dim_size)), placement)
            elif kind == "delta":
                # Products and sums place a delta themselves (diagonal writes); only an
                # elementwise or matrix function of a bare delta, or a bare delta as the
                # whole result, needs it as an array.
                if i in self.dense_deltas:
                    results[i] = backend.eye(size_of(node.dim, dim_size), placement)
            else:  # pragma: no cover
                raise AssertionError(node.kind)
            for k in release[i]:  # intermediates whose last consumer was this node
                if k != root:
                    results[k] = None
        return results[root], owned[root]


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
            f"compile expects an einderiv expression, got {type(expr).__name__}; build "
            "one with ed.parse(text, shapes=...) or ed.symbols(...)"
        )
    key = "compiled" if backend == "numpy" else f"compiled:{backend}"
    cache: dict[str, Any] = expr._cache  # a slot of every node
    cached = cache.get(key)
    if cached is None:
        cached = cache[key] = Compiled(expr, backend)
    return cached
