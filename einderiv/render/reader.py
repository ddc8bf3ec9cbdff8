"""Reading a product's tensor network as matrix operations."""

from __future__ import annotations

from einderiv.ir.canonical import is_symmetric
from einderiv.ir.nodes import Delta, Expr, Func, LogSumExp, MatFunc, Product, Size, Sum, Symbol
from einderiv.render.compose import matmul, mul, scale
from einderiv.render.latex import latex_name, tex, tex_wrapped
from einderiv.render.numpytext import to_text
from einderiv.render.sizes import SizeSource
from einderiv.render.tree import (
    ATOM,
    Add,
    Call,
    Expand,
    Leaf,
    MatMul,
    MNode,
    Num,
    Raw,
    ReduceSum,
    Scale,
    transpose,
)

# -- from IR to the matrix tree --------------------------------------------------------


class _NoMatrixFormError(Exception):
    """Raised inside product reading when the network has no matrix form."""


class Renderer:
    """Reads an expression DAG into matrix trees, one memoized tree per node."""
    def __init__(self, root: Expr, names: dict[str, str] | None = None) -> None:
        self.size = SizeSource(root)
        self.names = names or {}
        self.memo: dict[tuple[str, bool], tuple[MNode, frozenset[int]]] = {}

    @staticmethod
    def all(rank: int) -> frozenset[int]:
        """Every axis position of a rank-``rank`` result."""
        return frozenset(range(rank))

    def render(self, node: Expr, bcast: bool = False) -> tuple[MNode, frozenset[int]]:
        """``(tree, covered)``: the output axes the tree really spans (others broadcast)."""
        key = (node.key, bcast)
        if key not in self.memo:
            self.memo[key] = self._render(node, bcast)
        return self.memo[key]

    def full(self, node: Expr) -> MNode:
        """The tree of ``node`` spanning all its axes (no broadcast left implicit)."""
        return self.render(node, False)[0]

    def _render(self, node: Expr, bcast: bool) -> tuple[MNode, frozenset[int]]:
        rank = len(node.dims)
        if node.key in self.names:
            name = self.names[node.key]
            return Leaf(rank, name, latex_name(name)), self.all(rank)
        if isinstance(node, Symbol):
            return Leaf(rank, node.name, latex_name(node.name), node.symmetric), self.all(rank)
        if isinstance(node, Size):
            return Leaf(0, self.size(node.dim), latex_name(node.dim)), self.all(rank)
        if isinstance(node, Delta):
            return Leaf(2, f"np.eye({self.size(node.dim)})", "I", True), self.all(rank)
        if isinstance(node, Func):
            return self._func(node), self.all(rank)
        if isinstance(node, MatFunc):
            arg = self.full(node.arg)
            return Call(rank, node.name, (arg,)), self.all(rank)
        if isinstance(node, LogSumExp):
            arg = self.full(node.arg)
            return Call(rank, "logsumexp", (arg,), node.axes), self.all(rank)
        if isinstance(node, Sum):
            return self._sum(node, bcast)
        if isinstance(node, Product):
            try:
                return self._product(node, bcast)
            except _NoMatrixFormError:
                return self._einsum(node), self.all(rank)
        raise AssertionError(node.kind)  # pragma: no cover

    def _func(self, node: Func) -> MNode:
        arg = self.full(node.arg)
        if node.name == "pow":
            return Call(arg.rank, "pow", (arg,), node.param)
        return Call(arg.rank, node.name, (arg,))

    def _sum(self, node: Sum, bcast: bool) -> tuple[MNode, frozenset[int]]:
        rank = len(node.dims)
        if not node.terms:
            if rank == 0 or bcast:
                return Num(0, 0.0), frozenset()
            shape = ", ".join(self.size(d) for d in node.dims)
            comma = "," if rank == 1 else ""
            return Leaf(rank, f"np.zeros(({shape}{comma}))", "0"), self.all(rank)
        rendered = [self.render(t, True) for t in node.terms]
        covered = frozenset().union(*(c for _, c in rendered))
        if covered != self.all(rank) and not bcast:
            rendered[0] = self.render(node.terms[0], False)
            covered = self.all(rank)
        terms = []
        for tree, _ in rendered:
            sign = 1
            if isinstance(tree, Scale) and tree.coeff < 0:
                sign, tree = -1, scale(-1.0, tree)
            elif isinstance(tree, Num) and tree.value < 0:
                sign, tree = -1, Num(0, -tree.value)
            terms.append((sign, tree))
        terms.sort(key=lambda st: (st[0] < 0, to_text(st[1])))
        if terms[0][0] < 0:  # all negative: pull the sign out
            inner = _factor_common(rank, [(-s, t) for s, t in terms])
            return scale(-1.0, inner), covered
        return _factor_common(rank, terms), covered

    # -- one product: read its tensor network ------------------------------------------
    def _product(self, node: Product, bcast: bool) -> tuple[MNode, frozenset[int]]:
        out = node.out
        if len(out) > 2:
            raise _NoMatrixFormError
        ldims = node.ldims
        outs = set(out)
        scalars: list[MNode] = []
        ops: list[tuple[MNode, tuple[int, ...]]] = []
        counts: dict[int, int] = {}
        for _, labels in node.factors:
            for label in set(labels):
                counts[label] = counts.get(label, 0) + 1
        coeff = node.coeff
        for factor, labels in node.factors:
            if len(labels) > 2:
                raise _NoMatrixFormError
            tree = self.full(factor)
            if isinstance(tree, Scale):  # a product is linear in each factor
                coeff *= tree.coeff
                tree = tree.arg
            if isinstance(tree, Num):
                coeff *= tree.value
                continue
            if is_symmetric(factor) and isinstance(tree, Leaf):
                tree = Leaf(2, tree.text, tree.latex, True)
            if not labels:
                scalars.append(tree)
                continue
            if len(labels) == 2 and labels[0] == labels[1]:
                label = labels[0]
                if label not in outs and counts[label] == 1:
                    scalars.append(Call(0, "trace", (tree,)))
                    continue
                ops.append((Call(1, "diagonal", (tree,)), (label,)))
                continue
            ops.append((tree, tuple(labels)))
        ops = _diag_deltas(ops)
        ops, relabelled = _unit_axes(ops, out, ldims)
        ops, scalars = _read_network(ops, out, ldims, scalars)
        result, covered = _finalize(ops, out, ldims, bcast, self.size)
        covered = covered - relabelled
        if covered != self.all(len(out)) and not bcast:
            shape = ", ".join(self.size(ldims[lab]) for lab in out)
            ones = Leaf(len(out), f"np.ones(({shape}{',' if len(out) == 1 else ''}))", "")
            result = mul(result, ones)
            covered = self.all(len(out))
        total = mul(*scalars, result) if scalars else result
        return scale(coeff, total), covered

    def _einsum(self, node: Product) -> MNode:
        from einderiv.render.letters import letter

        operands: list[str] = []
        subs: list[str] = []
        scalars: list[MNode] = []
        for factor, labels in node.factors:
            tree = self.full(factor)
            if not labels:
                scalars.append(tree)
                continue
            operands.append(to_text(tree))
            subs.append("".join(letter(x) for x in labels))
        present = {x for _, ls in node.factors for x in ls}
        for label in node.out:
            if label not in present:
                operands.append(f"np.ones({self.size(node.ldims[label])})")
                subs.append(letter(label))
        spec = ",".join(subs) + "->" + "".join(letter(x) for x in node.out)
        text = f"np.einsum('{spec}', {', '.join(operands)})"
        latex = _latex_index_product(node, self)
        body: MNode = Raw(len(node.out), text, latex)
        if not operands:
            body = Num(0, 1.0)
        return scale(node.coeff, mul(*scalars, body))


