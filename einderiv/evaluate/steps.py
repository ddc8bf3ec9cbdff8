"""Numpy steps of a planned product: BLAS contractions, scaling and strided diagonal writes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import opt_einsum

from einderiv.evaluate.plan import ProductPlan, size_of


class ProductStep:
    """One product at one set of shapes: planned contraction, scale and placement.

    The coefficient (times sizes of dangling summed dims) is applied where it is
    cheapest: folded into the smallest operand when it is a power of two (exact in
    floating point, so the result is unchanged), else in place on the fresh result.
    """

    __slots__ = (
        "operands", "contraction", "scale", "fold", "shaped", "out_shape", "tied",
        "rep_shape", "strides_of", "broadcast",
    )

    def __init__(self, plan: ProductPlan, operands: list[np.ndarray], dim_size) -> None:
        scale = plan.coeff
        for dim in plan.sizes:
            scale *= size_of(dim, dim_size)
        self.operands = plan.operands
        self.scale = scale
        self.contraction = None
        self.fold = -1  # operand position that takes the scale; -1: scale the result
        if plan.operands:
            shapes = [np.shape(x) for x in operands]
            self.contraction = _Contraction(plan.subscripts, shapes)
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
        self.rep_shape = tuple(size_of(plan.rep_dims[rep], dim_size) for rep in reps_order)
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
