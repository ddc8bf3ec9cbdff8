"""The matrix form: an expression read into a matrix syntax tree, printed as numpy or LaTeX."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator

import networkx as nx

from einderiv.ir.nodes import Expr, Product, Symbol, unwrap
from einderiv.ir.traversal import topological
from einderiv.render.latex import tex
from einderiv.render.letters import OUT_LETTERS
from einderiv.render.numpytext import to_text
from einderiv.render.reader import Renderer
from einderiv.render.tree import Einsum, MNode, Tensor

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
    renderer = Renderer(root if root is not None else expr, names)
    body = unwrap(expr)
    with deep_recursion():
        for node in topological(body):  # children first: keeps the recursion shallow
            renderer.full(node)
        return renderer.full(body)


_RECURSION = threading.Lock()
_ACTIVE = {"blocks": 0, "saved": 0}  # open deep_recursion blocks (all threads), the limit before


@contextlib.contextmanager
def deep_recursion(limit: int = 20000) -> Iterator[None]:
    """Raise the recursion limit inside the block (rendering recurses along deep chains).

    The limit is the interpreter's, shared by every thread, so the blocks are counted: the
    first to open saves the limit and the last to close restores it (two threads rendering
    at once would otherwise leave the raised limit behind, and later parses would no longer
    stop at their nesting limit).
    """
    with _RECURSION:
        if _ACTIVE["blocks"] == 0:
            _ACTIVE["saved"] = sys.getrecursionlimit()
        _ACTIVE["blocks"] += 1
        if sys.getrecursionlimit() < limit:
            sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        with _RECURSION:
            _ACTIVE["blocks"] -= 1
            if _ACTIVE["blocks"] == 0:
                sys.setrecursionlimit(_ACTIVE["saved"])


def to_numpy(expr: Expr) -> str:
    """One numpy expression in matrix form; ``np.einsum`` only where none exists.

    >>> import einderiv as ed
    >>> x, A = ed.symbols("x[n] A[n,n]")
    >>> ed.grad(x @ A @ x, "x").to_numpy()
    '(A + A.T) @ x'
    """
    tree = matrix_form(expr)
    with deep_recursion():
        return to_text(tree)


def to_latex(expr: Expr) -> str:
    r"""LaTeX of the matrix form (index form for products with no matrix form).

    >>> import einderiv as ed
    >>> x, A = ed.symbols("x[n] A[n,n]")
    >>> ed.grad(x @ A @ x, "x").to_latex()
    '\\left(A + A^\\top\\right) x'
    """
    tree = matrix_form(expr)
    with deep_recursion():
        return _latex_of(tree, expr)


def _latex_of(tree: MNode, expr: Expr) -> str:
    if isinstance(tree, Einsum | Tensor) and len(expr.dims) > 2:
        sub = "".join(OUT_LETTERS[i] for i in range(len(expr.dims)))
        return f"F_{{{sub}}} = " + tree.latex
    return tex(tree)[0]


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


