"""One planned product at fixed shapes, run with a backend's operations.

Contract: a :class:`ProductStep` is built once per product and tuple of input shapes (the
interpreter caches it) and holds everything that depends on shapes only: the backend's
planned contraction, the scale (coefficient times sizes of dangling summed dims), where to
apply it, and how the contracted core lands on the output axes -- as it is, broadcast
over axes no factor carries, or placed over tied axes by the backend's diagonal placer (a
strided write on numpy and torch, a contraction with identities elsewhere).  Calling it
reads only the operands' values and the call's :class:`~einderiv.evaluate.ops.Placement`,
so a later code generator can emit the same steps straight-line.

>>> import numpy as np, einderiv as ed
>>> from einderiv.evaluate.compiled import Compiled
>>> W, x = ed.symbols("W[n,m] x[m]")
>>> Compiled(3 * (W @ x))(W=np.ones((2, 2)), x=np.ones(2))
array([6., 6.])
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

from einderiv.evaluate.ops import Backend, Contraction, Placement, Placer, Shape
from einderiv.evaluate.plan import ProductPlan, size_of


def _power_of_two(value: float) -> bool:
    """True for +-2**k: scaling by it is exact (barring overflow and underflow)."""
    mantissa, _ = math.frexp(value)
    return abs(mantissa) == 0.5


class ProductStep:
    """One product at one set of shapes: planned contraction, scale and placement.

    The coefficient (times sizes of dangling summed dims) is applied where it is
    cheapest: folded into the smallest operand when it is a power of two (exact in
    floating point, so the result is unchanged), else on the result -- in place when the
    backend's ``fresh`` says nobody else holds it (numpy only: other backends never write
    in place, which keeps jax functional and torch's autograd safe).
    """

    __slots__ = (
        "backend", "operands", "contraction", "scale", "fold", "shaped", "out_shape",
        "placer", "rep_shape", "strides_of", "broadcast", "_fresh", "_in_place", "pre",
    )

    def __init__(
        self,
        plan: ProductPlan,
        backend: Backend,
        shapes: list[Shape],
        dim_size: Mapping[str, int],
    ) -> None:
        scale = plan.coeff
        for dim in plan.sizes:
            scale *= size_of(dim, dim_size)
        self.backend = backend
        self._fresh, self._in_place = backend.fresh, backend.in_place
        self.operands = plan.operands
        self.scale = scale
        self.contraction: Contraction | None = None
        self.fold = -1  # operand position that takes the scale; -1: scale the result
        self.pre: list[Contraction | None] = []  # per operand: its own summed indices first
        if plan.operands:
            subscripts, shapes = self._reduce_first(plan.subscripts, shapes)
            self.contraction = backend.contraction(subscripts, shapes)
            if scale != 1.0 and _power_of_two(scale):
                out_size = math.prod(
                    size_of(plan.rep_dims[r], dim_size) for r in plan.core_labels
                )
                sizes = [math.prod(shape) for shape in shapes]
                smallest = min(range(len(sizes)), key=sizes.__getitem__)
                if sizes[smallest] < out_size:
                    self.fold = smallest
        self.out_shape = tuple(size_of(d, dim_size) for d in plan.out_dims)
        reps_order: list[int] = []
        for rep in plan.out_reps:
            if rep not in reps_order:
                reps_order.append(rep)
        self.shaped = tuple(
            (size_of(plan.rep_dims[rep], dim_size) if rep in plan.core_labels else 1)
            for rep in reps_order
        )
        self.broadcast = self.shaped != self.out_shape
        # tied output axes (a surviving delta): the shape over distinct labels and, for
        # each result axis, its label's position -- kept for a code generator to read
        self.rep_shape = tuple(size_of(plan.rep_dims[rep], dim_size) for rep in reps_order)
        self.strides_of = tuple(reps_order.index(rep) for rep in plan.out_reps)
        self.placer: Placer | None = None
        if plan.tied:
            self.placer = backend.diagonal_placer(self.out_shape, self.rep_shape, self.strides_of)

    def _reduce_first(self, subscripts: str, shapes: list[Shape]) -> tuple[str, list[Shape]]:
        """Sum each index that one operand alone carries in that operand, before contracting.

        ``sum(x**2) * x`` is ``b,a->a``: a single einsum loops over every (a, b) pair, O(n²)
        for an O(n) result; summing ``b`` first makes it a scalar times a vector.
        """
        inputs, output = subscripts.split("->")
        terms = inputs.split(",")
        counts = Counter(c for t in terms for c in t)
        new_terms, new_shapes = [], []
        for term, shape in zip(terms, shapes, strict=True):
            alone = {c for c in term if counts[c] == 1 and c not in output}
            if alone and len(terms) > 1:
                kept = "".join(c for c in term if c not in alone)
                self.pre.append(self.backend.contraction(f"{term}->{kept}", [shape]))
                shape = tuple(n for c, n in zip(term, shape, strict=True) if c not in alone)
                term = kept
            else:
                self.pre.append(None)
            new_terms.append(term)
            new_shapes.append(tuple(shape))
        if not any(self.pre):
            self.pre = []
        return ",".join(new_terms) + "->" + output, new_shapes

    def __call__(self, results: list[Any], placement: Placement) -> tuple[Any, bool]:
        """The product's value and whether it is a fresh buffer nobody else holds."""
        scale = self.scale
        if self.contraction is not None:
            args = [results[k] for k in self.operands]
            if self.pre:
                args = [a if pre is None else pre(a) for a, pre in zip(args, self.pre,
                                                                       strict=True)]
            if self.fold >= 0:
                args[self.fold] = args[self.fold] * scale
                scale = 1.0
            core = self.contraction(*args)
            fresh = self._fresh(core, args)
            if scale != 1.0:
                if fresh:  # a buffer nobody else holds: scale it in place
                    core *= scale
                else:
                    core = core * scale
                    fresh = self._in_place  # a new buffer, writable where writes happen
        else:
            core = self.backend.full((), scale, placement)
            fresh = False
        if self.placer is None:
            if not self.broadcast and core.shape == self.out_shape:
                return core, fresh and core.ndim > 0
            shaped = core.reshape(self.shaped)
            return self.backend.broadcast_to(shaped, self.out_shape), False
        return self.placer(core.reshape(self.shaped), placement), self._in_place
