r"""Rendering: expressions back into matrix form, as numpy text and as LaTeX.

Contract: :func:`to_numpy` returns ONE numpy expression that uses only the declared
symbol names, numbers, ``np.`` functions, ``@``, ``.T`` and array methods, and that
``eval(s, {"np": numpy, **values})`` turns into the same array as ``evaluate``.
:func:`to_latex` writes the same matrix form in LaTeX.  Both read one small matrix
syntax tree (:class:`MNode`) built by :func:`matrix_form`; rendering never raises for a
valid expression: a product with no matrix form (rank >= 3, factors with more than two
indices) falls back to ``np.einsum`` for that product only (index form in LaTeX).

A product's tensor network is read as a graph: labels are nodes, factors of rank <= 2
are edges (vectors are end caps).  Reading rules, applied until none fits:

* two factors over the same labels -> Hadamard ``A * B`` (a dot ``a @ b`` for vectors);
* a summed label that one factor carries -> ``.sum(axis=...)`` (``np.trace`` for a loop);
* a summed label that two factors carry -> a ``@`` chain, transposes from the direction
  of travel, oriented to the output order;
* a label used three times -> diagonal scaling by broadcasting (``s[:, None] * X``);
* a free label pair with no chain -> ``np.outer``; a broadcast label -> ``np.ones``.

Output is deterministic: the same input always renders the same string.

>>> import einderiv as ed
>>> W, x = ed.symbols("W[n,m] x[m]")
>>> ed.vjp(W @ x, "x", "g").to_numpy()
'W.T @ g'
>>> ed.vjp(W @ x, "x", "g").to_latex()
'W^\\top g'
"""

from __future__ import annotations

import contextlib
import re
import sys
from dataclasses import dataclass, field

import networkx as nx  # type: ignore[import-untyped]

from .canonical import is_symmetric
from .functions import FUNCTIONS
from .indexform import _fmt_coeff, _SizeSource, numpy_logsumexp
from .ir import (
    Delta,
    Expr,
    Func,
    LogSumExp,
    MatFunc,
    Product,
    Size,
    Sum,
    Symbol,
    topological,
)

# Precedence levels of the printed numpy text.
ADD, MUL, UNARY, POW, ATOM = 1, 2, 3, 4, 5
CHAIN = 2.5  # LaTeX only: a matrix product written by juxtaposition (diag(s) X)


# -- the matrix syntax tree ------------------------------------------------------------


@dataclass(frozen=True)
class MNode:
    """A node of the matrix-form syntax tree; ``rank`` is its number of axes."""

    rank: int


@dataclass(frozen=True)
class Leaf(MNode):
    """A name or a ready-made atom (``W``, ``X.shape[0]``, ``np.eye(n)``)."""

    text: str = ""
    latex: str = ""
    symmetric: bool = False


@dataclass(frozen=True)
class Num(MNode):
    """A number (rank 0)."""

    value: float = 0.0


@dataclass(frozen=True)
class Transpose(MNode):
    """``x.T`` of a matrix."""

    arg: MNode = field(default_factory=lambda: Num(0))


@dataclass(frozen=True)
class MatMul(MNode):
    """``a @ b @ ...``."""

    items: tuple[MNode, ...] = ()


@dataclass(frozen=True)
class Mul(MNode):
    """Elementwise product with numpy broadcasting (Hadamard, scaling)."""

    items: tuple[MNode, ...] = ()


@dataclass(frozen=True)
class Scale(MNode):
    """``coeff * arg`` for a number ``coeff``."""

    coeff: float = 1.0
    arg: MNode = field(default_factory=lambda: Num(0))


@dataclass(frozen=True)
class Add(MNode):
    """``t0 + t1 - t2 ...``: terms with a sign each."""

    terms: tuple[tuple[int, MNode], ...] = ()


