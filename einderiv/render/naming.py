"""Naming: which parts of an expression get a line of their own, and what they are called.

Contract: :func:`plan_names` returns, for an expression DAG, the nodes that the readable
form writes as lines ``NAME = EXPR`` (children before parents) and their names.  A part
gets a line when the user named it (a program's assignment), when it is used more than
once, or when it is a function a textbook always names (a sigmoid ``s``, a softmax ``p``
or ``P``, a logsumexp ``lse`` unless it only shifts a softmax, computed stably on a line of
its own), or when it nests
deeper than :data:`MAX_LINE_DEPTH` operations below the last named part.  Names come from,
in order: the user's program (``a1``, ``P``); the differential of a named part (the
adjoint or tangent of ``z`` is ``dz``); the textbook convention (the argument of a named
activation ``a1 = tanh(z1)`` is ``z1``; ``s``, ``p``, ``lse``); and ``t1, t2, ...``.  Names
never clash with the expression's inputs or with each other.  The plan is linear in the
size of the DAG.

>>> import einderiv as ed
>>> X, w, y = ed.symbols("X[n,d] w[d] y[n]")
>>> s = ed.sigmoid(X @ w)
>>> [name for _, name in plan_names(ed.sum(s * y) + ed.sum(s))]
['s']
"""

from __future__ import annotations

import re

from einderiv.ir.nodes import (
    Delta,
    Expr,
    Func,
    LogSumExp,
    Product,
    Size,
    Symbol,
    constant_value,
    differentials_of,
    inputs_of,
    names_of,
    topological,
    unwrap,
)
from einderiv.ir.patterns import is_activation, softmax_argument, softmax_shift
from einderiv.ir.traversal import use_counts
from einderiv.render.numpytext import to_text
from einderiv.render.reader import Renderer
from einderiv.render.tree import Call, Leaf, MNode, children, post_order

_SUFFIX = re.compile(r"(_?[0-9]+|_[A-Za-z0-9]+)$")


MAX_LINE_DEPTH = 20
"""Deepest nesting of operations a line of the readable form holds: a deeper part is named.

So a line never nests past what a reader (and Python's parser, 200 parentheses) can take,
however deep the expression (a composition of 5,000 ``tanh``)."""


def is_scalar_constant(node: Expr) -> bool:
    """A scalar built only from scalar symbols, sizes and numbers (``1 / np.sqrt(d)``)."""
    if node.dims:
        return False
    return all(
        not n.dims or isinstance(n, Delta) for n in topological(node)
    ) and not any(isinstance(n, Symbol) and n.dims for n in topological(node))


def is_trivial(node: Expr) -> bool:
    """True for parts never worth a line: names, sizes, constants, views of a name."""
    if isinstance(node, (Symbol, Delta, Size)) or constant_value(node) is not None:
        return True
    if is_scalar_constant(node) and len(topological(node)) <= 6:
        return True  # a scale such as 1 / np.sqrt(d) reads better inline
    if isinstance(node, Product) and len(node.factors) == 1:
        factor, labels = node.factors[0]
        # a transpose, rename, broadcast or scaling of a symbol reads as well inline
        return isinstance(factor, (Symbol, Delta)) and len(set(labels)) == len(labels)
    return False


def _always_named(node: Expr) -> str | None:
    """The textbook's name for a function it always writes on a line of its own."""
    if isinstance(node, Func) and node.name == "sigmoid":
        return "s"
    if softmax_argument(node) is not None:
        return "P" if len(node.dims) >= 2 else "p"
    if isinstance(node, LogSumExp):
        return "lse"
    return None


def _suffix(name: str) -> str:
    match = _SUFFIX.search(name)
    return match.group(1) if match else ""


def _numbered(base: str, k: int) -> str:
    """The ``k``-th name on ``base``: ``dh2``, or ``t_2`` after a digit-like end (``a1_2``)."""
    return f"{base}{k}" if base[-1:].isalpha() else f"{base}_{k}"


def plan_names(expr: Expr) -> list[tuple[Expr, str]]:
    """The lines of ``expr``'s readable form: ``(node, name)`` children first.

    The root itself is not among them (it is the program's last line).  A part named only
    because the expression uses it twice (``t1``), or the differential of such a part
    (``dt1``), loses its line when the printed program reads its name once: the matrix
    form can write both uses as one (``D @ u + D.T @ u`` is ``(D + D.T) @ u``).
    """
    dropped: set[str] = set()
    lines = _plan(expr, dropped)
    for _ in range(_REPLANS):
        optional = {name: node.key for node, name, spare in lines if spare}
        if not optional:
            break
        trees, reads = _printed_reads(expr, lines, set(optional))
        once = {key for name, key in optional.items() if reads.get(name, 0) <= 1}
        if not once:
            break
        fewer = _plan(expr, dropped | once)
        if _printed_size(_printed_reads(expr, fewer, set())[0]) > _printed_size(trees):
            break  # inlined, the parts read worse (their uses no longer merge)
        dropped |= once
        lines = fewer
    return [(node, name) for node, name, _ in lines]


def _printed_size(trees: list[tuple[str, MNode]]) -> int:
    """Characters of the program the lines print."""
    return sum(len(name) + 3 + len(to_text(tree)) for name, tree in trees)


_REPLANS = 4
"""Rounds of dropping lines read once (each round may free the differentials of the last)."""

_READS_TWICE = ("softmax", "softmax_exp", "logsumexp")
"""Calls whose spelling writes their argument more than once."""


