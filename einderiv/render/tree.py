"""The matrix-form syntax tree: nodes and the structural transpose."""

from __future__ import annotations

from dataclasses import dataclass, field

from einderiv.functions import FUNCTIONS, Elementwise

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
    """A name or a ready-made atom (``W``, ``X.shape[0]``, ``np.eye(n)``).

    ``kind`` says what the atom is, so that decisions are made on structure and never on
    its text: ``"name"`` (a symbol or a named line), ``"size"``, ``"eye"`` (an identity),
    ``"ones"`` or ``"zeros"``.
    """

    text: str = ""
    latex: str = ""
    symmetric: bool = False
    kind: str = "name"


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
    """``arg.sum(axis=..., keepdims=...)``; ``axis=None`` sums everything, a tuple several.

    With ``mean`` (the reciprocal of the summed axes' sizes, ``1 / X.shape[0]``) it is the
    mean, ``arg.mean(axis=...)``: the sum divided by the number of its terms.
    """

    arg: MNode = field(default_factory=lambda: Num(0))
    axis: int | tuple[int, ...] | None = None
    keepdims: bool = False
    mean: MNode | None = None


@dataclass(frozen=True)
class Permute(MNode):
    """``arg.transpose(*axes)`` of a tensor of rank >= 3: the result's axis k is ``axes[k]``."""

    arg: MNode = field(default_factory=lambda: Num(0))
    axes: tuple[int, ...] = ()


@dataclass(frozen=True)
class Expand(MNode):
    """A vector placed along ``axis`` of a matrix: ``v[:, None]`` (0) or ``v[None, :]`` (1)."""

    arg: MNode = field(default_factory=lambda: Num(0))
    axis: int = 0


@dataclass(frozen=True)
class Einsum(MNode):
    """``np.einsum(spec, *operands)``: a product numpy has no shorter spelling for.

    ``latex`` is the product's index form (LaTeX has no einsum).
    """

    spec: str = ""
    operands: tuple[MNode, ...] = ()
    latex: str = ""


@dataclass(frozen=True)
class Tensor(MNode):
    """A product read with numpy's operations on stacks (``T.transpose(1, 2, 0)``, ``A @ B``).

    ``body`` is that reading; ``latex`` the product's index form (LaTeX has no stacks).
    """

    body: MNode = field(default_factory=lambda: Num(0))
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
    if isinstance(node, MatMul) and all(i.rank <= 2 for i in node.items):
        return MatMul(2, tuple(transpose(i) for i in reversed(node.items)))
    if isinstance(node, Scale):
        return Scale(2, node.coeff, transpose(node.arg))
    if isinstance(node, Expand):
        return Expand(2, node.arg, 1 - node.axis)
    if isinstance(node, Call) and node.fn == "outer":
        return Call(2, "outer", (node.args[1], node.args[0]))
    pushed: MNode | None = None
    if isinstance(node, Mul) and all(i.rank in (0, 2) for i in node.items):
        pushed = Mul(2, tuple(transpose(i) for i in node.items))
    elif isinstance(node, Add):
        pushed = Add(2, tuple((s, transpose(t)) for s, t in node.terms))
    elif isinstance(node, Call) and isinstance(FUNCTIONS.get(node.fn), Elementwise):
        pushed = Call(2, node.fn, tuple(transpose(a) for a in node.args), node.param)
    # an elementwise operation takes the transpose inside only where that spells no more
    # transposes than one outside: tanh(Waa @ a0 + b).T, not tanh(a0.T @ Waa.T + b.T)
    if pushed is not None and count_transposes(pushed) <= count_transposes(node) + 1:
        return pushed
    return Transpose(2, node)



def count_transposes(node: MNode) -> int:
    """How many transposes a tree spells (``.T`` in numpy), cached on each node."""
    cached = node.__dict__.get("_transposes")
    if cached is None:
        for part in post_order(node):  # children first: no recursion
            if "_transposes" not in part.__dict__:
                own = 1 if isinstance(part, Transpose) else 0
                count = own + sum(c.__dict__["_transposes"] for c in children(part))
                object.__setattr__(part, "_transposes", count)
        cached = node.__dict__["_transposes"]
    return cached


def children(node: MNode) -> tuple[MNode, ...]:
    """The subtrees of ``node``."""
    if isinstance(node, (Transpose, Scale, ReduceSum, Expand, Permute)):
        return (node.arg,)
    if isinstance(node, Einsum):
        return node.operands
    if isinstance(node, Tensor):
        return (node.body,)
    if isinstance(node, (MatMul, Mul)):
        return node.items
    if isinstance(node, Add):
        return tuple(t for _, t in node.terms)
    if isinstance(node, Call):
        return node.args
    return ()


def post_order(node: MNode, opaque: tuple[type, ...] = ()) -> list[MNode]:
    """Every subtree of ``node``, children before parents, each object once (no recursion).

    Printers warm their per-node caches in this order, so that printing a tree thousands of
    levels deep (a composition of 5,000 ``tanh``) never recurses more than one level.
    Nodes of the ``opaque`` types are listed without their subtrees (LaTeX writes an
    einsum in index form, never its operands' numpy form).
    """
    order: list[MNode] = []
    seen: set[int] = set()
    stack: list[tuple[MNode, bool]] = [(node, False)]
    while stack:
        item, expanded = stack.pop()
        if expanded:
            order.append(item)
            continue
        if id(item) in seen:
            continue
        seen.add(id(item))
        stack.append((item, True))
        if not isinstance(item, opaque):
            stack.extend((child, False) for child in reversed(children(item))
                         if id(child) not in seen)
    return order


def order_key(node: MNode) -> tuple[str, ...]:
    """A deterministic order of trees by structure: their names and operations, left to right.

    Terms of a sum and factors of a product are listed in this order (numbers first,
    then by the names a term reads from left to right: ``X @ W + b``, ``A + A.T``), so the
    same expression always prints the same way -- decided on the tree, not its text.
    """
    if isinstance(node, Leaf):
        return (node.text,)
    if isinstance(node, Num):
        return (f"#{node.value!r}",)
    if isinstance(node, Scale):
        return (*order_key(node.arg), f"#{node.coeff!r}")
    if isinstance(node, Transpose):
        return (*order_key(node.arg), ".T")
    marks = {MatMul: "@", Mul: "*", Add: "+", ReduceSum: "Σ", Expand: "[]", Einsum: ",",
             Permute: "perm", Tensor: "tensor"}
    head: tuple[str, ...] = ()
    if isinstance(node, Call):
        head = (f"~{node.fn}",)  # after names: B + np.outer(x, y)
    key: tuple[str, ...] = head
    for index, child in enumerate(children(node)):
        if index:
            key += (marks.get(type(node), ","),)
        key += order_key(child)
    if isinstance(node, (ReduceSum, Expand)):
        mark = "μ" if isinstance(node, ReduceSum) and node.mean is not None else marks[type(node)]
        key += (f"{mark}{getattr(node, 'axis', '')}",)
    if isinstance(node, Permute):
        key += (f"perm{node.axes}",)
    if isinstance(node, Einsum):
        key += (f"einsum{node.spec}",)
    return key
