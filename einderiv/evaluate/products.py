"""Lowering one product (an einsum term) to straight-line code at fixed shapes.

Contract: :func:`lower_product` turns a :class:`~einderiv.ir.Product`'s plan and its operands'
:class:`~einderiv.evaluate.emitter.Val` s into code and returns the product's ``Val``; the
coefficient (times the sizes of dangling summed dims, times the operands' own scales) is
left on the result for its consumer to absorb.  In order:

* constant operands and size-1 broadcasts fold into the scale and drop out;
* a summed index that only one operand carries is summed first (``sum(x**2) * x`` is a
  scalar times a vector, O(n), never an O(n²) einsum);
* no summed index left: a view (transpose, broadcast) or elementwise multiplies with
  numpy broadcasting, smallest operands first, into a buffer at its last use;
* ``F.T @ diag(w) @ F`` with ``w`` of a proven sign (:mod:`einderiv.evaluate.structure`)
  and sizes where it pays: ``B = sqrt(|w|)[:, None] * F; B.T @ B`` -- numpy runs that as a
  SYRK (half the flops) and mirrors the triangle;
* otherwise ``opt_einsum``'s path frozen into its steps: a pairwise step BLAS can do is one
  ``np.dot`` on reshaped views, a step with no summed index a broadcast multiply, any
  other step one C einsum over ASCII letters (relabelled per step, so a product may carry
  more than 52 indices);
* a surviving Kronecker delta (tied output axes): the core is written into a strided
  diagonal view of a zeros buffer -- never a product with an identity.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import opt_einsum

from einderiv.evaluate.emitter import Emitter, Shape, Val, broadcast
from einderiv.evaluate.numpy_ops import dot_plan
from einderiv.evaluate.ops import optimize_for
from einderiv.evaluate.plan import ProductPlan
from einderiv.evaluate.subscripts import ascii_step

#: SYRK pays when the Gram matrix is n x n with n >= this, from m >= n / 2 rows
SYRK_MIN_N = 128


@dataclass(slots=True)
class Operand:
    """One array operand of a product: its code, index letters, shape and where it is from."""

    code: str
    letters: str
    shape: Shape
    node: int  # the DAG position of the node it is the value of (-1: a temporary)
    writable: bool  # a temporary this product may overwrite
    sign: int = 0  # the sign of the array's entries (1, -1, 0: unknown)


@dataclass(frozen=True)
class ProductContext:
    """What lowering a product needs from the driver."""

    em: Emitter
    size: Callable[[str], int]  # dim name -> size
    writable: Callable[[int], bool]  # may the product overwrite node k's temporary?
    sign: Callable[[int], int]  # proven sign of node k's value (0: unknown)
    itemsize: int


def lower_product(ctx: ProductContext, plan: ProductPlan, dims: list[tuple[str, ...]],
                  vals: list[Val], fold: bool = False) -> Val:
    """The product's value (module docstring); ``dims[j]`` are operand ``j``'s node dims.

    ``fold``: the consumer cannot absorb a coefficient (a function, the result), so it is
    applied here, on the smallest operand when that is smaller than the result.
    """
    ins = plan.subscripts.split("->")[0].split(",") if plan.operands else []
    core = plan.subscripts.split("->")[1] if plan.operands else ""
    letter_size: dict[str, int] = {}
    for letters, node_dims in zip(ins, dims, strict=True):
        for letter, dim in zip(letters, node_dims, strict=True):
            letter_size[letter] = ctx.size(dim)
    scale = plan.coeff
    for dim in plan.sizes:
        scale *= ctx.size(dim)
    operands: list[Operand] = []
    counts = Counter(plan.operands)
    for j, (val, letters) in enumerate(zip(vals, ins, strict=True)):
        node = plan.operands[j]
        if val.const is not None:
            scale *= val.const
            continue
        scale *= val.scale
        code, keep = val.code, letters
        if any(n == 1 and letter_size[c] != 1 for n, c in zip(val.shape, letters, strict=True)):
            keep = "".join(c for n, c in zip(val.shape, letters, strict=True)
                           if not (n == 1 and letter_size[c] != 1))
            code = ctx.em.reshape(code, tuple(letter_size[c] for c in keep), val.shape)
        sign = ctx.sign(node)
        if val.scale < 0:
            sign = -sign
        writable = val.owned and counts[node] == 1 and ctx.writable(node)
        operands.append(Operand(code, keep, tuple(letter_size[c] for c in keep), node,
                                writable, sign))
    present = {c for op in operands for c in op.letters}
    for letter in {c for letters in ins for c in letters} - present - set(core):
        scale *= letter_size[letter]  # a summed index no array carries any more
    core_present = "".join(c for c in core if c in present)
    operands = _reduce_single(ctx, operands, core_present)
    if fold and scale != 1.0 and operands:
        scale = _fold(ctx, operands, scale, math.prod(letter_size[c] for c in core_present))
    if not operands:
        result: Val = Val("", (), const=scale)
    else:
        result = _contract(ctx, operands, core_present, letter_size)
        result.scale *= scale  # a SYRK core carries its weights' sign
    return _place(ctx, plan, result, core, core_present, letter_size)


def _reduce_single(ctx: ProductContext, operands: list[Operand], core: str) -> list[Operand]:
    """Sum out every summed index that only one operand carries, once, before contracting."""
    counts = Counter(c for op in operands for c in op.letters)
    out: list[Operand] = []
    for op in operands:
        axes = tuple(a for a, c in enumerate(op.letters) if counts[c] == 1 and c not in core)
        if axes and (len(operands) > 1 or len(axes) < len(op.letters)):
            keep = "".join(c for a, c in enumerate(op.letters) if a not in axes)
            shape = tuple(n for a, n in enumerate(op.shape) if a not in axes)
            if all(op.shape[a] == 1 for a in axes):  # summing a size-1 axis: a reshape
                code = ctx.em.assign(ctx.em.reshape(op.code, shape, op.shape))
                op = Operand(code, keep, shape, op.node, op.writable, op.sign)
            else:
                code = ctx.em.assign(ctx.em.total(op.code, axes))
                op = Operand(code, keep, shape, -1, bool(shape), op.sign)
        out.append(op)
    return out


def _fold(ctx: ProductContext, operands: list[Operand], scale: float, out_size: int) -> float:
    """Apply ``scale`` to the smallest operand if that is cheaper than on the result."""
    codes = Counter(op.code for op in operands)
    candidates = [j for j, op in enumerate(operands) if codes[op.code] == 1 and op.shape]
    if not candidates:
        return scale
    j = min(candidates, key=lambda k: math.prod(operands[k].shape))
    op, size = operands[j], math.prod(operands[j].shape)
    em = ctx.em
    if op.writable and size < out_size:
        em.line(em.scaled(op.code, scale, out=op.code))
    elif 4 * size <= out_size:
        op = Operand(em.assign(em.scaled(op.code, scale)), op.letters, op.shape, -1, True,
                     op.sign)
        operands[j] = op
    else:
        return scale
    if scale < 0:
        op.sign = -op.sign
    return 1.0


def _aligned(ctx: ProductContext, op: Operand, order: str) -> tuple[str, Shape]:
    """``op`` permuted to ``order``'s letter order, with size-1 axes for the letters it lacks."""
    mine = sorted(range(len(op.letters)), key=lambda a: order.index(op.letters[a]))
    code = ctx.em.permute(op.code, tuple(mine))
    permuted = tuple(op.shape[a] for a in mine)
    target = tuple(op.shape[op.letters.index(c)] if c in op.letters else 1 for c in order)
    return ctx.em.reshape(code, target, permuted), target