def _diag_deltas(ops: list[tuple[MNode, tuple[int, ...]]]) -> list:
    """``v_a δ_ab`` -> ``diag(v)_ab`` when ``b`` meets nothing else."""
    ops = list(ops)
    changed = True
    while changed:
        changed = False
        for i, (tree, labels) in enumerate(ops):
            if not (isinstance(tree, Leaf) and tree.text.startswith("np.eye(")):
                continue
            for j, (other, olabels) in enumerate(ops):
                if j == i or len(olabels) != 1 or olabels[0] not in labels:
                    continue
                diag = (Call(2, "diag", (other,)), labels)
                ops = [o for k, o in enumerate(ops) if k not in (i, j)] + [diag]
                changed = True
                break
            if changed:
                break
    return ops


def _unit_axes(ops, out, ldims):
    """Read a summed size-1 axis as the broadcast output axis at its place (``ba[n,1]``)."""
    counts: dict[int, int] = {}
    for _, labels in ops:
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
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
        result.append((tree, tuple(new)))
    return result, frozenset(changed)


def _orient(tree: MNode, labels: tuple[int, ...], want: tuple[int, ...]) -> MNode:
    if labels == want or len(labels) < 2:
        return tree
    return transpose(tree)


def _transposes(tree: MNode) -> int:
    text = to_text(tree)
    return text.count(".T")


