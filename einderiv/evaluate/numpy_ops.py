"""The numpy backend: the table entry whose operations are the fast paths.

Contract: the same :class:`~einderiv.evaluate.ops.Backend` fields as every backend, filled
with numpy's fastest spellings -- a pairwise contraction that BLAS can do is one ``np.dot``
on reshaped views (worked out once per shape, :class:`BlasContraction`), a product over a
surviving Kronecker delta is written into a strided diagonal view of a zeros buffer
(never a dense identity), a sum accumulates in place into a temporary that only it
consumes, a coefficient scales a fresh buffer in place (``in_place`` and the
:func:`is_fresh` test are this entry's), and the result handed out is a fresh writable
array.  Everything is made in the call's dtype (float32 stays float32).

>>> import numpy as np
>>> from einderiv.evaluate.numpy_ops import BlasContraction
>>> BlasContraction("ab,b->a", [(2, 3), (3,)])(np.ones((2, 3)), np.arange(3.0))
array([3., 3.])
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import opt_einsum

from einderiv.evaluate.ops import (
    Backend,
    Inspected,
    Placement,
    Placer,
    Shape,
    generic_ops,
    make_backend,
    optimize_for,
    symmetry_rtol,
)
from einderiv.evaluate.subscripts import ascii_step


def _find_c_einsum() -> Any:
    """The C einsum without np.einsum's argument parsing (numpy >= 2 path, then 1.x)."""
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            return importlib.import_module(module).c_einsum
        except (ImportError, AttributeError):  # pragma: no cover - other numpy versions
            continue
    return np.einsum  # pragma: no cover


c_einsum = _find_c_einsum()


class BlasContraction:
    """An opt_einsum contraction path at fixed shapes, run with little per-call overhead.

    The path comes from ``opt_einsum.contract_expression`` (``dp``: optimal in flops for the
    operand counts products have; ``greedy`` beyond).  Each pairwise step that BLAS can
    do becomes one ``np.dot`` on reshaped views (the reshapes and transposes are worked
    out here, once); every other step is one C ``einsum`` call.  Same steps and order as
    ``opt_einsum.contract``, without re-parsing them on every call.
    """

    __slots__ = ("steps", "contraction_list")

    def __init__(self, subscripts: str, shapes: list[Shape]) -> None:
        planned = opt_einsum.contract_expression(
            subscripts, *shapes, optimize=optimize_for(len(shapes))
        )
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
                self.steps.append((inds, "dot", dot_plan(terms[0], terms[1], result, size)))
            else:  # C einsum knows a-zA-Z only: fuse indices that travel together, respell
                spec, shapes_in, shape_out = ascii_step(terms, result, size)
                final = tuple(size[c] for c in result)
                self.steps.append((inds, "einsum", (spec, shapes_in, shape_out, final)))

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
                spec, shapes_in, shape_out, final = payload
                value = c_einsum(spec, *(t.reshape(s) for t, s in zip(taken, shapes_in,
                                                                       strict=True)))
                if shape_out != final:
                    value = value.reshape(final)
            ops.append(value)
        return ops[0]


def dot_plan(left: str, right: str, result: str, size: dict[str, int]) -> tuple:
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


def is_fresh(value: Any, args: list[Any]) -> bool:
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


def strided_placer(out_shape: Shape, rep_shape: Shape, strides_of: tuple[int, ...]) -> Placer:
    """Tied output axes as one write into a strided diagonal view of a zeros buffer."""

    def place(core: np.ndarray, placement: Placement) -> np.ndarray:
        result = np.zeros(out_shape, dtype=placement.dtype)
        strides = [0] * len(rep_shape)
        for axis, position in enumerate(strides_of):
            strides[position] += result.strides[axis]
        view = np.lib.stride_tricks.as_strided(
            result, shape=rep_shape, strides=strides, writeable=True
        )
        view[...] = core
        return result

    return place