@dataclass(frozen=True)
class Call(MNode):
    """A numpy function of its arguments: ``fn`` names the kind (``trace``, ``tanh``...)."""

    fn: str = ""
    args: tuple[MNode, ...] = ()
    param: float | tuple[int, ...] | None = None


@dataclass(frozen=True)
class ReduceSum(MNode):
    """``arg.sum(axis=..., keepdims=...)``; ``axis=None`` sums everything."""

    arg: MNode = field(default_factory=lambda: Num(0))
    axis: int | None = None
    keepdims: bool = False


@dataclass(frozen=True)
class Expand(MNode):
    """A vector placed along ``axis`` of a matrix: ``v[:, None]`` (0) or ``v[None, :]`` (1)."""

    arg: MNode = field(default_factory=lambda: Num(0))
    axis: int = 0


@dataclass(frozen=True)
class Raw(MNode):
    """Text with no matrix form (an ``np.einsum`` fallback)."""

    text: str = ""
    latex: str = ""


def transpose(node: MNode) -> MNode:
    """The transpose of ``node``, pushed inward (``(A @ B).T`` -> ``B.T @ A.T``).

    >>> transpose(MatMul(2, (Leaf(2, "A"), Leaf(2, "B"))))
    ... # doctest: +ELLIPSIS
    MatMul(rank=2, items=(Transpose(rank=2, arg=Leaf(rank=2, text='B', ...
    """
    if node.rank < 2:
        return node
    if isinstance(node, Leaf) and node.symmetric:
        return node
    if isinstance(node, Transpose):
        return node.arg
    if isinstance(node, MatMul):
        return MatMul(2, tuple(transpose(i) for i in reversed(node.items)))
    if isinstance(node, Mul):
        return Mul(2, tuple(transpose(i) for i in node.items))
    if isinstance(node, Scale):
        return Scale(2, node.coeff, transpose(node.arg))
    if isinstance(node, Add):
        return Add(2, tuple((s, transpose(t)) for s, t in node.terms))
    if isinstance(node, Expand):
        return Expand(2, node.arg, 1 - node.axis)
    if isinstance(node, Call) and node.fn == "outer":
        return Call(2, "outer", (node.args[1], node.args[0]))
    if isinstance(node, Call) and node.fn in _ELEMENTWISE_FNS:
        return Call(2, node.fn, (transpose(node.args[0]),), node.param)
    return Transpose(2, node)


_ELEMENTWISE_FNS = set(FUNCTIONS)


def matmul(*items: MNode) -> MNode:
    """``items[0] @ items[1] @ ...`` with nested chains flattened."""
    flat: list[MNode] = []
    last = len(items) - 1
    for index, item in enumerate(items):
        if isinstance(item, MatMul) and item.rank == 1 and last > 0:
            # a vector chain is a column (M @ v) or a row (v @ M); it joins a chain on
            # the left as a row and on the right as a column, or the order would change
            column = item.items[-1].rank == 1
            if (index < last and column) or (index > 0 and not column):
                item = MatMul(1, tuple(transpose(i) for i in reversed(item.items)))
        flat.extend(item.items if isinstance(item, MatMul) else (item,))
    rank = 0
    if flat[0].rank == 2 and flat[-1].rank == 2:
        rank = 2
    elif flat[0].rank == 2 or flat[-1].rank == 2:
        rank = 1
    elif len(flat) == 1:
        rank = flat[0].rank
    return MatMul(rank, tuple(flat))


def mul(*items: MNode) -> MNode:
    """Elementwise product with nested products flattened and scales pulled out."""
    flat: list[MNode] = []
    coeff = 1.0
    for item in items:
        if isinstance(item, Scale):
            coeff *= item.coeff
            item = item.arg
        if isinstance(item, Mul):
            flat.extend(item.items)
        elif isinstance(item, Num):
            coeff *= item.value
        else:
            flat.append(item)
    rank = max((i.rank for i in flat), default=0)
    if not flat:
        return Num(0, coeff)
    node = flat[0] if len(flat) == 1 else Mul(rank, tuple(sorted(flat, key=_mul_order)))
    return scale(coeff, node)