def _read_network(ops, out, ldims, scalars):
    """Apply the reading rules until none fits; return what is left and the scalars."""
    outs = set(out)
    while True:
        scalars.extend(t for t, labels in ops if not labels)
        ops = [o for o in ops if o[1]]
        counts: dict[int, int] = {}
        for _, labels in ops:
            for label in labels:
                counts[label] = counts.get(label, 0) + 1
        step = _hadamard(ops, outs, counts)
        if step is None:
            step = _reduce(ops, outs, counts, ldims)
        if step is None:
            step = _contract(ops, out, outs, counts)
        if step is None:
            step = _broadcast(ops, out, outs, counts)
        if step is None:
            return ops, scalars
        ops = step


def _hadamard(ops, outs, counts):
    for i in range(len(ops)):
        for j in range(i + 1, len(ops)):
            (a, la), (b, lb) = ops[i], ops[j]
            if set(la) != set(lb):
                continue
            rest = [o for k, o in enumerate(ops) if k not in (i, j)]
            summed = [lab for lab in la if lab not in outs and counts[lab] == 2]
            if len(la) == 1 and summed:
                return [*rest, (matmul(a, b) if a.rank else mul(a, b), ())]
            if len(la) == 2 and len(summed) == 2 and la == (lb[1], lb[0]):
                return [*rest, (Call(0, "trace", (matmul(a, b),)), ())]
            return [*rest, (mul(a, _orient(b, lb, la)), la)]
    return None


def _reduce(ops, outs, counts, ldims):
    for i, (tree, labels) in enumerate(ops):
        gone = [lab for lab in labels if lab not in outs and counts[lab] == 1]
        if not gone:
            continue
        rest = ops[:i] + ops[i + 1 :]
        if len(gone) == len(labels):
            return [*rest, (ReduceSum(0, tree, None), ())]
        axis = labels.index(gone[0])
        kept = tuple(lab for lab in labels if lab != gone[0])
        return [*rest, (ReduceSum(1, tree, axis), kept)]
    return None


def _contract(ops, out, outs, counts):
    for label in sorted(counts):
        if label in outs or counts[label] != 2:
            continue
        (i, (a, la)), (j, (b, lb)) = [(k, o) for k, o in enumerate(ops) if label in o[1]]
        rest = [o for k, o in enumerate(ops) if k not in (i, j)]
        if len(la) == 1 and len(lb) == 1:  # pragma: no cover - handled as Hadamard
            return [*rest, (matmul(a, b), ())]
        if len(la) == 1:
            (a, la), (b, lb) = (b, lb), (a, la)
        if len(lb) == 1:  # matrix @ vector
            p = la[0] if la[1] == label else la[1]
            return [*rest, (matmul(_orient(a, la, (p, label)), b), (p,))]
        p = la[0] if la[1] == label else la[1]
        q = lb[0] if lb[1] == label else lb[1]
        forward = matmul(_orient(a, la, (p, label)), _orient(b, lb, (label, q)))
        backward = matmul(_orient(b, lb, (q, label)), _orient(a, la, (label, p)))
        if p in outs and q in outs:
            use_forward = out.index(p) < out.index(q)
        else:
            use_forward = _transposes(forward) <= _transposes(backward)
        if use_forward:
            return [*rest, (forward, (p, q))]
        return [*rest, (backward, (q, p))]
    return None


def _out_pos(out, labels, label) -> int:
    other = labels[0] if labels[1] == label else labels[1]
    return out.index(other) if other in out else -1


def _broadcast(ops, out, outs, counts):
    for label in sorted(counts):
        uses = counts[label] + (1 if label in outs else 0)
        if uses < 3:
            continue
        vec = next((k for k, o in enumerate(ops) if o[1] == (label,)), None)
        mats = [k for k, o in enumerate(ops) if len(o[1]) == 2 and label in o[1]]
        if vec is None or not mats:
            continue
        # scale the matrix whose other index comes last in the output: X.T @ (s * X)
        mat = max(mats, key=lambda k: (_out_pos(out, ops[k][1], label), k))
        (v, _), (m, lm) = ops[vec], ops[mat]
        rest = [o for k, o in enumerate(ops) if k not in (vec, mat)]
        return [*rest, (mul(Expand(2, v, lm.index(label)), m), lm)]
    return None


