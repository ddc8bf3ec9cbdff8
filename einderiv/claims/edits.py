"""Single edits of a claim, searched on its syntax tree: parsed once, never re-parsed.

Contract: :func:`single_edit_fixes` reads the claim with :mod:`ast` once and builds the
IR of every node bottom-up, each from its own operator with its operands bound by name
(``_e0 @ _e1`` parsed with ``names={"_e0": ..., "_e1": ...}``), which is exactly what
:func:`einderiv.parse` does for the whole text.  Nodes the parser reads as a whole (a
subscript, the stable logsumexp pattern) are parsed from their own text.  An edit
replaces one node -- the operands of ``@`` swapped (and transposed), ``.T`` added or
removed, ``*`` for ``@`` and back, the arguments of ``outer``/``matmul``/``dot`` swapped --
and rebuilds only the nodes above it; in a sum at the top of the claim, only the edited
term is rebuilt and evaluated (the claim's values change by that term's change).
Intermediates (``where``) are symbols whose values are bound at the sample points, so an
edit costs what the claim's own text costs, whatever the definitions.

The search tries at most :data:`MAX_EDITS` edits and stops after :data:`EDIT_SECONDS`
seconds; a :class:`SearchReport` says how many it tried of how many, and why it stopped.

>>> import einderiv as ed
>>> from einderiv.claims.context import ClaimContext, Sampler
>>> f = ed.parse("W @ x", shapes="W[n,m] x[m]")
>>> truth = ed.vjp(f, "x", "g")
>>> context = ClaimContext(f, [ed.Symbol.make("g", ("n",))], None)
>>> sampler = Sampler([truth])
>>> single_edit_fixes("W @ g", context, truth, sampler, sampler.values(truth))
[('missing transpose', 'W.T @ g'), ('wrong order', 'g @ W')]
"""

from __future__ import annotations

import ast
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from einderiv.claims.context import ClaimContext, Sampler, names_in, values_close
from einderiv.errors import EinderivError
from einderiv.ir.nodes import Expr, constant_value

#: most single edits tried for one claim
MAX_EDITS = 1000

#: wall-clock budget of the search for one claim, in seconds
EDIT_SECONDS = 0.5

_MODULES = {"np", "numpy", "jnp", "jax", "scipy"}
_SWAPPABLE = {"outer", "matmul", "dot"}


@dataclass
class SearchReport:
    """How far the single-edit search got.

    ``tried`` edits of ``total``, and why it ``stopped`` early (``"time"`` or
    ``"count"``; empty when it tried them all).
    """

    tried: int = 0
    total: int = 0
    stopped: str = ""

    def note(self) -> str:
        """A sentence for the verdict when the search stopped early, else ''."""
        if not self.stopped:
            return ""
        why = (
            f"its time budget of {EDIT_SECONDS:g} s"
            if self.stopped == "time"
            else f"its limit of {MAX_EDITS} edits"
        )
        return (
            f"\nNote: the search for a one-edit fix tried {self.tried} of the claim's "
            f"{self.total} single edits before reaching {why}; shorten the claim (name "
            "parts of it with where=...) for a complete search"
        )


Build = Callable[[str, dict[str, Expr]], Expr]