def _mul_order(node: MNode) -> tuple:
    kind = 0 if node.rank == 0 else (1 if isinstance(node, Expand) else 2)
    return (kind, to_text(node))


def scale(coeff: float, node: MNode) -> MNode:
    """``coeff * node`` (nested scales multiplied out)."""
    if isinstance(node, Scale):
        coeff *= node.coeff
        node = node.arg
    if isinstance(node, Num):
        return Num(0, coeff * node.value)
    if coeff == 1.0:
        return node
    return Scale(node.rank, coeff, node)


# -- from IR to the matrix tree --------------------------------------------------------


class _NoMatrixFormError(Exception):
    """Raised inside product reading when the network has no matrix form."""


class _Renderer:
    def __init__(self, root: Expr, names: dict[str, str] | None = None) -> None:
        self.size = _SizeSource(root)
        self.names = names or {}
        self.memo: dict[tuple[str, bool], tuple[MNode, frozenset[int]]] = {}

    @staticmethod
    def all(rank: int) -> frozenset[int]:
        return frozenset(range(rank))

    def render(self, node: Expr, bcast: bool = False) -> tuple[MNode, frozenset[int]]:
        """``(tree, covered)``: the output axes the tree really spans (others broadcast)."""
        key = (node.key, bcast)
        if key not in self.memo:
            self.memo[key] = self._render(node, bcast)
        return self.memo[key]

    def full(self, node: Expr) -> MNode:
        return self.render(node, False)[0]

    def _render(self, node: Expr, bcast: bool) -> tuple[MNode, frozenset[int]]:
        rank = len(node.dims)
        if node.key in self.names:
            name = self.names[node.key]
            return Leaf(rank, name, _latex_name(name)), self.all(rank)
        if isinstance(node, Symbol):
            return Leaf(rank, node.name, _latex_name(node.name), node.symmetric), self.all(rank)
        if isinstance(node, Size):
            return Leaf(0, self.size(node.dim), _latex_name(node.dim)), self.all(rank)
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
        from .indexform import _LETTERS

        operands: list[str] = []
        subs: list[str] = []
        scalars: list[MNode] = []
        for factor, labels in node.factors:
            tree = self.full(factor)
            if not labels:
                scalars.append(tree)
                continue
            operands.append(to_text(tree))
            subs.append("".join(_LETTERS[x] for x in labels))
        present = {x for _, ls in node.factors for x in ls}
        for label in node.out:
            if label not in present:
                operands.append(f"np.ones({self.size(node.ldims[label])})")
                subs.append(_LETTERS[label])
        spec = ",".join(subs) + "->" + "".join(_LETTERS[x] for x in node.out)
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


# -- numpy text ---------------------------------------------------------------------------


def _num(value: float) -> str:
    return _fmt_coeff(value)


def _wrap(text_prec: tuple[str, int], need: int) -> str:
    text, prec = text_prec
    return text if prec >= need else f"({text})"


_DIALECT = ["np"]  # "torch" spells a few functions the torch way (see codegen)


@contextlib.contextmanager
def dialect(name: str):
    """Print numpy text in ``name``'s spelling (``"np"`` or ``"torch"``) inside the block."""
    _DIALECT.append(name)
    try:
        yield
    finally:
        _DIALECT.pop()


def _np(node: MNode) -> tuple[str, int]:
    attr = "_np_" + _DIALECT[-1]
    cached = node.__dict__.get(attr)
    if cached is None:
        cached = _np_uncached(node)
        object.__setattr__(node, attr, cached)
    return cached