def _finalize(ops, out, ldims, bcast, size) -> tuple[MNode, frozenset[int]]:
    seen: set[int] = set()
    for _, labels in ops:
        if seen & set(labels) or not set(labels) <= set(out):
            raise _NoMatrixFormError
        seen |= set(labels)
    rank = len(out)
    everything = frozenset(range(rank))
    missing = [lab for lab in out if lab not in seen]
    if not ops:
        if rank == 0 or bcast:
            return Num(0, 1.0), frozenset()
        shape = ", ".join(size(ldims[lab]) for lab in out)
        comma = "," if rank == 1 else ""
        return Leaf(rank, f"np.ones(({shape}{comma}))", r"\mathbf{1}"), everything
    if rank == 0:
        return mul(*[t for t, _ in ops]), everything
    if len(ops) == 2:
        (a, la), (b, lb) = sorted(ops, key=lambda o: out.index(o[1][0]))
        return Call(2, "outer", (a, b)), everything
    tree, labels = ops[0]
    if not missing:
        return _orient(tree, labels, out), everything
    # one vector, a rank-2 output with one label no factor carries
    (label,) = labels
    pos = out.index(label)
    gap = out[1 - pos]
    if ldims[gap] == "1":
        if isinstance(tree, ReduceSum) and tree.axis == 1 - pos and tree.arg.rank == 2:
            return ReduceSum(2, tree.arg, tree.axis, True), everything
        return Expand(2, tree, pos), everything
    if bcast and pos == 1:
        return Expand(2, tree, 1), frozenset({1})
    if bcast:
        return Expand(2, tree, 0), frozenset({0})
    ones = Leaf(1, f"np.ones({size(ldims[gap])})", r"\mathbf{1}")
    pair = (tree, ones) if pos == 0 else (ones, tree)
    return Call(2, "outer", pair), everything


def _factor_common(rank: int, terms: list[tuple[int, MNode]]) -> MNode:
    """``A @ x + B @ x`` -> ``(A + B) @ x`` when every term ends (or starts) alike."""
    if len(terms) > 1:
        parts = []
        for sign, tree in terms:
            coeff = 1.0
            if isinstance(tree, Scale):
                coeff, tree = tree.coeff, tree.arg
            parts.append((sign * coeff, tree))
        if all(isinstance(t, MatMul) and len(t.items) >= 2 for _, t in parts):
            last = parts[0][1].items[-1]  # type: ignore[attr-defined]
            if all(t.items[-1] == last for _, t in parts):  # type: ignore[attr-defined]
                heads = [(c, matmul(*t.items[:-1])) for c, t in parts]  # type: ignore[attr-defined]
                inner = _add(heads[0][1].rank, heads)
                return matmul(inner, last)
            first = parts[0][1].items[0]  # type: ignore[attr-defined]
            if all(t.items[0] == first for _, t in parts):  # type: ignore[attr-defined]
                tails = [(c, matmul(*t.items[1:])) for c, t in parts]  # type: ignore[attr-defined]
                inner = _add(tails[0][1].rank, tails)
                return matmul(first, inner)
    return Add(rank, tuple(terms)) if len(terms) > 1 else scale(terms[0][0], terms[0][1])


def _add(rank: int, parts: list[tuple[float, MNode]]) -> MNode:
    terms = []
    for coeff, tree in parts:
        node = tree.items[0] if isinstance(tree, MatMul) and len(tree.items) == 1 else tree
        if len(parts) == 1:
            return scale(coeff, node)
        sign = -1 if coeff < 0 else 1
        terms.append((sign, scale(abs(coeff), node)))
    terms.sort(key=lambda st: (st[0] < 0, to_text(st[1])))
    return Add(rank, tuple(terms))


def _latex_index_product(node: Product, renderer: Renderer) -> str:
    from einderiv.render.letters import index_names

    names = index_names(node)
    parts = []
    for factor, labels in node.factors:
        tree = renderer.full(factor)
        text = tex_wrapped(tex(tree), ATOM)
        if isinstance(factor, Delta):
            text = r"\delta"
        sub = "".join(names[x] for x in labels)
        parts.append(text + (f"_{{{sub}}}" if sub else ""))
    summed = "".join(names[x] for x in node.summed)
    prefix = f"\\sum_{{{summed}}} " if summed else ""
    return prefix + " ".join(parts) if parts else "1"