def add_terms(
    values: list[np.ndarray], reusable: list[bool], shape: Shape, placement: Placement
) -> tuple[np.ndarray, bool]:
    """Add the terms, accumulating in place into a reusable temporary when there is one."""
    rest = list(range(len(values)))
    acc = None
    for position in rest:
        if reusable[position] and values[position].shape == shape:
            acc = values[position]
            del rest[position]
            break
    if acc is None:
        if not rest:
            acc = np.zeros(shape, dtype=placement.dtype)
        elif len(rest) == 1:
            acc = np.array(np.broadcast_to(values[rest[0]], shape))
            rest = []
        else:
            # np.array: np.add of two 0-d arrays returns a numpy scalar, not an out= buffer
            acc = np.add(values[rest[0]], values[rest[1]])
            if acc.shape != shape or not isinstance(acc, np.ndarray):
                acc = np.array(np.broadcast_to(acc, shape))
            rest = rest[2:]
    for position in rest:
        np.add(acc, values[position], out=acc)
    return acc, True


def add_diagonal(acc: np.ndarray, count: float, fresh: bool, placement: Placement) -> np.ndarray:
    """``acc + count * I`` as a write on the diagonal (no dense identity)."""
    if not fresh:
        acc = np.array(acc)
    diagonal = np.arange(acc.shape[0])
    acc[diagonal, diagonal] += count
    return acc


def logsumexp(value: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """``log(sum(exp(value), axes))`` shifted by the maximum (inf-safe)."""
    if value.size == 0:
        return np.log(np.sum(np.exp(value), axis=axes))
    top = np.max(value, axis=axes, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(value - top), axis=axes, keepdims=True)) + top
    return np.squeeze(out, axis=axes) if axes else out


def asymmetry(value: np.ndarray) -> float:
    """0 for a symmetric matrix (to a few ulps of its dtype), else ``max |A - A.T|``."""
    if np.allclose(value, value.T, rtol=symmetry_rtol(value.dtype), atol=1e-10):
        return 0.0
    return float(np.max(np.abs(value - value.T)))


def finish(
    value: Any, owned: bool, is_input: bool, inputs: Mapping[str, Any], placement: Placement
) -> np.ndarray:
    """The result as a fresh writable array of the call's dtype (never a view of an input)."""
    out = np.asarray(value, dtype=placement.dtype)
    if not owned and (not out.flags.writeable or not out.flags.owndata or is_input):
        out = np.array(out)
    return out


def _det(value: np.ndarray) -> np.ndarray:
    return np.asarray(np.linalg.det(value))


def _logdet(value: np.ndarray) -> np.ndarray:
    sign, logabs = np.linalg.slogdet(value)
    return np.asarray(logabs if sign != 0 else -math.inf, dtype=value.dtype)


def _full(shape: Shape, value: float, placement: Placement) -> np.ndarray:
    if not shape:
        return np.asarray(value, dtype=placement.dtype)
    return np.full(shape, value, dtype=placement.dtype)


def inspect(value: Any) -> Inspected:
    """The value as a numpy array, its dtype and shape (lists and scalars converted)."""
    if type(value) is not np.ndarray:
        value = np.asarray(value)
    return value, value.dtype, value.shape, None, True


def numpy_backend(xp: Any = np) -> Backend:
    """The numpy table entry (``xp`` is numpy; the parameter keeps the loaders uniform)."""
    fields = generic_ops("numpy", xp, np.ndarray)
    fields.update(
        inspect=inspect,
        to_backend=lambda value, p: value.astype(p.dtype, copy=False),
        asymmetry=asymmetry,
        zeros=lambda shape, p: np.zeros(shape, dtype=p.dtype),
        eye=lambda n, p: np.eye(n, dtype=p.dtype),
        full=_full,
        broadcast_to=np.broadcast_to,
        contraction=BlasContraction,
        diagonal_placer=strided_placer,
        fresh=is_fresh,
        in_place=True,
        add_terms=add_terms,
        add_diagonal=add_diagonal,
        conform=lambda value, p: np.asarray(value, dtype=p.dtype),
        quiet=lambda: np.errstate(all="ignore"),
        logsumexp=logsumexp,
        linalg={
            "inv": np.linalg.inv,
            "det": _det,
            "logdet": _logdet,
            "solve": np.linalg.solve,
        },
        singular=(np.linalg.LinAlgError,),
        finish=finish,
    )
    return make_backend(fields)