def _np_uncached(node: MNode) -> tuple[str, int]:
    if isinstance(node, Leaf):
        return node.text, ATOM
    if isinstance(node, Raw):
        return node.text, ATOM
    if isinstance(node, Num):
        text = _num(node.value)
        return text, (UNARY if node.value < 0 else ATOM)
    if isinstance(node, Transpose):
        return _wrap(_np(node.arg), ATOM) + ".T", ATOM
    if isinstance(node, MatMul):
        if len(node.items) == 1:
            return _np(node.items[0])
        return " @ ".join(_wrap(_np(i), UNARY) for i in node.items), MUL
    if isinstance(node, Mul):
        dens = [i for i in node.items if _is_reciprocal(i)]
        nums = [i for i in node.items if not _is_reciprocal(i)]
        parts = []
        for item in nums:
            if isinstance(item, Expand) and item.axis == 1 and node.rank == 2:
                item = item.arg  # trailing-axis broadcasting needs no index
            parts.append(_wrap(_np(item), UNARY) if len(nums) > 1 else _np(item)[0])
        if len(nums) == 1 and _np(nums[0])[1] < MUL:
            parts = [f"({parts[0]})"]
        text = " * ".join(parts) if parts else "1"
        for den in dens:
            text += " / " + _wrap(_np(den.args[0]), ATOM)  # type: ignore[attr-defined]
        return text, MUL
    if isinstance(node, Scale):
        inner = _np(node.arg)
        if node.coeff == -1.0:
            return "-" + _wrap(inner, MUL), UNARY if inner[1] > MUL else MUL
        return f"{_num(node.coeff)} * {_wrap(inner, MUL)}", MUL
    if isinstance(node, Add):
        out = ""
        for index, (sign, term) in enumerate(node.terms):
            if isinstance(term, Expand) and term.axis == 1 and node.rank == 2:
                term = term.arg  # a row broadcasts without an index
            text = _wrap(_np(term), MUL)
            if index == 0:
                out = text if sign > 0 else "-" + _wrap(_np(term), UNARY)
            else:
                out += (" + " if sign > 0 else " - ") + text
        return out, ADD
    if isinstance(node, ReduceSum):
        base = _wrap(_np(node.arg), ATOM)
        if node.axis is None:
            return base + ".sum()", ATOM
        keep = ", keepdims=True" if node.keepdims else ""
        return f"{base}.sum(axis={node.axis}{keep})", ATOM
    if isinstance(node, Expand):
        base = _wrap(_np(node.arg), ATOM)
        return base + ("[:, None]" if node.axis == 0 else "[None, :]"), ATOM
    if isinstance(node, Call):
        return _np_call(node)
    raise AssertionError(node)  # pragma: no cover


def _is_reciprocal(node: MNode) -> bool:
    return isinstance(node, Call) and node.fn == "pow" and node.param == -1.0 and node.rank == 0


_NP_CALLS = {
    "trace": "np.trace",
    "diagonal": "np.diag",
    "diag": "np.diag",
    "outer": "np.outer",
    "inv": "np.linalg.inv",
    "det": "np.linalg.det",
}


def _np_call(node: Call) -> tuple[str, int]:
    args = [_np(a)[0] for a in node.args]
    if node.fn in _NP_CALLS:
        return f"{_NP_CALLS[node.fn]}({', '.join(args)})", ATOM
    arg = node.args[0]
    if node.fn == "logdet":
        return f"np.linalg.slogdet({args[0]})[1]", ATOM
    if _DIALECT[-1] == "torch":
        torch_text = _torch_call(node, args[0])
        if torch_text is not None:
            return torch_text, ATOM
    if node.fn == "logsumexp":
        axes = node.param
        assert isinstance(axes, tuple)
        return numpy_logsumexp(_wrap(_np(arg), ATOM), axes, arg.rank), ATOM
    if node.fn == "pow":
        p = node.param
        assert isinstance(p, float)
        if p == -1.0:
            return f"1 / {_wrap(_np(arg), UNARY)}", MUL
        if p == 0.5:
            return f"np.sqrt({args[0]})", ATOM
        exponent = _num(p) if p >= 0 else f"({_num(p)})"
        return f"{_wrap(_np(arg), ATOM)}**{exponent}", POW
    if node.fn == "sigmoid":
        text, prec = _np(arg)
        if text.startswith("-") and prec >= MUL:  # sigmoid(-u) = 1 / (1 + exp(u))
            return f"1 / (1 + np.exp({text[1:]}))", MUL
        return f"1 / (1 + np.exp(-{_wrap((text, prec), UNARY)}))", MUL
    if node.fn == "relu":
        return f"np.maximum({args[0]}, 0)", ATOM
    if node.fn == "step":
        return f"np.heaviside({args[0]}, 0.0)", ATOM
    if node.fn == "softplus":
        return f"np.logaddexp(0, {args[0]})", ATOM
    return f"{FUNCTIONS[node.fn].numpy}({args[0]})", ATOM


