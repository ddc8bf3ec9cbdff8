r"""Index notation for derivations: fixed letters, named parts, no numpy code inside.

Contract: :class:`IndexWriter` writes any expression in index notation -- products as
``Σ_i W_ai x_i``, Kronecker deltas ``δ_ac``, elementwise functions with their indices
pushed inside (``tanh(z_ab)``, ``(1 - f_ab²) da_ab``), ``log Σ_i exp(z_ai)`` for a
logsumexp -- in plain text or LaTeX.  The letters of a node's axes are the caller's
(they never change between lines of a derivation); summed indices take the first
letters of ``i, j, k, l, p, q, …`` that are not in use.  Parts the readable form names
(``names``: node key -> name) are written by name.  :func:`index_program` writes the
readable form of an expression (:func:`einderiv.render.naming.plan_names`) as lines of
index notation, each line with its own letters ``a, b, …``.

>>> import einderiv as ed
>>> W, x = ed.symbols("W[n,m] x[m]")
>>> index_program(ed.vjp(W @ x, "x", "g"))
'dx_a = Σ_i W_ia g_i'
>>> X, W = ed.symbols("X[p,q] W[q,r]")
>>> index_program(ed.diff(X @ W, "X"), "F")
'F_abcd = δ_ac W_db'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from einderiv.functions import FUNCTIONS
from einderiv.ir.nodes import (
    Delta,
    Expr,
    Func,
    LogSumExp,
    MatFunc,
    Product,
    Size,
    Sum,
    Symbol,
    constant_value,
    unwrap,
)
from einderiv.ir.traversal import topological
from einderiv.render.api import deep_recursion
from einderiv.render.latex import indexed as latex_indexed
from einderiv.render.latex import latex_name
from einderiv.render.naming import plan_names, result_name
from einderiv.render.numbers import format_number

FREE = "abcdefgh"
SUMMED = "ijklpqrstuvwxyz"
_SUPERSCRIPTS = {2: "²", 3: "³", 4: "⁴", -1: "⁻¹"}  # each has an ASCII spelling (terminal)

# precedence of a written piece: a sum binds loosest, an atom tightest
SUM, PRODUCT, ATOM = 0, 1, 2


def free_letters(count: int, start: int = 0, skip: Iterable[str] = ()) -> list[str]:
    """Letters for ``count`` free indices from position ``start``: ``a … h``, then ``a8, a9, …``.

    Letters in ``skip`` (the names of one-letter symbols, such as ``b``) are left out.

    >>> free_letters(3), free_letters(2, start=7), free_letters(2, skip={"b"})
    (['a', 'b', 'c'], ['h', 'a8'], ['a', 'c'])
    """
    pool = [letter for letter in FREE if letter not in set(skip)]
    return [pool[k] if k < len(pool) else f"a{k}" for k in range(start, start + count)]


def fresh_letter(used: set[str]) -> str:
    """The first summed letter not in ``used`` (``i``, ``j``, …, then ``i15``, …)."""
    for letter in SUMMED:
        if letter not in used:
            return letter
    k = len(SUMMED)
    while f"i{k}" in used:
        k += 1
    return f"i{k}"


def subscript(letters: Sequence[str], latex: bool) -> str:
    """``_ab`` (``_{ab}`` in LaTeX); letters of more than one character are comma-joined."""
    if not letters:
        return ""
    joined = ("," if any(len(x) > 1 for x in letters) else "").join(letters)
    return f"_{{{joined}}}" if latex else f"_{joined}"


def tensor_name(name: str, latex: bool) -> str:
    r"""A name as the matrix form spells it (``a_{\mathrm{prev}}``, ``\mathrm{dW}`` in LaTeX)."""
    return latex_name(name) if latex else name


def indexed_name(name: str, letters: Sequence[str], latex: bool) -> str:
    r"""``name_ab``; in LaTeX the name's own subscript joins the indices (``h_{1,a}``)."""
    if not latex or not letters:
        return tensor_name(name, latex) + subscript(letters, latex)
    return latex_indexed(name, subscript(letters, True)[2:-1])