def _multiply(ctx: ProductContext, operands: list[Operand], order: str) -> Val:
    """Elementwise product with broadcasting over ``order``'s letters, smallest first."""
    em = ctx.em
    aligned = [(*_aligned(ctx, op, order), op.writable) for op in operands]
    if len(aligned) == 1:
        code, shape, writable = aligned[0]
        return Val(code, shape, owned=writable)
    aligned.sort(key=lambda item: math.prod(item[1]))
    code, shape, owned = aligned[0]
    for other, other_shape, other_writable in aligned[1:]:
        result = broadcast(shape, other_shape)
        if em.dialect.in_place and result:
            if owned and shape == result:
                em.line(em.binary("multiply", code, other, out=code))
                continue
            if other_writable and other_shape == result:
                em.line(em.binary("multiply", other, code, out=other))
                code, shape, owned = other, result, True
                continue
        code, shape, owned = em.assign(em.binary("multiply", code, other)), result, bool(result)
    return Val(code, shape, owned=owned)


def _contract(ctx: ProductContext, operands: list[Operand], core: str,
              letter_size: dict[str, int]) -> Val:
    """The contracted core over ``core``'s letters (scale left to the caller)."""
    summed = {c for op in operands for c in op.letters} - set(core)
    repeated = any(len(set(op.letters)) < len(op.letters) for op in operands)
    if not summed and not repeated:
        return _multiply(ctx, operands, core)
    gram = _gram(ctx, operands, core, letter_size)
    if gram is not None:
        return gram
    em = ctx.em
    if len(operands) == 1:
        op = operands[0]
        code = em.assign(_einsum(em, [op.code], [op.letters], core, [op.shape], letter_size))
        # with no index summed, einsum returns a view (a diagonal) of its operand
        return Val(code, tuple(letter_size[c] for c in core), owned=bool(core) and bool(summed))
    letters = {c: opt_einsum.get_symbol(i) for i, c in enumerate(
        dict.fromkeys(c for op in operands for c in op.letters))}
    spec = ",".join("".join(letters[c] for c in op.letters) for op in operands)
    spec += "->" + "".join(letters[c] for c in core)
    back = {v: k for k, v in letters.items()}
    planned = opt_einsum.contract_expression(
        spec, *[op.shape for op in operands], optimize=optimize_for(len(operands))
    )
    stack: list[tuple[str, str, Shape, bool]] = [
        (op.code, op.letters, op.shape, op.writable) for op in operands
    ]
    for inds, removed, einsum_str, _, blas in planned.contraction_list:
        taken = [stack.pop(x) for x in inds]
        inputs, output = einsum_str.split("->")
        terms = ["".join(back[c] for c in t) for t in inputs.split(",")]
        result = "".join(back[c] for c in output)
        shape = tuple(letter_size[c] for c in result)
        if blas and "EINSUM" not in blas and len(terms) == 2:
            code = _dot(em, taken[0], terms[0], taken[1], terms[1], result, letter_size)
            stack.append((code, result, shape, bool(shape)))
        elif not removed and all(len(set(t)) == len(t) for t in terms):
            ops = [Operand(c, t, s, -1, w) for (c, _, s, w), t in zip(taken, terms, strict=True)]
            val = _multiply(ctx, ops, result)
            stack.append((val.code, result, val.shape, val.owned))
        else:
            code = em.assign(_einsum(em, [t[0] for t in taken], terms, result,
                                     [t[2] for t in taken], letter_size))
            stack.append((code, result, shape, bool(shape) and bool(removed)))
    code, _, shape, owned = stack[0]
    return Val(code, shape, owned=owned)


