"""Reading a product's tensor network as matrix operations."""

from __future__ import annotations

from einderiv.ir.canonical import is_symmetric
from einderiv.ir.nodes import Delta, Expr, Func, LogSumExp, MatFunc, Product, Size, Sum, Symbol
from einderiv.ir.patterns import softmax_shift
from einderiv.render.compose import matmul, mul, scale
from einderiv.render.latex import indexed, latex_name, tex, tex_wrapped
from einderiv.render.letters import index_names, letter
from einderiv.render.sizes import SizeSource
from einderiv.render.tensor import read_tensor
from einderiv.render.tree import (
    ATOM,
    Call,
    Einsum,
    Leaf,
    MNode,
    Num,
    Scale,
    Tensor,
    Transpose,
    count_transposes,
    order_key,
    transpose,
)
from einderiv.render.walk import (
    NoMatrixFormError,
    Step,
    diag_deltas,
    factor_common,
    finalize,
    read_network,
    unit_axes,
)

# -- from IR to the matrix tree --------------------------------------------------------


class Renderer:
    """Reads an expression DAG into matrix trees, one memoized tree per node.

    ``walks`` records, for every product read into matrix form, the steps of the walk
    over its tensor network (:mod:`einderiv.render.walk`), by the product's key.
    """

    def __init__(self, root: Expr, names: dict[str, str] | None = None) -> None:
        self.size = SizeSource(root)
        self.names = names or {}
        self.memo: dict[tuple[str, bool], tuple[MNode, frozenset[int]]] = {}
        self.walks: dict[str, tuple[Step, ...]] = {}

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

    def name(self, node: Expr, name: str) -> None:
        """From now on, ``node`` is written as ``name`` (a line of the readable form)."""
        self.names[node.key] = name
        self.memo.pop((node.key, False), None)
        self.memo.pop((node.key, True), None)

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
            return Leaf(0, self.size(node.dim), latex_name(node.dim), kind="size"), self.all(rank)
        if isinstance(node, Delta):
            eye = Leaf(2, f"np.eye({self.size(node.dim)})", "I", True, kind="eye")
            return eye, self.all(rank)
        if isinstance(node, Func):
            return self._func(node), self.all(rank)
        if isinstance(node, MatFunc):
            args = tuple(self.full(a) for a in node.args)
            return Call(rank, node.name, args), self.all(rank)
        if isinstance(node, LogSumExp):
            arg = self.full(node.arg)
            return Call(rank, "logsumexp", (arg,), node.axes), self.all(rank)
        if isinstance(node, Sum):
            return self._sum(node, bcast)
        if isinstance(node, Product):
            try:
                return self._product(node, bcast)
            except NoMatrixFormError:
                return self._stacks(node), self.all(rank)
        raise AssertionError(node.kind)  # pragma: no cover

    def _func(self, node: Func) -> MNode:
        rank = len(node.dims)
        shift = softmax_shift(node)
        if shift is not None and shift[1].axes and shift[1].key not in self.names:
            # exp(z - logsumexp(z)) whose logsumexp has no line: the softmax of z, which the
            # printers spell stably (shifted by the max) and as a textbook does
            z, lse = shift
            return Call(rank, "softmax", (self.full(z),), lse.axes)
        if len(node.args) == 1:
            (arg,) = (self.full(a) for a in node.args)
            return Call(rank, node.name, (arg,), node.param if node.name == "pow" else None)
        # several arguments broadcast as numpy does (as the terms of a sum)
        rendered = [self.render(a, True) for a in node.args]
        if frozenset().union(*(c for _, c in rendered)) != self.all(rank):
            rendered[0] = self.render(node.args[0], False)
        return Call(rank, node.name, tuple(tree for tree, _ in rendered), node.param)

    def _sum(self, node: Sum, bcast: bool) -> tuple[MNode, frozenset[int]]:
        rank = len(node.dims)
        if not node.terms:
            if rank == 0 or bcast:
                return Num(0, 0.0), frozenset()
            shape = ", ".join(self.size(d) for d in node.dims)
            comma = "," if rank == 1 else ""
            return Leaf(rank, f"np.zeros(({shape}{comma}))", "0", kind="zeros"), self.all(rank)
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
        return _signed_sum(rank, terms), covered

    # -- one product: read its tensor network ------------------------------------------
    def _product(self, node: Product, bcast: bool) -> tuple[MNode, frozenset[int]]:
        out = node.out
        if len(out) > 2:
            raise NoMatrixFormError
        ldims = node.ldims
        outs = set(out)
        scalars: list[MNode] = []
        ops: list[tuple[MNode, tuple[int, ...]]] = []
        counts: dict[int, int] = {}
        for _, labels in node.factors:
            for label in set(labels):
                counts[label] = counts.get(label, 0) + 1
        coeff = node.coeff
        divisors: dict[str, list[MNode]] = {}  # 1 / size(d) factors, by dim: a mean's
        dets: dict[str, list[MNode]] = {}  # det(A) factors of d x d matrices, by d
        for factor, labels in node.factors:
            if len(labels) > 2:
                raise NoMatrixFormError
            tree = self.full(factor)
            if not labels and _reciprocal_size(factor) is not None:
                divisors.setdefault(_reciprocal_size(factor), []).append(tree)  # type: ignore
                continue
            if (not labels and isinstance(factor, MatFunc) and factor.name == "det"
                    and isinstance(tree, Call) and tree.fn == "det"):
                dets.setdefault(factor.arg.dims[0], []).append(tree.args[0])
                continue
            if isinstance(tree, Scale):  # a product is linear in each factor
                coeff *= tree.coeff
                tree = tree.arg
            if isinstance(tree, Num):
                coeff *= tree.value
                continue
            if is_symmetric(factor) and isinstance(tree, Leaf):
                tree = Leaf(2, tree.text, tree.latex, True, tree.kind)
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
        for args in dets.values():  # det(A) det(X) det(B) = det(A @ X @ B): one determinant
            scalars.append(Call(0, "det", (matmul(*args) if len(args) > 1 else args[0],)))
        trace: list[Step] = []
        ops = diag_deltas(ops, trace)
        ops, relabelled = unit_axes(ops, out, ldims, trace)

        def mean(gone: tuple[int, ...]) -> MNode | None:
            """The reciprocal sizes of ``gone``'s dims if the product divides by them all."""
            dims = [ldims[lab] for lab in gone]
            if any(dims.count(d) > len(divisors.get(d, ())) for d in dims):
                return None
            spent = [divisors[d].pop() for d in dims]
            return mul(*spent)

        ops, scalars = read_network(ops, out, trace, scalars, mean if divisors else None)
        scalars = [*scalars, *(t for trees in divisors.values() for t in trees)]
        def ones(dim: str) -> MNode:
            return Leaf(1, f"np.ones({self.size(dim)})", r"\mathbf{1}", kind="ones")

        result, covered = finalize(ops, out, ldims, bcast, ones, trace)
        covered = covered - relabelled
        if covered != self.all(len(out)) and not bcast:
            result = mul(result, self.ones(out, ldims))
            covered = self.all(len(out))
        self.walks[node.key] = tuple(trace)
        total = mul(*scalars, result) if scalars else result
        return scale(coeff, total), covered

    def ones(self, out: tuple[int, ...], ldims: tuple[str, ...]) -> MNode:
        """All ones over the dims of ``out``: ``np.ones_like(X)`` when an input has them."""
        dims = tuple(ldims[lab] for lab in out)
        shape = ", ".join(self.size(d) for d in dims)
        text = f"np.ones(({shape}{',' if len(dims) == 1 else ''}))"
        like = self.size.symbol_with_dims(dims)
        if like is not None:
            text = f"np.ones_like({like})"
        return Leaf(len(out), text, r"\mathbf{1}", kind="ones")

    def _stacks(self, node: Product) -> MNode:
        """A product with no matrix form: numpy's operations on stacks, else ``np.einsum``."""
        ops: list[tuple[MNode, tuple[int, ...]]] = []
        scalars: list[MNode] = []
        coeff = node.coeff
        for factor, labels in node.factors:
            tree = self.full(factor)
            if isinstance(tree, Scale):  # a product is linear in each factor
                coeff *= tree.coeff
                tree = tree.arg
            if isinstance(tree, Num):
                coeff *= tree.value
            elif labels:
                ops.append((tree, tuple(labels)))
            else:
                scalars.append(tree)
        ones = self.ones(node.out, node.ldims) if node.out else Num(0, 1.0)
        body = read_tensor(ops, node.out, ones) if ops else ones
        latex = _latex_index_product(node, self)
        if body is None:
            body = self._einsum(node, ops)
        elif len(node.out) > 2 or any(len(labels) > 2 for _, labels in ops):
            body = Tensor(len(node.out), body, latex)
        return scale(coeff, mul(*scalars, body))

    def _einsum(self, node: Product, ops: list[tuple[MNode, tuple[int, ...]]]) -> MNode:
        operands = [tree for tree, _ in ops]
        subs = ["".join(letter(x) for x in labels) for _, labels in ops]
        present = {x for _, labels in ops for x in labels}
        for label in node.out:
            if label not in present:
                operands.append(Leaf(1, f"np.ones({self.size(node.ldims[label])})", r"\mathbf{1}",
                                     kind="ones"))
                subs.append(letter(label))
        spec = ",".join(subs) + "->" + "".join(letter(x) for x in node.out)
        return Einsum(len(node.out), spec, tuple(operands), _latex_index_product(node, self))