def product_letters(node: Product, letters: Sequence[str], avoid: Iterable[str] = (),
                    prefer: Sequence[str] = ()) -> dict:
    """Letters for a product's labels: its outputs get ``letters``, summed labels fresh ones.

    Summed labels take the ``prefer`` letters first (the letters a summed index had on
    the line before).  A size-1 axis's only index is ``1``.
    """
    names: dict[int, str] = dict(zip(node.out, letters, strict=False))
    used = set(avoid) | set(letters)
    preferred = [p for p in prefer if p not in set(letters)]  # avoid holds them: not here
    for _, labels in display_order(node.factors, node.out):
        for label in labels:
            if label in names:
                continue
            if node.ldims[label] == "1":
                names[label] = "1"
                continue
            names[label] = preferred.pop(0) if preferred else fresh_letter(used)
            used.add(names[label])
    return names


def display_order(factors: Sequence[tuple[Expr, tuple[int, ...]]], out: Sequence[int], *,
                  with_index: bool = False) -> list:
    """Factors as written by hand: deltas first, then by the first output index they carry.

    With ``with_index``, ``(position in factors, factor)`` pairs.
    """
    position = {label: pos for pos, label in enumerate(out)}

    def key(item: tuple[int, tuple[Expr, tuple[int, ...]]]) -> tuple[bool, int, int]:
        index, (factor, labels) = item
        first = min((position[x] for x in labels if x in position), default=len(position))
        return (not isinstance(factor, Delta), first, index)

    ordered = sorted(enumerate(factors), key=key)
    return ordered if with_index else [pair for _, pair in ordered]