def _is_module(node: ast.AST) -> bool:
    """``np``, ``np.linalg``, ``jax.numpy``: a dotted module path, not a value."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name) and node.id in _MODULES


def _children(node: ast.AST) -> list[ast.expr] | None:
    """The operands of ``node`` that are values, or None when it is read as a whole."""
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Attribute) and node.attr == "T":
        return [node.value]
    if isinstance(node, ast.Call) and not any(isinstance(a, ast.Starred) for a in node.args):
        kids = [a for a in node.args if not isinstance(a, ast.Constant)]
        if isinstance(node.func, ast.Attribute) and not _is_module(node.func.value):
            kids.append(node.func.value)  # a method's receiver: x.sum(axis=0)
        return kids
    return None


def _with_children(node: ast.AST, new: dict[int, ast.expr]) -> ast.expr:
    """A copy of a node :func:`_children` reads, its operands replaced by ``new[id(old)]``."""

    def pick(child: ast.expr) -> ast.expr:
        return new.get(id(child), child)

    if isinstance(node, ast.BinOp):
        return ast.BinOp(left=pick(node.left), op=node.op, right=pick(node.right))
    if isinstance(node, ast.UnaryOp):
        return ast.UnaryOp(op=node.op, operand=pick(node.operand))
    if isinstance(node, ast.Attribute):
        return ast.Attribute(value=pick(node.value), attr=node.attr, ctx=ast.Load())
    assert isinstance(node, ast.Call)
    func = node.func
    if isinstance(func, ast.Attribute) and id(func.value) in new:
        func = ast.Attribute(value=pick(func.value), attr=func.attr, ctx=ast.Load())
    return ast.Call(func=func, args=[pick(a) for a in node.args], keywords=node.keywords)


def _replaced(node: ast.AST, old: ast.AST, new: ast.AST) -> ast.AST:
    """A shallow copy of any node with its child ``old`` replaced by ``new``."""
    copy = type(node)(**{name: value for name, value in ast.iter_fields(node)})
    for name, value in ast.iter_fields(node):
        if value is old:
            setattr(copy, name, new)
        elif isinstance(value, list) and any(item is old for item in value):
            setattr(copy, name, [new if item is old else item for item in value])
    return copy


def _transposed(node: ast.expr) -> ast.expr:
    """``node.T``, or ``X`` when ``node`` is already ``X.T``."""
    if isinstance(node, ast.Attribute) and node.attr == "T":
        return node.value
    return ast.Attribute(value=node, attr="T", ctx=ast.Load())


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _edits(root: ast.AST) -> list[tuple[str, ast.AST, ast.AST]]:
    """Every single edit of the tree, as ``(mistake, node, replacement)``, breadth first."""
    nodes = list(ast.walk(root))
    transposed = {id(n.value) for n in nodes if isinstance(n, ast.Attribute) and n.attr == "T"}
    found: list[tuple[str, ast.AST, ast.AST]] = []
    for node in nodes:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            found.append(("wrong order", node, ast.BinOp(node.right, ast.MatMult(), node.left)))
            found.append(("wrong order", node, ast.BinOp(
                _transposed(node.right), ast.MatMult(), _transposed(node.left))))
            found.append(("elementwise vs matrix product", node,
                          ast.BinOp(node.left, ast.Mult(), node.right)))
        if (
            isinstance(node, ast.Call)
            and len(node.args) == 2
            and not node.keywords
            and _call_name(node) in _SWAPPABLE
        ):
            found.append(("wrong order", node, ast.Call(node.func, node.args[::-1], [])))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            found.append(("elementwise vs matrix product", node,
                          ast.BinOp(node.left, ast.MatMult(), node.right)))
        if isinstance(node, (ast.Name, ast.Call)) and id(node) not in transposed:
            found.append(("missing transpose", node,
                          ast.Attribute(value=node, attr="T", ctx=ast.Load())))
        if isinstance(node, ast.Attribute) and node.attr == "T":
            found.append(("extra transpose", node, node.value))
    return found


class ClaimTree:
    """The claim's syntax tree with the IR of each value node, built once.

    ``build(text, names)`` parses a small piece of text with extra names bound; it is
    :meth:`ClaimContext.parse_text` with the intermediates as symbols.
    """

    def __init__(self, text: str, build: Build, prefix: str) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.root: ast.AST = ast.parse(text.strip(), mode="eval").body
        self._build = build
        self._prefix = prefix
        self.parent: dict[int, ast.AST] = {}
        for node in ast.walk(self.root):
            for child in ast.iter_child_nodes(node):
                self.parent[id(child)] = node
        self.expr: dict[int, Expr | None] = {}
        self.opaque: set[int] = set()
        self._shells: dict[tuple, Expr | None] = {}
        values: list[ast.AST] = []  # the value nodes, parents before children
        stack: list[ast.AST] = [self.root]
        while stack:
            node = stack.pop()
            values.append(node)
            stack.extend(_children(node) or ())
        for node in reversed(values):  # children first
            self.expr[id(node)] = self._node(node, node, {})

    # -- building ---------------------------------------------------------------------
    def _parse(self, text: str, names: dict[str, Expr]) -> Expr | None:
        try:
            return self._build(text, names)
        except (EinderivError, RecursionError, MemoryError):
            return None

    def _whole(self, node: ast.AST) -> Expr | None:
        """``node`` parsed from its own text."""
        return self._parse(ast.unparse(node), {})

    def _value(self, node: ast.AST, new: dict[int, Expr | None]) -> Expr | None:
        """The IR of an operand: edited (``new``), from the tree, or of a fresh node."""
        if id(node) in new:
            return new[id(node)]
        if id(node) in self.expr:
            return self.expr[id(node)]
        new[id(node)] = self._node(node, None, new)  # a node an edit made (X.T)
        return new[id(node)]

    def _node(
        self, node: ast.AST, original: ast.AST | None, new: dict[int, Expr | None]
    ) -> Expr | None:
        """The IR of ``node``, or None when it does not build.

        ``node`` is a node of the tree (``original`` is ``node``), a copy of ``original``
        with edited operands (their IR in ``new``), or a fresh node (``original`` None).
        """
        kids = _children(node)
        if kids is None or (original is not None and id(original) in self.opaque):
            if original is node:
                self.opaque.add(id(node))
            return self._whole(node)
        exprs = [self._value(k, new) for k in kids]
        if any(e is None for e in exprs):
            whole = self._whole(node)
            if whole is not None and original is node:
                self.opaque.add(id(node))  # read as a whole (a pattern of the parser)
            return whole
        bound: dict[int, ast.expr] = {}
        names: dict[str, Expr] = {}
        for k, e in zip(kids, [e for e in exprs if e is not None], strict=True):
            if isinstance(k, (ast.Name, ast.Constant)) or constant_value(e) is not None:
                continue  # cheap and exact as text (an exponent must stay a number)
            name = f"{self._prefix}{len(names)}"
            bound[id(k)] = ast.Name(id=name, ctx=ast.Load())
            names[name] = e
        text = ast.unparse(_with_children(node, bound))
        key = (text, tuple(e.key for e in names.values()))
        if key not in self._shells:
            self._shells[key] = self._parse(text, names)
        result = self._shells[key]
        if result is None and original is node:
            whole = self._whole(node)
            if whole is not None:
                self.opaque.add(id(node))
            return whole
        return result

    # -- edits ------------------------------------------------------------------------
    def edited(
        self, site: ast.AST, replacement: ast.AST, stop: ast.AST | None = None
    ) -> tuple[Expr | None, list[tuple[ast.AST, ast.AST]]]:
        """Rebuild the nodes above ``site`` with ``replacement`` in its place.

        It goes up to ``stop`` (not included), or to the root when ``stop`` is None.
        Returns the IR of the top edited node (None when the edit does not build) and
        the path of ``(original, edited copy)`` pairs for :meth:`text`.
        """
        new: dict[int, Expr | None] = {}
        path = [(site, replacement)]
        value = self._value(replacement, new) if id(site) in self.expr else None
        old, copy = site, replacement
        node = self.parent.get(id(site))
        while node is not None and node is not stop:
            edited = _replaced(node, old, copy)
            path.append((node, edited))
            if id(node) in self.expr:  # a value node: rebuild it
                value = self._node(edited, node, new)
                if value is None:
                    return None, path
                new[id(edited)] = value
            old, copy = node, edited
            node = self.parent.get(id(node))
        return value, path

    def text(self, path: list[tuple[ast.AST, ast.AST]]) -> str:
        """The whole claim with an edit, from the path :meth:`edited` returned."""
        old, copy = path[-1]
        node = self.parent.get(id(old))
        while node is not None:
            copy = _replaced(node, old, copy)
            old, node = node, self.parent.get(id(node))
        return ast.unparse(copy)

    def top_terms(self) -> dict[int, float]:
        """The terms of a sum at the top of the claim and their signs (``a - b + c``)."""
        terms: dict[int, float] = {}
        node = self.root
        while isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            terms[id(node.right)] = -1.0 if isinstance(node.op, ast.Sub) else 1.0
            node = node.left
        if terms:
            terms[id(node)] = 1.0
        return terms


def single_edit_fixes(
    claim_text: str | None,
    context: ClaimContext,
    truth: Expr,
    sampler: Sampler,
    truth_values: list[np.ndarray] | None,
    claim_values: list[np.ndarray] | None = None,
    report: SearchReport | None = None,
) -> list[tuple[str, str]]:
    """``(mistake, corrected text)`` for each single edit that makes the claim right.

    ``claim_values`` (the claim's values at the sampler's points, when it builds) lets an
    edit inside a top-level sum evaluate only its own term.
    """
    report = report if report is not None else SearchReport()
    if claim_text is None or truth_values is None:
        return []
    used = names_in(claim_text)
    placeholders = {n: s for n, s in context.placeholders().items() if n in used}
    for name in placeholders:  # only the intermediates the claim reads
        values = sampler.values(context.defs[name])
        if values is None:
            return []
        sampler.bind(name, values)
    taken = set(context.symbols) | set(placeholders)
    prefix = next(p for p in ("_e", "_edit", "_edit_") if not any(n.startswith(p) for n in taken))

    def build(text: str, names: dict[str, Expr]) -> Expr:
        return context.parse_text(text, names, defs=placeholders)

    try:
        tree = ClaimTree(claim_text, build, prefix)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    edits = _edits(tree.root)
    report.total = len(edits)
    terms = tree.top_terms() if claim_values is not None else {}
    deadline = time.perf_counter() + EDIT_SECONDS
    found: list[tuple[str, str]] = []
    for kind, site, replacement in edits:
        if report.tried >= MAX_EDITS:
            report.stopped = "count"
            break
        if time.perf_counter() > deadline:
            report.stopped = "time"
            break
        report.tried += 1
        values = _edit_values(tree, site, replacement, terms, sampler, claim_values, truth)
        if values is None:
            continue
        values_list, path = values
        if values_close(values_list, truth_values)[0]:
            found.append((kind, tree.text(path)))
    found.sort(key=lambda item: (item[0] == "wrong order", len(item[1])))
    return found


def _edit_values(tree, site, replacement, terms, sampler, claim_values, truth):
    """The edited claim's values and the edit's path, or None when it does not fit."""
    term = site
    while id(term) not in terms and id(term) in tree.parent:
        term = tree.parent[id(term)]
    if id(term) in terms and claim_values is not None:
        expr, path = tree.edited(site, replacement, stop=tree.parent.get(id(term)))
        old = tree.expr.get(id(term))
        if expr is None:
            return None
        if old is not None and expr.dims == old.dims:
            new_values, old_values = sampler.values(expr), sampler.values(old)
            if new_values is None or old_values is None:
                return None
            sign = terms[id(term)]
            combined = [c + sign * (n - o) for c, n, o in
                        zip(claim_values, new_values, old_values, strict=True)]
            if any(v.shape != c.shape for v, c in zip(combined, claim_values, strict=True)):
                return None
            return combined, path
    expr, path = tree.edited(site, replacement)
    if expr is None or expr.dims != truth.dims:
        return None
    values = sampler.values(expr)
    return (values, path) if values is not None else None
