"""The walk: one product's tensor network read as matrix operations, step by recorded step.

Contract: :func:`read_network` takes the operands of one einsum term -- each a matrix
tree with the term's index labels -- and applies reading rules until none fits, on the
structure of the network only (labels, ranks, kinds of atoms; never printed text):

* two operands over the same labels -> an elementwise product (a dot for vectors, a
  trace for a matrix met with its transpose);
* a summed label that one operand carries -> a sum over that axis;
* a summed label that two operands carry -> a matrix product, read along the chain from
  one end to the other: an operand walked against its label order enters transposed;
* a label carried three times -> a vector scaling the rows or columns of a matrix;
* an identity against a vector -> ``np.diag``.

Each rule appends a :class:`Step` to the trace it is given, so the reasons an answer
reads as it does (verify's "Why", explain's reading of the order) are written from the
record of the walk (:mod:`einderiv.render.why`), not re-derived.  :func:`finalize` then
places what is left along the output axes (orientation, outer products, broadcasts).

>>> from einderiv.render.tree import Leaf
>>> trace = []
>>> ops, _ = read_network([(Leaf(2, "A"), (0, 2)), (Leaf(2, "B"), (1, 2))], (0, 1), trace)
>>> [step.rule for step in trace]
['matmul']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from einderiv.render.compose import expand, matmul, mul, scale
from einderiv.render.tree import (
    Add,
    Call,
    Expand,
    Leaf,
    MatMul,
    MNode,
    Mul,
    Num,
    ReduceSum,
    Scale,
    count_transposes,
    order_key,
    transpose,
)

Labels = tuple[int, ...]
Operand = tuple[MNode, Labels]


class NoMatrixFormError(Exception):
    """Raised while reading a network that has no matrix form (it falls back to einsum)."""


@dataclass(frozen=True)
class Step:
    """One reading rule applied to a network: what it took, what it made, and why.

    ``rule`` names it (``"matmul"``, ``"dot"``, ``"elementwise"``, ``"trace"``, ``"sum"``,
    ``"scale"``, ``"diag"``, ``"unit axis"``, ``"orient"``, ``"outer"``, ``"broadcast"``);
    ``label`` is the index it joins, sums or spreads; ``transposed`` says, per operand,
    whether the walk passed it against its label order.
    """

    rule: str
    operands: tuple[Operand, ...]
    result: Operand
    label: int | None = None
    transposed: tuple[bool, ...] = ()


def _counts(ops: list[Operand]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for _, labels in ops:
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
    return counts


def diag_deltas(ops: list[Operand], trace: list[Step]) -> list[Operand]:
    """``v_a δ_ab`` -> ``diag(v)_ab`` when ``b`` meets nothing else."""
    ops = list(ops)
    changed = True
    while changed:
        changed = False
        for i, (tree, labels) in enumerate(ops):
            if not (isinstance(tree, Leaf) and tree.kind == "eye"):
                continue
            for j, (other, olabels) in enumerate(ops):
                if j == i or len(olabels) != 1 or olabels[0] not in labels:
                    continue
                diag = (Call(2, "diag", (other,)), labels)
                trace.append(Step("diag", (ops[j], ops[i]), diag, olabels[0]))
                ops = [o for k, o in enumerate(ops) if k not in (i, j)] + [diag]
                changed = True
                break
            if changed:
                break
    return ops


def unit_axes(
    ops: list[Operand], out: Labels, ldims: tuple[str, ...], trace: list[Step]
) -> tuple[list[Operand], frozenset[int]]:
    """Read a summed size-1 axis as the broadcast output axis at its place (``ba[n,1]``)."""
    counts = _counts(ops)
    changed: set[int] = set()
    result = []
    for tree, labels in ops:
        new = list(labels)
        for pos, label in enumerate(labels):
            if label in out or ldims[label] != "1" or counts[label] != 1:
                continue
            if len(labels) != len(out) or out[pos] in labels:
                continue
            new[pos] = out[pos]  # a size-1 axis broadcasts along the output axis there
            if out[pos] not in counts:
                changed.add(pos)  # nothing else spans that axis: the result broadcasts
        if tuple(new) != labels:
            trace.append(Step("unit axis", ((tree, labels),), (tree, tuple(new))))
        result.append((tree, tuple(new)))
    return result, frozenset(changed)


def orient(tree: MNode, labels: Labels, want: Labels) -> MNode:
    """``tree`` (with ``labels``) read with its axes in the order ``want``."""
    if labels == want or len(labels) < 2:
        return tree
    return transpose(tree)


def read_network(
    ops: list[Operand], out: Labels, trace: list[Step], scalars: list[MNode] | None = None,
    mean: Callable[[tuple[int, ...]], MNode | None] | None = None,
) -> tuple[list[Operand], list[MNode]]:
    """Apply the reading rules until none fits; return what is left and the scalars.

    ``mean(labels)``, where given, hands over the reciprocal of the summed labels' sizes
    when the product divides by them (and it is then spent): the sum that reduces those
    labels is their mean, ``x.mean(axis=0)`` rather than ``x.sum(axis=0) / X.shape[0]``.
    """
    scalars = [] if scalars is None else scalars
    outs = set(out)
    while True:
        scalars.extend(t for t, labels in ops if not labels)
        ops = [o for o in ops if o[1]]
        counts = _counts(ops)
        step = (
            _elementwise(ops, outs, counts, trace)
            or _reduce(ops, outs, counts, trace, mean)
            or _contract(ops, out, outs, counts, trace)
            or _spread(ops, out, outs, counts, trace)
        )
        if step is None:
            return ops, scalars
        ops = step


def _elementwise(ops, outs, counts, trace):
    for i in range(len(ops)):
        for j in range(i + 1, len(ops)):
            (a, la), (b, lb) = ops[i], ops[j]
            if set(la) != set(lb):
                continue
            rest = [o for k, o in enumerate(ops) if k not in (i, j)]
            summed = [lab for lab in la if lab not in outs and counts[lab] == 2]
            if len(la) == 1 and summed:
                made = (matmul(a, b) if a.rank else mul(a, b), ())
                trace.append(Step("dot", (ops[i], ops[j]), made, la[0]))
                return [*rest, made]
            if len(la) == 2 and len(summed) == 2 and la == (lb[1], lb[0]):
                made = (Call(0, "trace", (matmul(a, b),)), ())
                trace.append(Step("trace", (ops[i], ops[j]), made, la[0]))
                return [*rest, made]
            made = (mul(a, orient(b, lb, la)), la)
            trace.append(Step("elementwise", (ops[i], ops[j]), made, None,
                              (False, lb != la and len(lb) == 2)))
            return [*rest, made]
    return None


def _reduce(
    ops: list[Operand], outs: set[int], counts: dict[int, int], trace: list[Step],
    mean: Callable[[tuple[int, ...]], MNode | None] | None = None,
) -> list[Operand] | None:
    for i, (tree, labels) in enumerate(ops):
        gone = [lab for lab in labels if lab not in outs and counts[lab] == 1]
        if not gone:
            continue
        rest = ops[:i] + ops[i + 1 :]
        if len(gone) == len(labels):
            made: Operand = (ReduceSum(0, tree, None, False, mean and mean(tuple(gone))), ())
        else:
            axis = labels.index(gone[0])
            kept = tuple(lab for lab in labels if lab != gone[0])
            made = (ReduceSum(1, tree, axis, False, mean and mean((gone[0],))), kept)
        trace.append(Step("sum", (ops[i],), made, gone[0]))
        return [*rest, made]
    return None


def _contract(ops, out, outs, counts, trace):
    for label in sorted(counts):
        if label in outs or counts[label] != 2:
            continue
        (i, (a, la)), (j, (b, lb)) = [(k, o) for k, o in enumerate(ops) if label in o[1]]
        rest = [o for k, o in enumerate(ops) if k not in (i, j)]
        if len(la) == 1:
            (i, (a, la)), (j, (b, lb)) = (j, (b, lb)), (i, (a, la))
        if len(lb) == 1:  # matrix @ vector: the chain runs from the free index to the vector
            p = la[0] if la[1] == label else la[1]
            made = (matmul(orient(a, la, (p, label)), b), (p,))
            trace.append(Step("matmul", (ops[i], ops[j]), made, label, (la != (p, label), False)))
            return [*rest, made]
        p = la[0] if la[1] == label else la[1]
        q = lb[0] if lb[1] == label else lb[1]
        forward = matmul(orient(a, la, (p, label)), orient(b, lb, (label, q)))
        backward = matmul(orient(b, lb, (q, label)), orient(a, la, (label, p)))
        if p in outs and q in outs:
            use_forward = out.index(p) < out.index(q)
        else:  # the chain's direction is free: walk it the way that transposes least
            use_forward = count_transposes(forward) <= count_transposes(backward)
        if use_forward:
            made = (forward, (p, q))
            flips = (la != (p, label), lb != (label, q))
            trace.append(Step("matmul", (ops[i], ops[j]), made, label, flips))
        else:
            made = (backward, (q, p))
            flips = (lb != (q, label), la != (label, p))
            trace.append(Step("matmul", (ops[j], ops[i]), made, label, flips))
        return [*rest, made]
    return None


def _other_out_position(out: Labels, labels: Labels, label: int) -> int:
    other = labels[0] if labels[1] == label else labels[1]
    return out.index(other) if other in out else -1


def _spread(ops, out, outs, counts, trace):
    for label in sorted(counts):
        uses = counts[label] + (1 if label in outs else 0)
        if uses < 3:
            continue
        vec = next((k for k, o in enumerate(ops) if o[1] == (label,)), None)
        mats = [k for k, o in enumerate(ops) if len(o[1]) == 2 and label in o[1]]
        if vec is None or not mats:
            continue
        # scale the matrix whose other index comes last in the output: X.T @ (s * X)
        mat = max(mats, key=lambda k: (_other_out_position(out, ops[k][1], label), k))
        (v, _), (m, lm) = ops[vec], ops[mat]
        rest = [o for k, o in enumerate(ops) if k not in (vec, mat)]
        made = (mul(expand(v, lm.index(label)), m), lm)
        trace.append(Step("scale", (ops[vec], ops[mat]), made, label))
        return [*rest, made]
    return None


def finalize(
    ops: list[Operand],
    out: Labels,
    ldims: tuple[str, ...],
    bcast: bool,
    ones: Callable[[str], MNode],
    trace: list[Step],
) -> tuple[MNode, frozenset[int]]:
    """Place what the rules left along the output axes; ``(tree, covered axes)``.

    ``ones(dim)`` is the all-ones vector of ``dim`` (an outer product with it spreads a
    vector along an axis no factor carries).
    """
    seen: set[int] = set()
    for _, labels in ops:
        if seen & set(labels) or not set(labels) <= set(out):
            raise NoMatrixFormError
        seen |= set(labels)
    rank = len(out)
    everything = frozenset(range(rank))
    missing = [lab for lab in out if lab not in seen]
    if not ops:
        return Num(0, 1.0), frozenset()
    if rank == 0:
        return mul(*[t for t, _ in ops]), everything
    if len(ops) == 2:
        (a, la), (b, lb) = sorted(ops, key=lambda o: out.index(o[1][0]))
        made: MNode = Call(2, "outer", (a, b))
        trace.append(Step("outer", ((a, la), (b, lb)), (made, out)))
        return made, everything
    tree, labels = ops[0]
    if not missing:
        made = orient(tree, labels, out)
        if made is not tree:
            trace.append(Step("orient", ((tree, labels),), (made, out), None, (True,)))
        return made, everything
    # one vector, a rank-2 output with one label no factor carries
    (label,) = labels
    pos = out.index(label)
    gap = out[1 - pos]
    if ldims[gap] == "1":
        return expand(tree, pos), everything
    if bcast:
        return expand(tree, pos), frozenset({pos})
    spread = ones(ldims[gap])
    pair = (tree, spread) if pos == 0 else (spread, tree)
    made = Call(2, "outer", pair)
    trace.append(Step("broadcast", ((tree, labels),), (made, out), gap))
    return made, everything


def factor_common(rank: int, terms: list[tuple[int, MNode]]) -> MNode:
    """``A @ x + B @ x + b`` -> ``(A + B) @ x + b``: terms that end (or start) alike share it.

    The largest group of matrix-product terms with the same last (or first) factor is
    factored, then the next, until no two terms share an end.
    """
    if len(terms) < 2:
        return scale(terms[0][0], terms[0][1]) if terms else Num(0, 0.0)
    parts = []
    for sign, tree in terms:
        coeff = 1.0
        if isinstance(tree, Scale):
            coeff, tree = tree.coeff, tree.arg
        parts.append((sign * coeff, tree))
    best: tuple[int, list[int], int] | None = None  # (side, members, size)
    for side in (-1, 0):
        # by value (trees are frozen dataclasses): one lookup a term, not a scan of the groups
        groups: dict[MNode, list[int]] = {}
        for k, (_, tree) in enumerate(parts):
            if not (isinstance(tree, MatMul) and len(tree.items) >= 2):
                continue
            groups.setdefault(tree.items[side], []).append(k)
        for members in groups.values():
            if len(members) >= 2 and (best is None or len(members) > best[2]):
                best = (side, members, len(members))
    if best is None:
        return _factor_elementwise(rank, terms, parts)
    side, members, _ = best
    chains = [parts[k] for k in members]
    shared = chains[0][1].items[side]  # type: ignore[attr-defined]
    if side == -1:
        heads = [(c, matmul(*t.items[:-1])) for c, t in chains]  # type: ignore[attr-defined]
        factored = matmul(add_terms(heads[0][1].rank, heads), shared)
    else:
        tails = [(c, matmul(*t.items[1:])) for c, t in chains]  # type: ignore[attr-defined]
        factored = matmul(shared, add_terms(tails[0][1].rank, tails))
    rest = [terms[k] for k in range(len(terms)) if k not in members]
    if not rest:
        return factored
    merged = sorted([(1, factored), *rest], key=lambda st: (st[0] < 0, order_key(st[1])))
    return factor_common(rank, merged)


def _factor_elementwise(rank: int, terms: list[tuple[int, MNode]],
                        parts: list[tuple[float, MNode]]) -> MNode:
    """``a * c + b * c`` -> ``(a + b) * c``: products that share a factor are factored.

    The largest group of elementwise products sharing a factor (an identical tree) is
    factored, then the next.

    Moving factors between products keeps numpy's broadcasting: each product's other
    factors still meet the shared one, now through their sum.
    """
    parts = [(c, _as_product(rank, t)) for c, t in parts]
    groups: list[tuple[MNode, list[int]]] = []
    for k, (_, tree) in enumerate(parts):
        if not isinstance(tree, Mul):
            continue
        own: list[MNode] = []
        for item in tree.items:
            if isinstance(item, Num) or item in own:
                continue
            own.append(item)
            for shared, members in groups:
                if shared == item:
                    members.append(k)
                    break
            else:
                groups.append((item, [k]))
    best = max((g for g in groups if len(g[1]) >= 2), key=lambda g: len(g[1]), default=None)
    if best is None:
        return Add(rank, tuple(terms))
    shared, members = best
    rests = []
    for k in members:
        coeff, tree = parts[k]
        items = list(tree.items)  # type: ignore[attr-defined]
        items.remove(shared)
        rests.append((coeff, mul(*items)))
    inner = add_terms(max(r.rank for _, r in rests), rests)
    factored = mul(inner, shared)
    rest = [terms[k] for k in range(len(terms)) if k not in members]
    if not rest:
        return factored
    merged = sorted([(1, factored), *rest], key=lambda st: (st[0] < 0, order_key(st[1])))
    return factor_common(rank, merged)


def _as_product(rank: int, tree: MNode) -> MNode:
    """A row placed in a matrix, ``(u * v)[None, :]``, as the product of its rows."""
    if (rank == 2 and isinstance(tree, Expand) and tree.axis == 1
            and isinstance(tree.arg, Mul)):
        return Mul(2, tuple(Expand(2, i, 1) if i.rank == 1 else i for i in tree.arg.items))
    return tree


def add_terms(rank: int, parts: list[tuple[float, MNode]]) -> MNode:
    """The sum of ``coeff * tree`` parts, positive terms first, in structural order."""
    terms = []
    for coeff, tree in parts:
        node = tree.items[0] if isinstance(tree, MatMul) and len(tree.items) == 1 else tree
        if len(parts) == 1:
            return scale(coeff, node)
        sign = -1 if coeff < 0 else 1
        terms.append((sign, scale(abs(coeff), node)))
    terms.sort(key=lambda st: (st[0] < 0, order_key(st[1])))
    return Add(rank, tuple(terms))