def _signed_sum(rank: int, terms: list[tuple[int, MNode]], flip: bool = True) -> MNode:
    """The sum of signed terms, common ends factored, an all-negative sum's sign pulled out.

    A sum of matrices whose terms spell fewer transposes transposed is that sum, transposed
    (``(X @ B + B @ X).T`` for ``B.T @ X.T + X.T @ B.T``).
    """
    terms = sorted(terms, key=lambda st: (st[0] < 0, order_key(st[1])))
    if terms[0][0] < 0:  # all negative: pull the sign out
        made = scale(-1.0, factor_common(rank, [(-s, t) for s, t in terms]))
    else:
        made = factor_common(rank, terms)
    if flip and rank == 2 and len(terms) > 1 and all(t.rank == 2 for _, t in terms):
        flipped = _signed_sum(rank, [(s, transpose(t)) for s, t in terms], flip=False)
        if count_transposes(flipped) + 1 < count_transposes(made):
            return Transpose(2, flipped)
    return made


def _reciprocal_size(node: Expr) -> str | None:
    """The dim ``d`` when ``node`` is ``1 / size(d)``, else None."""
    if (isinstance(node, Func) and node.name == "pow" and node.param == -1.0
            and isinstance(node.args[0], Size)):
        return node.args[0].dim
    return None


def _latex_index_product(node: Product, renderer: Renderer) -> str:
    names = index_names(node)
    parts = []
    for factor, labels in node.factors:
        tree = renderer.full(factor)
        sub = "".join(names[x] for x in labels)
        if isinstance(factor, Delta):
            parts.append(r"\delta" + (f"_{{{sub}}}" if sub else ""))
        elif isinstance(tree, Leaf) and tree.kind == "name":
            parts.append(indexed(tree.text, sub))  # h_{1,c}, never h_{1}_{c}
        else:  # braces: a script of its own (h_{1}^\top) takes no second one
            text = tex_wrapped(tex(tree), ATOM)
            parts.append("{" + text + "}" + f"_{{{sub}}}" if sub else text)
    summed = "".join(names[x] for x in node.summed)
    prefix = f"\\sum_{{{summed}}} " if summed else ""
    return prefix + " ".join(parts) if parts else "1"
