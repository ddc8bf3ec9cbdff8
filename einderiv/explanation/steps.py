r"""The index rules of a derivation, one step per node of ``f``, with fixed letters.

Contract: :func:`rule_steps` lists, from the outside in, the rule applied at every node
of ``f`` that depends on ``x`` -- chain rule (elementwise functions), sum rule, product
rule with the leaf rule ``∂x_kl/∂x_ab = δ_ka δ_lb`` substituted and each delta eliminated
(:func:`eliminate`), the matrix-function and logsumexp rules -- as Markdown lines in
LaTeX.  Every node keeps the letters :func:`~einderiv.explanation.indexform.lettering`
gave it, and ``x``'s indices keep theirs: no letter changes between lines.  A line that
starts with two spaces and ``-`` is a sub-step of the line above.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from einderiv.derive.common import derivative_of, partials_of
from einderiv.explanation.indexform import (
    IndexWriter,
    display_order,
    indexed_name,
    product_letters,
    tensor_name,
)
from einderiv.ir.nodes import Delta, Expr, Func, LogSumExp, MatFunc, Product, Sum, Symbol
from einderiv.ir.traversal import topological


def plural(count: int, one: str, many: str | None = None) -> str:
    """``1 term``, ``2 terms``.

    >>> plural(1, "term"), plural(2, "term"), plural(3, "index", "indices")
    ('1 term', '2 terms', '3 indices')
    """
    return f"{count} {one if count == 1 else (many or one + 's')}"


def and_list(words: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    words = list(words)
    if not words:
        return ""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


@dataclass
class Term:
    """One einsum term being rewritten by hand: its labels keep their letters."""

    coeff: float
    factors: list[tuple[Expr, tuple[int, ...]]]
    out: tuple[int, ...]
    letters: dict[int, str]
    sizes: dict[int, str]

    def summed_letters(self) -> list[str]:
        """The letters of the summed indices, in the order they are written."""
        out, found = set(self.out), []
        for _, labels in display_order(self.factors, self.out):
            for label in labels:
                letter = self.letters[label]
                if label not in out and letter != "1" and letter not in found:
                    found.append(letter)
        return found

    def text(self, writer: IndexWriter) -> str:
        """The term in index notation (LaTeX when the writer writes LaTeX)."""
        return writer.product(self.coeff, self.factors, self.out, self.letters)[0]


def eliminate(term: Term) -> list[str]:
    """Eliminate every delta that has a summed index, in place; one sentence per delta.

    ``Σ_i δ_ib a_prev_id = a_prev_bd``: the summed ``i`` becomes ``b`` everywhere.  A
    delta between two size-1 axes is 1.  Deltas between two free indices stay: they are
    structure (the derivative is zero off their diagonal).
    """
    said: list[str] = []
    out = set(term.out)
    changed = True
    while changed:
        changed = False
        for pos, (factor, labels) in enumerate(term.factors):
            if not isinstance(factor, Delta) or len(labels) != 2:
                continue
            first, second = labels
            if first in out and second in out:
                continue
            summed, kept = (second, first) if second not in out else (first, second)
            old, new = term.letters[summed], term.letters[kept]
            del term.factors[pos]
            term.factors = [
                (f, tuple(kept if label == summed else label for label in ls))
                for f, ls in term.factors
            ]
            if old == "1":
                said.append(f"$\\delta_{{{new}1}} = 1$: both axes have size 1")
            else:
                said.append(
                    f"$\\delta_{{{''.join(sorted((old, new)))}}}$ is summed over ${old}$, "
                    f"so ${old}$ becomes ${new}$"
                )
            changed = True
            break
    return said


@dataclass
class Context:
    """What the steps need: the writer, every node's letters, and ``x`` with its letters."""

    writer: IndexWriter
    letters: dict[str, tuple[str, ...]]
    x: Symbol
    x_letters: tuple[str, ...]

    def letters_of(self, node: Expr) -> tuple[str, ...]:
        """The letters the derivation gave ``node``'s axes."""
        return self.letters.get(node.key, ())

    def math(self, node: Expr) -> str:
        """``node`` with its letters (by name when it has one)."""
        return self.writer.write(node, self.letters_of(node))

    def partial(self, node: Expr) -> str:
        r"""``\partial z_{ab}`` for a name, ``\partial\left(…\right)`` otherwise."""
        text = self.math(node)
        return "\\partial " + (text if self.writer.plain(node) else self.writer.paren(text))