def _torch_call(node: Call, arg: str) -> str | None:
    if node.fn == "logsumexp":
        axes = node.param
        assert isinstance(axes, tuple)
        return f"torch.logsumexp({arg}, dim={axes if len(axes) > 1 else axes[0]})"
    simple = {"relu": "torch.relu", "sigmoid": "torch.sigmoid",
              "softplus": "torch.nn.functional.softplus"}
    if node.fn in simple:
        return f"{simple[node.fn]}({arg})"
    if node.fn == "step":
        return f"(({arg}) > 0) * 1.0"
    return None


def to_text(node: MNode) -> str:
    """The numpy text of a matrix tree.

    >>> to_text(MatMul(1, (Transpose(2, Leaf(2, "W")), Leaf(1, "g"))))
    'W.T @ g'
    """
    return _np(node)[0]


# -- LaTeX ------------------------------------------------------------------------------


def _latex_name(name: str) -> str:
    if "_" in name:
        head, tail = name.split("_", 1)
        return f"{head}_{{\\mathrm{{{tail.replace('_', ' ')}}}}}"
    if len(name) > 1 and name[-1].isdigit() and name[:-1].isalpha():
        return f"{name[:-1]}_{{{name[-1]}}}"
    return name


_LATEX_FUNCS = {
    "tanh": r"\tanh",
    "exp": r"\exp",
    "log": r"\log",
    "sin": r"\sin",
    "cos": r"\cos",
    "sigmoid": r"\sigma",
    "log1p": r"\mathrm{log1p}",
    "abs": r"\mathrm{abs}",
    "sign": r"\mathrm{sign}",
    "relu": r"\mathrm{relu}",
    "step": r"\mathrm{step}",
    "softplus": r"\mathrm{softplus}",
}


def _paren(text: str) -> str:
    return r"\left(" + text + r"\right)"


_ENDS_WITH_SUPERSCRIPT = re.compile(r"\^(\\top|\{[^{}]*\})$")


def _sup_base(text: str) -> str:
    r"""``text`` ready for a superscript: ``{B^\top}^{2}``, as TeX rejects ``B^\top^{2}``."""
    return "{" + text + "}" if _ENDS_WITH_SUPERSCRIPT.search(text) else text


def _tex(node: MNode) -> tuple[str, float]:
    cached = node.__dict__.get("_tex")
    if cached is None:
        cached = _tex_uncached(node)
        object.__setattr__(node, "_tex", cached)
    return cached