class IndexWriter:
    """Writes expressions in index notation (text or LaTeX) with named parts by name."""

    def __init__(self, names: Mapping[str, str] | None = None, *, latex: bool = False,
                 avoid: Iterable[str] = (), prefer: Sequence[str] = ()) -> None:
        self.names = dict(names or {})
        self.latex = latex
        self.avoid = set(avoid)
        self.prefer = tuple(prefer)

    # -- pieces -------------------------------------------------------------------------

    def indexed(self, name: str, letters: Sequence[str]) -> str:
        """``name_ab``."""
        return indexed_name(name, letters, self.latex)

    def sigma(self, letters: Sequence[str]) -> str:
        r"""``Σ_ij `` (``\sum_{ij} ``), or '' for no letters."""
        if not letters:
            return ""
        joined = ("," if any(len(x) > 1 for x in letters) else "").join(letters)
        return f"\\sum_{{{joined}}} " if self.latex else f"Σ_{joined} "

    def paren(self, text: str) -> str:
        """``(text)``, sized in LaTeX."""
        return f"\\left({text}\\right)" if self.latex else f"({text})"

    def wrap(self, piece: tuple[str, int], need: int) -> str:
        """A piece's text, in parentheses when it binds looser than ``need``."""
        text, prec = piece
        return self.paren(text) if prec < need else text

    # -- nodes --------------------------------------------------------------------------

    def plain(self, node: Expr) -> bool:
        """True for a name with its indices (``z_ab``, ``ba_a1``): no parentheses needed."""
        node = unwrap(node)
        if node.key in self.names or isinstance(node, Symbol):
            return True
        if isinstance(node, MatFunc) and node.name == "inv":
            return True  # written (X⁻¹)_ab
        return (isinstance(node, Product) and node.coeff == 1.0 and len(node.factors) == 1
                and not node.summed and isinstance(node.factors[0][0], Symbol))

    def write(self, node: Expr, letters: Sequence[str], *, top: bool = False) -> str:
        """``node`` in index notation with ``letters`` for its axes."""
        with deep_recursion():
            return self.piece(unwrap(node), tuple(letters), top=top)[0]

    def piece(self, node: Expr, letters: tuple[str, ...], top: bool = False) -> tuple[str, int]:
        """The text of ``node`` and its precedence."""
        if not top and node.key in self.names:
            return self.indexed(self.names[node.key], letters), ATOM
        if isinstance(node, Symbol):
            return self.indexed(node.name, letters), ATOM
        if isinstance(node, Delta):
            ordered = sorted(letters, key=lambda x: (x == "1", x))  # δ_ac, δ_b1: as by hand
            return ("\\delta" if self.latex else "δ") + subscript(ordered, self.latex), ATOM
        if isinstance(node, Size):
            return node.dim, ATOM
        value = constant_value(node)
        if value is not None:
            return format_number(value), ATOM if value >= 0 else SUM
        if isinstance(node, Product):
            return self.product(node.coeff, node.factors, node.out,
                                product_letters(node, letters, self.avoid, self.prefer))
        if isinstance(node, Sum):
            pieces = [self.piece(t, letters) for t in node.terms]
            first = next((k for k, (text, _) in enumerate(pieces) if not text.startswith("-")), 0)
            pieces.insert(0, pieces.pop(first))  # 1 - f², not -f² + 1
            return self.terms(pieces)
        if isinstance(node, Func):
            return self.func(node, letters)
        if isinstance(node, LogSumExp):
            used = self.avoid | set(letters)
            inner: list[str] = []
            remaining = list(letters)
            reduced = []
            for axis in range(len(node.arg.dims)):
                if axis in node.axes:
                    letter = fresh_letter(used)
                    used.add(letter)
                    reduced.append(letter)
                    inner.append(letter)
                else:
                    inner.append(remaining.pop(0))
            arg = self.piece(node.arg, tuple(inner))[0]
            if self.latex:
                return f"\\log {self.sigma(reduced)}\\exp\\left({arg}\\right)", PRODUCT
            return f"log {self.sigma(reduced)}exp({arg})", PRODUCT
        if isinstance(node, MatFunc):
            return self.matfunc(node, letters)
        return self.indexed("(" + node.kind + ")", letters), ATOM  # pragma: no cover

    def product(self, coeff: float, factors, out, names: Mapping[int, str], *,
                partial_at: int | None = None) -> tuple[str, int]:
        """One einsum term with the label letters ``names`` (outputs and summed).

        ``partial_at`` marks one factor (by position) as differentiated: ``∂a_i``.
        """
        summed: list[str] = []
        parts = []
        out_set = set(out)
        for index, (factor, labels) in display_order(factors, out, with_index=True):
            for label in labels:
                if label not in out_set and names[label] != "1" and names[label] not in summed:
                    summed.append(names[label])
            letters = tuple(names[label] for label in labels)
            text = self.wrap(self.piece(factor, letters), PRODUCT)
            if index == partial_at:
                if not self.plain(factor):
                    text = self.paren(self.piece(factor, letters)[0])
                text = ("\\partial " if self.latex else "∂") + text
            parts.append(text)
        joiner = "\\, " if self.latex else " "
        body = joiner.join(parts)
        if not body:
            return format_number(coeff), ATOM if coeff >= 0 else SUM
        text = self.sigma(summed) + body
        if coeff == 1.0:
            return text, PRODUCT if (summed or len(parts) > 1) else ATOM
        if coeff == -1.0:
            return "-" + text, SUM
        number = format_number(abs(coeff))
        sign = "-" if coeff < 0 else ""
        return f"{sign}{number}{joiner}{text}", SUM if coeff < 0 else PRODUCT

    def terms(self, pieces: list[tuple[str, int]]) -> tuple[str, int]:
        """Pieces joined with ``+`` and ``-``."""
        if not pieces:
            return "0", ATOM
        if len(pieces) == 1:
            return pieces[0]
        text = pieces[0][0]
        for piece, _ in pieces[1:]:
            text += f" - {piece[1:]}" if piece.startswith("-") else f" + {piece}"
        return text, SUM

    def func(self, node: Func, letters: tuple[str, ...]) -> tuple[str, int]:
        """An elementwise function with the indices pushed inside its arguments."""
        args = [self.piece(a, letters) for a in node.args]
        if node.name == "pow":
            p = node.param if node.param is not None else 1.0
            base = self.wrap(args[0], ATOM)
            if p == 0.5:
                return (f"\\sqrt{{{args[0][0]}}}" if self.latex else f"√{base}"), ATOM
            if p == -1.0:
                return ((f"\\frac{{1}}{{{args[0][0]}}}", ATOM) if self.latex
                        else (f"1/{base}", PRODUCT))
            if self.latex:
                return f"{base}^{{{format_number(p)}}}", ATOM
            sup = _SUPERSCRIPTS.get(int(p)) if p == int(p) else None
            return (base + sup if sup else f"{base}^{format_number(p)}"), ATOM
        if node.name == "sigmoid":
            inner = ", ".join(a for a, _ in args)
            return ("\\sigma" if self.latex else "σ") + self.paren(inner), ATOM
        if not self.latex:
            return f"{node.name}({', '.join(a for a, _ in args)})", ATOM
        entry = FUNCTIONS.get(node.name)
        template = getattr(entry, "latex", None) or f"\\operatorname{{{node.name}}}"
        if "#1" in template:
            for k, (arg, _) in enumerate(args):
                template = template.replace(f"#{k + 1}", arg)
            return template, ATOM
        return template + self.paren(", ".join(a for a, _ in args)), ATOM

    def matrix_name(self, node: Expr) -> str:
        """A matrix argument of a matrix function: its name, or its matrix form."""
        node = unwrap(node)
        if node.key in self.names:
            return tensor_name(self.names[node.key], self.latex)
        if isinstance(node, Symbol):
            return tensor_name(node.name, self.latex)
        try:
            text = node.to_latex() if self.latex else node.to_numpy()
        except Exception:  # pragma: no cover - the index form never blocks on a rendering
            text = node.kind
        return self.paren(text)

    def matfunc(self, node: MatFunc, letters: tuple[str, ...]) -> tuple[str, int]:
        """``(X⁻¹)_ab``, ``det(X)``, ``log det(X)``, ``solve(A, B)_ab``."""
        args = [self.matrix_name(a) for a in node.args]
        sub = subscript(letters, self.latex)
        if node.name == "inv":
            head = f"{args[0]}^{{-1}}" if self.latex else f"{args[0]}⁻¹"
            return self.paren(head) + sub, ATOM
        if node.name == "det":
            return (f"\\det {args[0]}" if self.latex else f"det({args[0]})"), ATOM
        if node.name == "logdet":
            return (f"\\log\\det {args[0]}" if self.latex else f"log det({args[0]})"), PRODUCT
        head = "\\mathrm{solve}" if self.latex else "solve"
        return head + self.paren(", ".join(args)) + sub, ATOM