def leaf_rule(x: Symbol, x_letters: Sequence[str]) -> str:
    r"""``∂x_kl / ∂x_ab = δ_ka δ_lb`` in LaTeX (``1`` for a scalar)."""
    name = tensor_name(x.name, True)
    if not x.dims:
        return f"$\\partial {name} / \\partial {name} = 1$"
    generic = [letter for letter in "klmnopqrstuvw" if letter not in x_letters][: len(x.dims)]
    generic += [f"k{n}" for n in range(len(x.dims) - len(generic))]
    deltas = " ".join(
        f"\\delta_{{{g}{a}}}" for g, a in zip(generic, x_letters, strict=True)
    )
    return (f"$\\partial {indexed_name(x.name, generic, True)} / \\partial "
            f"{indexed_name(x.name, list(x_letters), True)} = {deltas}$")


def rule_steps(f: Expr, ctx: Context) -> list[str]:
    """One line per index rule on the way from ``f`` down to ``x`` (sub-steps indented)."""
    order = topological(f)
    depends: set[str] = set()
    for node in order:
        if node == ctx.x or any(c.key in depends for c in node.children):
            depends.add(node.key)
    steps: list[str] = []
    for node in reversed(order):
        if node.key not in depends or node == ctx.x:
            continue
        if isinstance(node, Func):
            steps.append(_chain_step(node, ctx, depends))
        elif isinstance(node, Sum):
            kept = [t for t in node.terms if t.key in depends]
            dropped = len(node.terms) - len(kept)
            rhs = " + ".join(ctx.partial(t) for t in kept)
            note = ""
            if dropped:
                verb = "does" if dropped == 1 else "do"
                note = (f"; {plural(dropped, 'term')} of {len(node.terms)} {verb} not contain "
                        f"{ctx.x.name} and vanish{'es' if dropped == 1 else ''}")
            steps.append(f"**Sum rule**: ${ctx.partial(node)} = {rhs}${note}.")
        elif isinstance(node, Product):
            steps.extend(_product_steps(node, ctx, depends))
        elif isinstance(node, MatFunc):
            steps.append(f"**{node.name} rule**: ${_MATRIX_RULES[node.name]}$.")
        elif isinstance(node, LogSumExp):
            steps.append(
                "**logsumexp rule**: $\\partial \\log \\sum_i \\exp(E_i) = \\sum_i "
                "\\mathrm{softmax}(E)_i\\, \\partial E_i$ over the reduced indices."
            )
    steps.append(f"**Leaf rule**: {leaf_rule(ctx.x, ctx.x_letters)}.")
    return steps


_MATRIX_RULES = {
    "inv": "\\partial (X^{-1})_{ij} = -(X^{-1})_{ik}\\, \\partial X_{kl}\\, (X^{-1})_{lj}",
    "det": "\\partial \\det X = \\det X\\, (X^{-1})_{ji}\\, \\partial X_{ij}",
    "logdet": "\\partial \\log\\det X = (X^{-1})_{ji}\\, \\partial X_{ij}",
    "solve": "\\partial\\, \\mathrm{solve}(A, B) = "
    "\\mathrm{solve}(A, \\partial B - \\partial A\\, \\mathrm{solve}(A, B))",
}