def _dot(em: Emitter, a: tuple, left: str, b: tuple, right: str, result: str,
         letter_size: dict[str, int]) -> str:
    """One BLAS step: ``np.dot`` of ``a`` and ``b`` on reshaped, transposed views."""
    if set(left) <= set(right) and not set(right) <= set(left):  # the matrix first
        a, left, b, right = b, right, a, left
    free = [c for c in left if c not in right] + [c for c in right if c not in left]
    if "".join(free) != result and "".join(free[::-1]) == result and len(free) == 2:
        a, left, b, right = b, right, a, left  # a result in order: no transposed output
    perm_a, shape_a, perm_b, shape_b, shape_out, perm_out = dot_plan(left, right, result,
                                                                     letter_size)
    code_a = a[0] if perm_a is None else em.permute(a[0], perm_a)
    code_b = b[0] if perm_b is None else em.permute(b[0], perm_b)
    current_a = tuple(a[2][i] for i in perm_a) if perm_a is not None else a[2]
    current_b = tuple(b[2][i] for i in perm_b) if perm_b is not None else b[2]
    code = em.dot(em.reshape(code_a, shape_a, current_a), em.reshape(code_b, shape_b, current_b),
                  matrices=len(shape_a) == 2 and len(shape_b) == 2)
    flat = (shape_a[0],) if len(shape_a) == 2 else ()
    flat = flat + ((shape_b[1],) if len(shape_b) == 2 else ())
    code = em.reshape(code, shape_out, flat)
    if perm_out is not None:
        code = em.permute(code, perm_out)
    return em.assign(code)


def _gram(ctx: ProductContext, operands: list[Operand], core: str,
          letter_size: dict[str, int]) -> Val | None:
    """``F.T diag(w) F`` as a SYRK when ``w``'s sign is proven and it pays (None: it does not)."""
    em = ctx.em
    if em.dialect.name != "numpy" or len(core) != 2:
        return None
    for p, first in enumerate(operands):
        for q in range(p + 1, len(operands)):
            second = operands[q]
            if first.code != second.code or len(first.letters) != 2:
                continue
            spots = [a for a in range(2) if first.letters[a] == second.letters[a]
                     and first.letters[a] not in core]
            if len(spots) != 1:
                continue
            s = first.letters[spots[0]]
            free = {first.letters[1 - spots[0]], second.letters[1 - spots[0]]}
            weights = [op for k, op in enumerate(operands) if k not in (p, q)]
            if free != set(core) or any(set(op.letters) - {s} for op in weights):
                continue
            if any(len(op.letters) > 1 for op in weights):
                continue
            m, n = letter_size[s], letter_size[core[0]]
            if n < SYRK_MIN_N or 2 * m < n:
                return None
            sign = 1
            for op in weights:
                sign *= op.sign
            if sign == 0:
                return None
            return _syrk(ctx, first, spots[0], weights, sign, m, n)
    return None