def _printed_reads(expr: Expr, lines: list[tuple[Expr, str, bool]],
                   names: set[str]) -> tuple[list[tuple[str, MNode]], dict[str, int]]:
    """The printed lines, and how many times they read each of ``names`` (lines' names)."""
    renderer = Renderer(expr)
    trees: list[tuple[str, MNode]] = []
    for node, name, _ in lines:
        trees.append((name, renderer.full(node)))
        renderer.name(node, name)
    trees.append(("result", renderer.full(unwrap(expr))))
    total: dict[str, int] = {}
    if not names:
        return trees, total
    for _, tree in trees:
        counts: dict[int, dict[str, int]] = {}
        for part in post_order(tree):
            if isinstance(part, Leaf):
                own = {part.text: 1} if part.kind == "name" and part.text in names else {}
            else:
                own = {}
                factor = 2 if isinstance(part, Call) and part.fn in _READS_TWICE else 1
                for child in children(part):
                    for name, k in counts[id(child)].items():
                        own[name] = own.get(name, 0) + factor * k
            counts[id(part)] = own
        for name, k in counts[id(tree)].items():
            total[name] = total.get(name, 0) + k
    return trees, total


def _plan(expr: Expr, dropped: set[str]) -> list[tuple[Expr, str, bool]]:
    """``(node, name, spare)`` lines; ``spare`` lines exist only because of shared uses.

    Nodes in ``dropped`` are not named for being used twice.
    """
    body = unwrap(expr)
    order = topological(body)
    uses = use_counts(body)
    user = dict(names_of(expr))
    primal_of = dict(differentials_of(expr))
    by_key = {node.key: node for node in order}
    taken = {sym.name for sym in inputs_of(expr)}
    convention: dict[str, str] = {}
    for node in order:  # a1 = tanh(z1): the argument of a named activation is z1
        if is_activation(node) and node.key in user and node.arg.key not in user:
            if not is_trivial(node.arg):
                convention.setdefault(node.arg.key, "z" + _suffix(user[node.key]))

    # a logsumexp used only as a softmax's shift is part of that softmax's lines
    # and the softmax's argument, which its stable spelling reads twice, gets a line
    inside_softmax: set[str] = set()
    arguments: set[str] = set()
    for node in order:
        shift = softmax_shift(node)
        if shift is None or shift[1].key in user:
            continue
        z, lse = shift
        shifted = node.children[0]
        minus = next(t for t in shifted.children if lse in t.children)
        if uses.get(shifted.key) == 1 and uses.get(minus.key) == 1 and uses.get(lse.key) == 1:
            inside_softmax.update((lse.key, minus.key, shifted.key))
            if not is_trivial(z):
                arguments.add(z.key)
                convention.setdefault(z.key, "Z" if len(z.dims) >= 2 else "z")

    chosen: dict[str, str] = {}
    counters: dict[str, int] = {}  # base -> the last number tried: names below it are taken

    def fresh(base: str) -> str:
        # ``taken`` only grows, so resuming at the last number gives the name a search from
        # 1 would: linear in the lines, where dh, dh2, ..., dh1000 searched from 1 each time
        k = counters.get(base, 1)
        name = base if k == 1 else _numbered(base, k)
        while name in taken or not name.isidentifier():
            k += 1
            name = _numbered(base, k)
        counters[base] = k
        taken.add(name)
        return name

    def primal_name(key: str) -> str | None:
        if key in user:
            return user[key]
        if key in chosen:
            return chosen[key]
        if key in convention:
            return convention[key]
        node = by_key.get(key)
        return _always_named(node) if node is not None else None

    taken.update(user.values())
    lines: list[tuple[Expr, str, bool]] = []
    spare: set[str] = set()
    counter = 0
    depth: dict[str, int] = {}  # nesting below the node, down to named parts and atoms
    for node in order:
        if node is body or is_trivial(node) or node.key in inside_softmax:
            continue
        usual = _always_named(node)
        derived = node.key in primal_of and primal_name(primal_of[node.key]) is not None
        depth[node.key] = 1 + max((depth.get(c.key, 0) for c in node.children), default=0)
        deep = depth[node.key] >= MAX_LINE_DEPTH
        shared = uses.get(node.key, 0) >= 2 and node.key not in dropped
        if (node.key not in user and usual is None and not derived and not deep
                and not shared and node.key not in arguments):
            continue
        depth[node.key] = 0
        optional = False
        if node.key in user:
            name = user[node.key]
        elif softmax_argument(node) is not None and usual is not None:
            name = fresh(usual)  # a softmax is p, also as the differential of a logsumexp
        elif node.key in primal_of and (base := primal_name(primal_of[node.key])):
            name = fresh("d" + base)
            optional = primal_of[node.key] in spare and not deep
        elif node.key in convention:
            name = fresh(convention[node.key])
        elif usual is not None:
            name = fresh(usual)
        else:
            counter += 1
            name = fresh(f"t{counter}")
            optional = not deep
        chosen[node.key] = name
        if optional:
            spare.add(node.key)
        lines.append((node, name, optional))
    return lines


def result_name(expr: Expr, default: str = "result") -> str:
    """The name of the last line: ``d`` + the primal's name for a derivative, else ``default``.

    >>> import einderiv as ed
    >>> W, x = ed.symbols("W[n,m] x[m]")
    >>> result_name(ed.vjp(W @ x, "x", "g"))
    'dx'
    """
    body = unwrap(expr)
    primal = dict(differentials_of(expr)).get(body.key)
    if primal is None:
        return default
    for sym in inputs_of(expr):
        if sym.key == primal:
            return "d" + sym.name
    user = dict(names_of(expr))
    return "d" + user[primal] if primal in user else default
