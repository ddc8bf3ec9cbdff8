"""The tensor reading: a product with rank-3 parts in numpy's own spellings, or no reading.

Contract: :func:`read_tensor` takes the operands of one einsum term that has no matrix form
(a factor or the result has more than two indices) -- each a tree with the term's index
labels, none repeating a label -- and reads it with the operations numpy has for stacks,
applied on the structure of the network only (labels and ranks; never printed text):

* a summed label that one operand carries -> ``T.sum(axis=k)`` (``axis=(0, 2)`` for several);
* two operands over the same labels -> ``A * B`` (the second transposed to the first's order);
* a summed label that two operands carry -> ``A @ B`` on stacks: each operand arranged as
  ``(batch..., row, label)`` and ``(batch..., label, column)``, the shorter batch a suffix of
  the longer (numpy broadcasts it), a vector only where it has no batch;
* an operand whose labels are the last labels of another -> ``A * v`` (broadcasting);
* what is left, arranged in the output's order -> ``T.transpose(1, 2, 0)`` (times an
  all-ones array when it spans only the output's last axes).

It returns None when these rules do not read the whole term (a diagonal, a label spread to
an axis no operand has, broadcasting that does not line up): then the term is printed as
``np.einsum``.

>>> from einderiv.render.numpytext import to_text
>>> from einderiv.render.tree import Leaf
>>> T, M = Leaf(3, "T"), Leaf(2, "M")
>>> to_text(read_tensor([(T, (0, 1, 2)), (M, (2, 3))], (0, 1, 3)))
'T @ M'
>>> to_text(read_tensor([(T, (2, 0, 1))], (0, 1, 2)))
'T.transpose(1, 2, 0)'
"""

from __future__ import annotations

from itertools import product as pairs

from einderiv.render.compose import matmul, mul
from einderiv.render.tree import Expand, MatMul, MNode, Permute, ReduceSum, transpose

Labels = tuple[int, ...]
Operand = tuple[MNode, Labels]


def permute(tree: MNode, labels: Labels, want: Labels) -> MNode:
    """``tree`` (axes ``labels``) with its axes in the order ``want`` (``.T`` for a matrix)."""
    if labels == want:
        return tree
    if len(labels) == 2:
        return transpose(tree)
    if isinstance(tree, Permute):  # permutations compose: one .transpose(...)
        inner = tuple(tree.axes[labels.index(w)] for w in want)
        if inner == tuple(range(len(inner))):
            return tree.arg
        return Permute(len(want), tree.arg, inner)
    return Permute(len(want), tree, tuple(labels.index(w) for w in want))


def read_tensor(ops: list[Operand], out: Labels, ones: MNode | None = None) -> MNode | None:
    """The numpy reading of a product's operands (scalars taken out), or None.

    ``ones`` is an all-ones array over the output's axes: what is left broadcasts against it
    when it spans the output's last axes only.
    """
    if any(len(set(labels)) != len(labels) for _, labels in ops):
        return None  # a diagonal: einsum says it best
    outs = set(out)
    while True:
        counts: dict[int, int] = {}
        for _, labels in ops:
            for label in labels:
                counts[label] = counts.get(label, 0) + 1
        step = (_sum_axes(ops, outs, counts) or _same_labels(ops)
                or _stack_matmul(ops, out, counts) or _broadcast(ops))
        if step is None:
            break
        ops = step
    if len(ops) != 1:
        return None
    tree, labels = ops[0]
    if sorted(labels) == sorted(out):
        return permute(tree, labels, out)
    tail = out[len(out) - len(labels):]
    if ones is not None and set(labels) == set(tail):  # broadcast along the leading axes
        return mul(ones, permute(tree, labels, tail))
    return None  # an output axis no operand spans, in the middle