def _tex_uncached(node: MNode) -> tuple[str, float]:
    if isinstance(node, (Leaf, Raw)):
        return node.latex, ATOM
    if isinstance(node, Num):
        return _num(node.value), (MUL if node.value < 0 else ATOM)
    if isinstance(node, Transpose):
        text, prec = _tex(node.arg)
        if text.endswith("^{-1}"):
            return text[: -len("^{-1}")] + r"^{-\top}", ATOM
        base = _sup_base(text) if prec >= ATOM else _paren(text)
        return base + r"^\top", ATOM
    if isinstance(node, MatMul):
        parts = [_texwrap(_tex(i), CHAIN) for i in node.items]
        if len(parts) > 1 and node.items[0].rank == 1:  # a leading vector is a row
            parts[0] = _sup_base(_texwrap(_tex(node.items[0]), ATOM)) + r"^\top"
        return " ".join(parts), MUL
    if isinstance(node, Mul):
        if len(node.items) == 2 and isinstance(node.items[0], Expand) and node.rank == 2:
            vec, other = node.items
            diag = r"\mathrm{diag}" + _paren(_tex(vec.arg)[0])  # type: ignore[attr-defined]
            mat = _texwrap(_tex(other), POW)
            text = f"{diag} {mat}" if vec.axis == 0 else f"{mat} {diag}"  # type: ignore
            return text, CHAIN
        parts = [_texwrap(_tex(i), POW) for i in node.items]
        scalars = [p for p, i in zip(parts, node.items) if i.rank == 0]
        rest = [p for p, i in zip(parts, node.items) if i.rank != 0]
        return " ".join(scalars + [r" \odot ".join(rest)]).strip(), MUL
    if isinstance(node, Scale):
        inner = _texwrap(_tex(node.arg), MUL)
        if node.coeff == -1.0:
            return "-" + inner, MUL
        return f"{_num(node.coeff)} {inner}", MUL
    if isinstance(node, Add):
        out = ""
        for index, (sign, term) in enumerate(node.terms):
            text = _texwrap(_tex(term), MUL)
            if index == 0:
                out = text if sign > 0 else "-" + text
            else:
                out += (" + " if sign > 0 else " - ") + text
        return out, ADD
    if isinstance(node, ReduceSum):
        arg = _texwrap(_tex(node.arg), POW)
        if node.axis is None:
            if node.arg.rank == 1:
                return r"\mathbf{1}^\top " + arg, MUL
            return r"\mathbf{1}^\top " + arg + r" \mathbf{1}", MUL
        if node.axis == 1:
            return arg + r" \mathbf{1}", MUL
        return _sup_base(_texwrap(_tex(node.arg), ATOM)) + r"^\top \mathbf{1}", MUL
    if isinstance(node, Expand):
        arg = _texwrap(_tex(node.arg), POW)
        if node.axis == 0:
            return arg + r" \mathbf{1}^\top", MUL
        return r"\mathbf{1} " + _sup_base(_texwrap(_tex(node.arg), ATOM)) + r"^\top", MUL
    if isinstance(node, Call):
        return _tex_call(node)
    raise AssertionError(node)  # pragma: no cover


def _texwrap(text_prec: tuple[str, float], need: float) -> str:
    text, prec = text_prec
    return text if prec >= need else _paren(text)


def _tex_call(node: Call) -> tuple[str, float]:
    arg = node.args[0]
    inner = _tex(arg)[0]
    if node.fn == "trace":
        return r"\mathrm{tr}" + _paren(inner), ATOM
    if node.fn == "det":
        return r"\det" + _paren(inner), ATOM
    if node.fn == "logdet":
        return r"\log\det" + _paren(inner), ATOM
    if node.fn == "inv":
        return _sup_base(_texwrap(_tex(arg), ATOM)) + "^{-1}", ATOM
    if node.fn in ("diag", "diagonal"):
        return r"\mathrm{diag}" + _paren(inner), ATOM
    if node.fn == "outer":
        a = _texwrap(_tex(node.args[0]), POW)
        b = _sup_base(_texwrap(_tex(node.args[1]), ATOM))
        return f"{a} {b}^\\top", MUL
    if node.fn == "logsumexp":
        return r"\log\sum\exp" + _paren(inner), ATOM
    if node.fn == "pow":
        p = node.param
        assert isinstance(p, float)
        if p == -1.0:
            return r"\frac{1}{" + inner + "}", ATOM
        if p == 0.5:
            return r"\sqrt{" + inner + "}", ATOM
        return _sup_base(_texwrap(_tex(arg), ATOM)) + "^{" + _num(p) + "}", POW
    if node.fn == "sqrt":
        return r"\sqrt{" + inner + "}", ATOM
    return _LATEX_FUNCS.get(node.fn, r"\mathrm{" + node.fn + "}") + _paren(inner), ATOM