def _chain_step(node: Func, ctx: Context, depends: set[str]) -> str:
    """The chain rule through an elementwise function, in the node's own letters."""
    letters = ctx.letters_of(node)
    writer = ctx.writer
    if len(node.args) > 1:
        parts = [
            f"{writer.wrap(writer.piece(partial, letters), 1)}\\, {ctx.partial(arg)}"
            for arg, partial in zip(node.args, partials_of(node), strict=True)
            if arg.key in depends
        ]
        return (f"**Chain rule** through `{node.name}`, one partial derivative per argument: "
                f"${ctx.partial(node)} = {' + '.join(parts)}$ (elementwise).")
    derivative = writer.wrap(writer.piece(derivative_of(node), letters), 1)
    what = f"the power `**{node.param:g}`" if node.name == "pow" else f"`{node.name}`"
    return (f"**Chain rule** through {what}: ${ctx.partial(node)} = {derivative}\\, "
            f"{ctx.partial(node.arg)}$ (elementwise).")


def _product_steps(node: Product, ctx: Context, depends: set[str]) -> list[str]:
    """The product rule on one einsum term, with the leaf's deltas substituted and eliminated."""
    writer = ctx.writer
    letters = ctx.letters_of(node)
    names = product_letters(node, letters, writer.avoid)
    occurrences = [k for k, (f, _) in enumerate(node.factors) if f.key in depends]
    what = ("one term per factor that depends on " + ctx.x.name) if len(occurrences) > 1 else (
        "only one factor depends on " + ctx.x.name)
    definition = writer.write(node, letters, top=True)
    if node.key in writer.names:
        definition = f"{writer.indexed(writer.names[node.key], letters)} = {definition}"
    lines = [f"**Product rule** on ${definition}$ ({what}):"]
    for k in occurrences:
        factor, labels = node.factors[k]
        if factor != ctx.x:
            text = writer.product(node.coeff, node.factors, node.out, names, partial_at=k)[0]
            lines.append(f"  - differentiating ${writer.piece(factor, _at(names, labels))[0]}$:"
                         f" ${text}$, with ${ctx.partial(factor)}$ from the steps below")
            continue
        base = max(len(node.ldims), max(names, default=-1) + 1)
        new = tuple(range(base, base + len(labels)))
        term = Term(node.coeff, [pair for j, pair in enumerate(node.factors) if j != k],
                    node.out + new, dict(names), dict(enumerate(node.ldims)))
        for label, letter, dim in zip(new, ctx.x_letters, ctx.x.dims, strict=True):
            term.letters[label] = letter
            term.sizes[label] = dim
        deltas: list[tuple[Expr, tuple[int, ...]]] = [
            (Delta.make(dim), (labels[r], new[r])) for r, dim in enumerate(ctx.x.dims)]
        term.factors = term.factors + deltas
        leaf = writer.piece(factor, _at(names, labels))[0]
        delta_text = " ".join(writer.piece(d, _at(term.letters, ls))[0] for d, ls in deltas)
        lines.append(f"  - replacing ${leaf}$ by its derivative ${delta_text or '1'}$: "
                     f"${term.text(writer)}$")
        said = eliminate(term)
        if said:
            lines.append(f"  - **delta elimination**: {'; '.join(said)}: ${term.text(writer)}$")
    return lines


def _at(names: dict[int, str], labels: Sequence[int]) -> tuple[str, ...]:
    return tuple(names[label] for label in labels)


def free_index_notes(term: Term, owners: dict[str, str]) -> list[str]:
    """True statements about free indices that the right-hand side does not carry.

    ``owners`` maps a letter to the tensor and axis it belongs to (``"ba's axis 2"``).
    """
    carried = {label for _, labels in term.factors for label in labels}
    notes = []
    for label in term.out:
        if label in carried:
            continue
        letter = term.letters[label]
        owner = owners.get(letter, "its axis")
        if term.sizes.get(label) == "1":
            notes.append(f"${letter}$ appears on the left only: it is {owner}, of size 1")
        else:
            notes.append(f"${letter}$ appears on the left only: the value is the same for "
                         f"every ${letter}$ ({owner})")
    return notes