def _syrk(ctx: ProductContext, factor: Operand, axis: int, weights: list[Operand], sign: int,
          m: int, n: int) -> Val:
    """``B = sqrt(sign * w)[:, None] * F`` (rows along the summed index); ``B.T @ B``."""
    em = ctx.em
    rows = factor.code if axis == 0 else f"{factor.code}.T"
    if not weights:
        return Val(em.assign(em.dot(f"{rows}.T", rows)), (n, n), owned=True)
    w = _multiply(ctx, weights, "".join(dict.fromkeys(c for op in weights for c in op.letters)))
    root = w.code
    if sign < 0:
        root = em.assign(f"np.negative({root}, out=np.empty({w.shape}, D))")
    elif not w.owned:
        root = em.assign(f"np.array({root}, D)")
    em.line(f"np.maximum({root}, 0.0, out={root})")  # rounding may leave -0.0 or -1e-17
    em.line(f"np.sqrt({root}, out={root})")
    column = f"{root}.reshape(({m}, 1))" if w.shape else root
    scaled = em.assign(f"np.multiply({rows}, {column})")
    gram = em.assign(em.dot(f"{scaled}.T", scaled))
    return Val(gram, (n, n), scale=float(sign), owned=True)


def _place(ctx: ProductContext, plan: ProductPlan, result: Val, core: str, core_present: str,
           letter_size: dict[str, int]) -> Val:
    """The core over the output's axes: broadcast where no factor carries one, tied by deltas."""
    em = ctx.em
    reps_order: list[int] = []
    for rep in plan.out_reps:
        if rep not in reps_order:
            reps_order.append(rep)
    letter_of = dict(zip(plan.core_labels, core, strict=True))
    shaped = tuple(
        letter_size[letter_of[rep]] if rep in letter_of and letter_of[rep] in core_present else 1
        for rep in reps_order
    )
    if result.const is None:
        code = em.reshape(result.code, shaped, result.shape)
        if code != result.code:
            code = em.assign(code)
        result = Val(code, shaped, scale=result.scale, owned=result.owned)
    else:
        result = Val("", shaped, const=result.const)
    if not plan.tied:
        return result
    out_shape = tuple(ctx.size(d) for d in plan.out_dims)
    rep_shape = tuple(ctx.size(plan.rep_dims[rep]) for rep in reps_order)
    strides = [0] * len(rep_shape)
    element = [math.prod(out_shape[a + 1:]) for a in range(len(out_shape))]
    for axis, rep in enumerate(plan.out_reps):
        strides[reps_order.index(rep)] += element[axis]
    if math.prod(out_shape) == 0:
        return Val(em.assign(_zeros(em, out_shape)), out_shape, owned=bool(out_shape))
    buffer = em.assign(_zeros(em, out_shape))
    if em.dialect.name == "numpy":
        view = (f"np.ndarray({rep_shape}, D, {buffer}, 0, "
                f"{tuple(s * ctx.itemsize for s in strides)})")
        if result.const is not None:
            em.line(f"{view}[...] = {result.const!r}")
        elif result.scale != 1.0:
            em.line(f"np.multiply({result.code}, {result.scale!r}, out={view})")
        else:
            em.line(f"np.copyto({view}, {result.code})")
    else:
        view = f"{buffer}.as_strided({rep_shape}, {tuple(strides)})"
        if result.const is not None:
            em.line(f"{view}.fill_({result.const!r})")
        else:
            scaled = result.code if result.scale == 1.0 else f"({result.code} * {result.scale!r})"
            em.line(f"{view}.copy_({scaled})")
    return Val(buffer, out_shape, owned=True)


def _zeros(em: Emitter, shape: Shape) -> str:
    if em.dialect.name == "numpy":
        return f"np.zeros({shape}, D)"
    return f"torch.zeros({shape}, dtype=DT, device=DEV)"


def _einsum(em: Emitter, codes: list[str], terms: list[str], result: str, shapes: list[Shape],
            letter_size: dict[str, int]) -> str:
    """Code of one einsum step, its indices fused and spelled in C einsum's alphabet."""
    spec, in_shapes, out_shape = ascii_step(terms, result, letter_size)
    args = [em.reshape(c, new, old) for c, new, old in zip(codes, in_shapes, shapes, strict=True)]
    return em.reshape(em.einsum(spec, args), tuple(letter_size[c] for c in result), out_shape)