def _latex_index_product(node: Product, renderer: _Renderer) -> str:
    from .indexform import _index_names

    names = _index_names(node)
    parts = []
    for factor, labels in node.factors:
        tree = renderer.full(factor)
        text = _texwrap(_tex(tree), ATOM)
        if isinstance(factor, Delta):
            text = r"\delta"
        sub = "".join(names[x] for x in labels)
        parts.append(text + (f"_{{{sub}}}" if sub else ""))
    summed = "".join(names[x] for x in node.summed)
    prefix = f"\\sum_{{{summed}}} " if summed else ""
    return prefix + " ".join(parts) if parts else "1"


# -- public entry points --------------------------------------------------------------------


def matrix_form(
    expr: Expr, names: dict[str, str] | None = None, root: Expr | None = None
) -> MNode:
    """The matrix syntax tree of ``expr``; ``names`` maps node keys to ready names.

    ``root`` is the whole expression ``expr`` is part of (where dim sizes are looked up).

    >>> import einderiv as ed
    >>> A, x = ed.symbols("A[n,n] x[n]")
    >>> matrix_form(A @ x).rank
    1
    """
    renderer = _Renderer(root if root is not None else expr, names)
    with _deep_recursion():
        for node in topological(expr):  # children first: keeps the recursion shallow
            renderer.full(node)
        return renderer.full(expr)


@contextlib.contextmanager
def _deep_recursion(limit: int = 20000):
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def to_numpy(expr: Expr) -> str:
    """One numpy expression in matrix form; ``np.einsum`` only where none exists.

    >>> import einderiv as ed
    >>> x, A = ed.symbols("x[n] A[n,n]")
    >>> ed.grad(x @ A @ x, "x").to_numpy()
    '(A + A.T) @ x'
    """
    tree = matrix_form(expr)
    with _deep_recursion():
        return to_text(tree)


def to_latex(expr: Expr) -> str:
    r"""LaTeX of the matrix form (index form for products with no matrix form).

    >>> import einderiv as ed
    >>> x, A = ed.symbols("x[n] A[n,n]")
    >>> ed.grad(x @ A @ x, "x").to_latex()
    '\\left(A + A^\\top\\right) x'
    """
    tree = matrix_form(expr)
    with _deep_recursion():
        return _latex_of(tree, expr)


def _latex_of(tree: MNode, expr: Expr) -> str:
    if isinstance(tree, Raw) and len(expr.dims) > 2:
        from .indexform import OUT_LETTERS

        sub = "".join(OUT_LETTERS[i] for i in range(len(expr.dims)))
        return f"F_{{{sub}}} = " + tree.latex
    return _tex(tree)[0]


def network(expr: Product) -> nx.MultiGraph:
    """The tensor network of a product as a graph: labels are nodes, factors edges.

    Vectors are self-less end caps (an edge to a ``("cap", k)`` node); scalars are
    isolated ``("scalar", k)`` nodes.

    >>> import einderiv as ed
    >>> A, B = ed.symbols("A[n,m] B[m,k]")
    >>> sorted(network(A @ B).edges(data="factor"))[0][2]
    'A'
    """
    graph = nx.MultiGraph()
    for label, dim in enumerate(expr.ldims):
        graph.add_node(label, dim=dim, output=label in expr.out)
    for k, (factor, labels) in enumerate(expr.factors):
        name = factor.name if isinstance(factor, Symbol) else factor.kind
        if len(labels) == 2:
            graph.add_edge(labels[0], labels[1], factor=name, index=k)
        elif len(labels) == 1:
            graph.add_edge(labels[0], ("cap", k), factor=name, index=k)
        else:
            graph.add_node(("scalar", k), factor=name)
    return graph


__all__ = ["MNode", "matrix_form", "network", "to_latex", "to_numpy"]