def _sum_axes(ops: list[Operand], outs: set[int], counts: dict[int, int]):
    for index, (tree, labels) in enumerate(ops):
        gone = [k for k, label in enumerate(labels) if label not in outs and counts[label] == 1]
        if not gone:
            continue
        kept = tuple(label for k, label in enumerate(labels) if k not in gone)
        if not kept:
            made: Operand = (ReduceSum(0, tree, None), ())
        else:
            axis = gone[0] if len(gone) == 1 else tuple(gone)
            made = (ReduceSum(len(kept), tree, axis), kept)
        return [*ops[:index], made, *ops[index + 1:]]
    return None


def _same_labels(ops: list[Operand]):
    for i, j in ((p, q) for p in range(len(ops)) for q in range(p + 1, len(ops))):
        (a, la), (b, lb) = ops[i], ops[j]
        if la and set(la) == set(lb):
            rest = [o for k, o in enumerate(ops) if k not in (i, j)]
            return [*rest, (mul(a, permute(b, lb, la)), la)]
    return None


def _broadcast(ops: list[Operand]):
    for i, j in ((p, q) for p in range(len(ops)) for q in range(len(ops)) if p != q):
        (a, la), (b, lb) = ops[i], ops[j]
        if lb and len(lb) < len(la) and set(lb) == set(la[len(la) - len(lb):]):
            rest = [o for k, o in enumerate(ops) if k not in (i, j)]
            b = permute(b, lb, la[len(la) - len(lb):])
            if len(la) == 2:  # a row of a matrix: the matrix form's own spelling
                b = Expand(2, b, 1)
            return [*rest, (mul(a, b), la)]
    return None


def _stack_matmul(ops: list[Operand], out: Labels, counts: dict[int, int]):
    for label in sorted(counts):
        if label in out or counts[label] != 2:
            continue
        (i, (a, la)), (j, (b, lb)) = [(k, o) for k, o in enumerate(ops) if label in o[1]]
        best = None
        for first, second in (((a, la), (b, lb)), ((b, lb), (a, la))):
            for made in _arrangements(first, second, label, out):
                if best is None or made[0] < best[0]:
                    best = made
        if best is None:
            continue
        rest = [o for k, o in enumerate(ops) if k not in (i, j)]
        return [*rest, best[1]]
    return None


def _arrangements(first: Operand, second: Operand, label: int, out: Labels):
    """``(cost, operand)`` for every way to read ``first @ second`` over ``label``.

    The cost counts the transposes it needs: of the operands, and of the result when its
    axes come out of the output's order.
    """
    (a, la), (b, lb) = first, second
    fa = [x for x in la if x != label]
    fb = [x for x in lb if x != label]
    own_a: list[int | None] = [x for x in fa if x not in fb] or [None]
    own_b: list[int | None] = [x for x in fb if x not in fa] or [None]
    for row, col in pairs(own_a, own_b):
        batch_a = tuple(x for x in fa if x != row)
        batch_b = tuple(x for x in fb if x != col)
        if (row is None and batch_a) or (col is None and batch_b):
            continue  # a stack of vectors is a matrix to numpy's @
        long, short = (batch_a, batch_b) if len(batch_a) >= len(batch_b) else (batch_b, batch_a)
        tail = long[len(long) - len(short):]
        if set(short) != set(tail) or set(long[:len(long) - len(short)]) & {row, col}:
            continue
        want_a = (*(long if batch_a is long else tail), *((row,) if row is not None else ()),
                  label)
        want_b = (*(long if batch_b is long and batch_a is not long else tail), label,
                  *((col,) if col is not None else ()))
        left, right = permute(a, la, want_a), permute(b, lb, want_b)
        labels = (*long, *((row,) if row is not None else ()), *((col,) if col is not None else ()))
        order = [x for x in labels if x in out]
        cost = (left is not a) + (right is not b) + (order != sorted(order, key=out.index))
        if max(len(want_a), len(want_b)) <= 2:
            tree = matmul(left, right)
        else:  # a chain of stacks reads left to right like one of matrices
            items = [i for part in (left, right)
                     for i in (part.items if isinstance(part, MatMul) else (part,))]
            tree = MatMul(len(labels), tuple(items))
        yield cost, (tree, labels)