def lettering(root: Expr, letters: Sequence[str], avoid: Iterable[str] = ()) -> dict[str, tuple]:
    """Letters for the axes of every node of ``root``, handed down from the root's.

    A factor of a product takes the letters of its labels (summed ones fresh), the
    arguments of an elementwise function or a sum's terms take the node's own; the first
    way down to a node fixes its letters.  So ``L = Σ_i a_i a_i``, ``a_i = tanh(z_i)``,
    ``z_i = Σ_j W_ij x_j`` keep ``i`` for the axis of ``a`` and ``z`` throughout.
    """
    body = unwrap(root)
    avoid = set(avoid)
    found: dict[str, tuple] = {body.key: tuple(letters)}
    for node in reversed(topological(body)):  # parents before children
        mine = found.get(node.key)
        if mine is None:
            continue
        if isinstance(node, Product):
            names = product_letters(node, mine, avoid)
            for factor, labels in node.factors:
                found.setdefault(factor.key, tuple(names[label] for label in labels))
        elif isinstance(node, (Sum, Func)):
            for child in node.children:
                found.setdefault(child.key, mine)
        elif isinstance(node, LogSumExp):
            used = avoid | set(mine)
            remaining = list(mine)
            inner = []
            for axis in range(len(node.arg.dims)):
                if axis in node.axes:
                    inner.append(fresh_letter(used))
                    used.add(inner[-1])
                else:
                    inner.append(remaining.pop(0))
            found.setdefault(node.arg.key, tuple(inner))
        elif isinstance(node, MatFunc):
            for arg in node.args:
                if len(arg.dims) == len(mine):
                    found.setdefault(arg.key, mine)
                else:
                    used = avoid | set(mine)
                    own = []
                    for _ in arg.dims:
                        own.append(fresh_letter(used))
                        used.add(own[-1])
                    found.setdefault(arg.key, tuple(own))
    return found


def index_program(expr: Expr, name: str | None = None, *, latex: bool = False) -> str:
    """The readable form of ``expr`` as lines of index notation, the result last.

    Each line has its own letters ``a, b, …``; ``name`` names the result (default: as
    :func:`~einderiv.render.program.to_program` does, ``F`` when that has no name).
    """
    plan = plan_names(expr)
    names = {node.key: line for node, line in plan}
    writer = IndexWriter(names, latex=latex)
    lines = []
    for node, line in plan:
        letters = free_letters(len(node.dims))
        lines.append(f"{writer.indexed(line, letters)} = {writer.write(node, letters, top=True)}")
    final = name or result_name(expr, "F")
    letters = free_letters(len(expr.dims))
    lines.append(f"{writer.indexed(final, letters)} = {writer.write(expr, letters, top=True)}")
    return "\n".join(lines)
