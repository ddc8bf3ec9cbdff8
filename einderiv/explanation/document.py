"""The derivation document: :func:`explain` puts the sections together.

Contract: see :mod:`einderiv.explanation`.  The names come from the readable form
(:func:`~einderiv.render.naming.plan_names`): explain names the function (``f`` or the
program's) and, when the function is an activation ``f = tanh(z)``, its argument ``z``,
as a textbook writes it; adjoints (``dz``), sigmoids (``s``), softmaxes (``p``) and
parts used twice are named as :meth:`to_program` names them.

>>> import einderiv as ed
>>> f = ed.parse("tanh(W @ x)", shapes="W[n,m] x[m]")
>>> text = ed.explain(f, "W", cotangent="g")
>>> "dz = (1 - f**2) * g" in text and "dW = np.outer(dz, x)" in text
True
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import Any

from einderiv.claims.context import with_names
from einderiv.claims.reasons import index_reason
from einderiv.derive.api import diff, grad, hessian, vjp
from einderiv.derive.arguments import resolve_wrt
from einderiv.errors import EinderivError
from einderiv.explanation.indexform import (
    IndexWriter,
    free_letters,
    indexed_name,
    lettering,
    product_letters,
    subscript,
)
from einderiv.explanation.markdown import Markdown
from einderiv.explanation.steps import (
    Context,
    Term,
    and_list,
    eliminate,
    free_index_notes,
    plural,
    rule_steps,
)
from einderiv.ir.nodes import (
    Delta,
    Expr,
    Func,
    Product,
    Sum,
    Symbol,
    annotate,
    differentials_of,
    inputs_of,
    names_of,
    unwrap,
)
from einderiv.ir.patterns import is_activation
from einderiv.render.naming import is_trivial, plan_names
from einderiv.render.program import to_latex_where, to_program
from einderiv.sampling import numeric_check
from einderiv.testing import default_sizes

KINDS = ("grad", "vjp", "diff", "hessian")


def function_name(f: Expr, taken: AbstractSet[str] = frozenset()) -> str:
    """The function's own name: what a program's last line assigns (``L``), else ``f``."""
    root = unwrap(f).key
    for key, name in names_of(f):
        if key == root:
            return name
    return next(n for n in ("f", "f1", "f2", "f3", "fn") if n not in taken)


def named_function(f: Expr, fname: str, taken: set[str]) -> Expr:
    """``f`` with its name on the root and ``z`` on an activation's argument.

    The derivative of the result names its parts as a hand-written backward pass does
    (``dz = (1 - f**2) * da``, ``dW = dz @ x.T``).
    """
    body = unwrap(f)
    names = list(names_of(f))
    named = {key for key, _ in names}
    if body.key not in named:
        names.append((body.key, fname))
    if (is_activation(body) and isinstance(body, Func) and len(body.args) == 1
            and body.arg.key not in named and not is_trivial(body.arg)):
        zname = next(n for n in ("z", "u", "z1", "z2", "z3") if n not in taken)
        names.append((body.arg.key, zname))
    return annotate(body, inputs_of(f), names, differentials_of(f))


def _plan(expr: Expr) -> dict[str, str]:
    return {node.key: name for node, name in plan_names(expr)}


def _program(expr: Expr, name: str) -> str:
    try:
        return to_program(expr, name)
    except EinderivError:  # no numpy form (more indices than einsum has letters)
        return f"{name} = <no numpy form; see the index form above>"


def _latex_where(expr: Expr, name: str) -> str | None:
    try:
        return to_latex_where(expr, name)
    except EinderivError:
        return None


def _numpy(expr: Expr) -> str | None:
    try:
        return expr.to_numpy()
    except EinderivError:
        return None


def _dims_text(sym: Symbol) -> str:
    if not sym.dims:
        return "scalar"
    text = " × ".join(sym.dims)
    return text + (" (symmetric)" if sym.symmetric else "")


def _check_options(kind: Any, text: Any, cotangent: Any) -> None:
    """``kind``, ``text`` and ``cotangent`` as :func:`explain` accepts them."""
    if cotangent is not None and not isinstance(cotangent, (str, Expr)):
        raise EinderivError(
            f"explain: cotangent must be a name such as 'g' or an expression, got "
            f"{type(cotangent).__name__}"
        )
    if kind is not None and kind not in KINDS:
        jvp = "; a jvp's derivation is the full derivative's: kind='diff'" if kind == "jvp" else ""
        raise EinderivError(
            f"explain: kind must be one of {', '.join(map(repr, KINDS))} (or None to choose "
            f"from f and cotangent), got {kind!r}{jvp}"
        )
    if text is not None and not isinstance(text, str):
        raise EinderivError(
            f"explain: text is the user's text of f (a string), got {type(text).__name__}"
        )


def _one_line(text: str) -> str:
    """The user's text of f on one line: its statements joined by ``; ``."""
    return "; ".join(line.strip() for line in text.strip().splitlines() if line.strip())


def explain(
    f: Expr, wrt: Any, cotangent: Any = None, *, kind: str | None = None, text: str | None = None
) -> Markdown:
    """A Markdown derivation of the derivative of ``f`` w.r.t. ``wrt``.

    With ``cotangent`` it explains the vjp; for a scalar ``f`` the gradient (or the
    Hessian with ``kind="hessian"``); otherwise the full derivative tensor.  ``text`` is
    the user's own text of ``f`` (what was parsed); the heading shows it instead of f's
    rendering, which may spell internal rewrites (``np.logaddexp(0, ...)``).
    """
    _check_options(kind, text, cotangent)
    x = resolve_wrt(f, wrt)
    if kind is None:
        kind = "vjp" if cotangent is not None else ("grad" if not f.dims else "diff")
    taken = {s.name for s in inputs_of(f)} | {x.name} | {n for _, n in names_of(f)}
    cot_name = cotangent if isinstance(cotangent, str) else getattr(cotangent, "name", "g")
    if kind == "vjp":
        taken.add(cot_name)
    fname = function_name(f, taken)
    taken.add(fname)
    g = named_function(f, fname, taken)
    doc = _Document(g, x, kind, fname, cotangent if kind == "vjp" else None, cot_name)
    shown = f"`{_one_line(text)}`" if text and text.strip() else None
    return Markdown("\n".join(doc.write(shown)))


class _Document:
    """The sections of one derivation, sharing its letters and names."""

    def __init__(self, g: Expr, x: Symbol, kind: str, fname: str, cotangent: Any,
                 cot_name: str) -> None:
        self.g, self.x, self.kind, self.fname = g, x, kind, fname
        self.cotangent, self.cot_name = cotangent, cot_name
        nf, nx = len(g.dims), len(x.dims)
        # an index never takes the name of a one-letter symbol (b, x, y): b_c, not b_b
        named = {s.name for s in inputs_of(g)} | {fname, x.name}
        if cotangent is not None:
            named.add(cot_name)
        skip = {n for n in named if len(n) == 1}
        if kind == "diff":  # F_abcd: f's indices first, as to_index writes a Jacobian
            self.fl, self.xl = free_letters(nf, 0, skip), free_letters(nx, nf, skip)
        else:  # the result has x's shape: its indices are a, b, ...
            self.xl, self.fl = free_letters(nx, 0, skip), free_letters(nf, nx, skip)
        self.avoid = set(self.fl) | set(self.xl) | skip
        self.names = _plan(g)
        self.names[unwrap(g).key] = fname
        self.letters = lettering(g, self.fl, self.avoid)
        self.writer = IndexWriter(self.names, latex=True, avoid=self.avoid)

    # -- the parts ----------------------------------------------------------------------

    def write(self, shown: str | None) -> list[str]:
        out = self.title(shown or f"`{self.f_text()}`")
        out += self.function()
        full = diff(self.g, self.x)
        out += self.derivative(full)
        result, name = self.result(full, out)
        out += self.matrix_form(result, name)
        out += self.numeric_check()
        return out

    def f_text(self) -> str:
        text = _numpy(self.g)
        if text is None:  # no numpy form: the index form, on one line
            text = IndexWriter(self.names).write(self.g, free_letters(len(self.g.dims)), top=True)
        return text

    def title(self, f_text: str) -> list[str]:
        fn, xn = self.fname, self.x.name
        head = {
            "vjp": f"# Derivation: backprop of {fn} = {f_text} to {xn}",
            "grad": f"# Derivation: ∂{fn}/∂{xn} for {fn} = {f_text}",
            "diff": f"# Derivation: ∂{fn}/∂{xn} for {fn} = {f_text}",
            "hessian": f"# Derivation: the Hessian of {fn} = {f_text} in {xn}",
        }[self.kind]
        return [head, ""]

    def function(self) -> list[str]:
        out = ["## The function", ""]
        for sym in sorted(inputs_of(self.g), key=lambda s: s.name):
            out.append(f"- `{sym.name}`: {_dims_text(sym)}")
        out.append("")
        plan = plan_names(self.g)
        if plan:
            out += ["As a program, with the names the derivation uses:", "", "```python",
                    _program(self.g, self.fname), "```", ""]
        else:
            latex = _latex_where(self.g, self.fname)
            if latex is not None:
                out += [f"$${latex}$$", ""]
        fx = f"{self.fname}'s indices {and_list(self.fl)}; " if self.fl else ""
        xi = f"{self.x.name}'s indices {and_list(self.xl)}; " if self.xl else ""
        out += [f"In index notation ({fx}{xi}summed indices i, j, …, and each index keeps "
                "its letter to the end):", ""]
        for node, name in [*plan, (unwrap(self.g), self.fname)]:
            letters = self.letters.get(node.key, tuple(free_letters(len(node.dims))))
            out += [f"$${self.writer.indexed(name, letters)} = "
                    f"{self.writer.write(node, letters, top=True)}$$", ""]
        return out

    def derivative(self, full: Expr) -> list[str]:
        fn, xn = self.fname, self.x.name
        fdx = indexed_name(fn, self.fl, True)
        xdx = indexed_name(xn, self.xl, True)
        tensor = f"F{subscript(self.fl + self.xl, True)}"
        fx = f"{self.fname}'s indices ({', '.join(self.fl)}) then " if self.fl else ""
        out = [
            "## The derivative tensor",
            "",
            f"$${tensor} = \\frac{{\\partial {fdx}}}"
            f"{{\\partial {xdx}}}$$",
            "",
            f"has {fx}{self.x.name}'s ({', '.join(self.xl) or 'none'}). Below, $\\partial$ "
            f"stands for $\\partial / \\partial {xdx}$. The rules, from the outside in:",
            "",
        ]
        ctx = Context(self.writer, self.letters, self.x, tuple(self.xl))
        number = 0
        for step in rule_steps(unwrap(self.g), ctx):
            if step.startswith("  -"):
                out.append("    " + step[2:])  # 4 spaces: Python-Markdown nests only at 4
            else:
                number += 1
                out.append(f"{number}. {step}")
        writer = IndexWriter(self.names, latex=True, avoid=self.avoid)  # f's names only
        out += ["", "Putting them together and simplifying:", "",
                f"$${tensor} = {writer.write(full, self.fl + self.xl, top=True)}$$", ""]
        out += self._notes(full, writer, self.fl + self.xl)
        return out

    def _owners(self) -> dict[str, str]:
        owners = {letter: f"{self.fname}'s axis {k + 1}" for k, letter in enumerate(self.fl)}
        owners.update({letter: f"{self.x.name}'s axis {k + 1}"
                       for k, letter in enumerate(self.xl)})
        return owners

    def _notes(self, expr: Expr, writer: IndexWriter, letters: list[str]) -> list[str]:
        """What the surviving deltas mean, and the free indices the right side lacks."""
        body = unwrap(expr)
        terms = [body] if isinstance(body, Product) else (
            [t for t in body.terms if isinstance(t, Product)] if isinstance(body, Sum) else [])
        meanings: list[str] = []
        notes: list[str] = []
        fset, xset = set(self.fl), set(self.xl)
        for term in terms:
            names = product_letters(term, letters, self.avoid)
            for factor, labels in term.factors:
                if not isinstance(factor, Delta) or len(labels) != 2:
                    continue
                a, b = (names[label] for label in labels)
                if a in xset and b in fset:
                    a, b = b, a
                if a not in fset or b not in xset:
                    continue
                pa, pb = self.fl.index(a), self.xl.index(b)
                text = (f"- $\\delta_{{{''.join(sorted((a, b)))}}}$: entry ${b}$ of "
                        f"{self.x.name}'s axis {pb + 1} only reaches entry ${b}$ of "
                        f"{self.fname}'s axis {pa + 1}: the derivative is zero unless "
                        f"${a} = {b}$.")
                if text not in meanings:
                    meanings.append(text)
            hand = Term(term.coeff, list(term.factors), term.out, names,
                        dict(enumerate(term.ldims)))
            for note in free_index_notes(hand, self._owners()):
                if f"- {note}." not in notes:
                    notes.append(f"- {note}.")
        out = []
        if meanings:
            out += ["The deltas that survive are real structure, not noise:", "", *meanings, ""]
        if notes:
            out += ["Free indices that the right-hand side does not carry:", "", *notes, ""]
        return out

    def result(self, full: Expr, out: list[str]) -> tuple[Expr, str]:
        """The derivative the user asked for, with its section; its name."""
        xn = self.x.name
        if self.kind == "vjp":
            result = vjp(self.g, self.x, self.cotangent)
            name = f"d{xn}"
            out += self.pullback(full, result, name)
        elif self.kind == "grad":
            result = grad(self.g, self.x)
            name = f"d{xn}"
            writer = IndexWriter(_plan(result), latex=True, avoid=self.avoid)
            out += [f"The gradient is this tensor: ${indexed_name(name, self.xl, True)}"
                    f" = F{subscript(self.xl, True)}$, in the "
                    "readable form's names:", "",
                    f"$${writer.indexed(name, self.xl)} = "
                    f"{writer.write(result, self.xl, top=True)}$$", ""]
        elif self.kind == "hessian":
            result = hessian(self.g, self.x)
            name = "H"
            second = free_letters(len(self.x.dims), len(self.xl))
            writer = IndexWriter(_plan(result), latex=True, avoid=self.avoid | set(second))
            out += ["## Differentiating again", "",
                    "The Hessian is the derivative of the gradient, "
                    f"$H{subscript(self.xl + second, True)} = "
                    f"\\partial F{subscript(self.xl, True)} / \\partial "
                    f"{indexed_name(xn, second, True)}$:", "",
                    f"$$H{subscript(self.xl + second, True)} = "
                    f"{writer.write(result, self.xl + second, top=True)}$$", ""]
        else:
            result, name = full, "F"
        return result, name

    def pullback(self, full: Expr, result: Expr, name: str) -> list[str]:
        """The vjp: the cotangent contracted with F, its deltas eliminated by hand."""
        g = self.cot_name
        lhs = indexed_name(name, self.xl, True)
        sigma = f"\\sum_{{{''.join(self.fl)}}} " if self.fl else ""
        out = [
            "## Pulling back the cotangent",
            "",
            f"Backprop contracts the upstream gradient `{g}` (shaped like {self.fname}) "
            f"with F over {self.fname}'s indices:",
            "",
            f"$${lhs} = {sigma}{indexed_name(g, self.fl, True)} "
            f"F{subscript(self.fl + self.xl, True)}$$",
            "",
        ]
        body = unwrap(full)
        terms = body.terms if isinstance(body, Sum) else (body,)
        writer = IndexWriter(self.names, latex=True, avoid=self.avoid)
        cot = Symbol.make(g, self.g.dims)
        pieces: list[str] = []
        said: list[str] = []
        summed: list[str] = []
        for term in terms:
            if not isinstance(term, Product):
                pieces = []
                break
            names = product_letters(term, self.fl + self.xl, self.avoid)
            nf = len(self.fl)
            hand = Term(term.coeff, [(cot, term.out[:nf]), *term.factors], term.out[nf:],
                        names, dict(enumerate(term.ldims)))
            said += eliminate(hand)
            pieces.append(hand.text(writer))
            summed = summed or hand.summed_letters()
        if pieces:
            joined = " + ".join(pieces).replace("+ -", "- ")
            why = (f" ({'; '.join(dict.fromkeys(said))})" if said else "")
            out += [f"Every delta in F renames an index of the cotangent{why}:", "",
                    f"$${lhs} = {joined}$$", ""]
        plan = _plan(result)
        writer = IndexWriter(plan, latex=True, avoid=self.avoid, prefer=summed)
        new = [(node, line) for node, line in plan_names(result) if line not in self.names.values()]
        out += ["In the readable form's names:", "",
                f"$${lhs} = {writer.write(result, self.xl, top=True)}$$", ""]
        if new:
            out += ["where", ""]
            for node, line in new:
                letters = (self.fl if node.dims == self.g.dims else self.xl
                           if node.dims == self.x.dims else free_letters(len(node.dims)))
                out += [f"$${writer.indexed(line, letters)} = "
                        f"{writer.write(node, letters, top=True)}$$", ""]
        return out

    def matrix_form(self, result: Expr, name: str) -> list[str]:
        program = _program(result, name)
        out = ["## Matrix form", "", "```python", program, "```", ""]
        latex = _latex_where(result, name)
        if latex is not None:
            out += [f"$${latex}$$", ""]
        plain = _numpy(result)
        if plain is not None and "\n" in program and len(plain) <= 200:
            out += ["or, written out in the original symbols:", "", "```python",
                    f"{name} = {plain}", "```", ""]
        if len(result.dims) in (1, 2) and plain is not None:
            out += self.reading(result, name)
        kron = None
        if (len(result.dims) == 4 and len(self.g.dims) == 2 and len(self.x.dims) == 2) or (
                len(result.dims) == 3 and len(self.g.dims) == 1 and len(self.x.dims) == 2):
            kron = result.to_kronecker(y=self.fname, x=self.x.name)
        if kron:
            out += ["Under the column-major vec convention (Magnus–Neudecker), the same "
                    f"tensor is one matrix acting on vec(d{self.x.name}):", "", "```text",
                    kron, "```", ""]
        return out

    def reading(self, result: Expr, name: str) -> list[str]:
        """How the matrix order is read off the index form (the result's own letters)."""
        plan = plan_names(result)
        defs = {line: node for node, line in plan}
        shown = with_names(result, defs) if defs else result
        _, _, sentence = index_reason(shown, name).partition("\n")
        text = IndexWriter({node.key: line for node, line in plan})
        letters = free_letters(len(result.dims))
        formula = f"{text.indexed(name, letters)} = {text.write(result, letters, top=True)}"
        body = unwrap(shown)
        facts = _index_facts(body, name, text) if isinstance(body, Product) else ""
        if facts and isinstance(body, Product) and not _each_summed_joins_two(body):
            sentence = facts  # the generic reading would not be true here
        elif facts:
            sentence = f"{facts} {sentence}"
        return [f"Reading the order off the indices, in the result's own letters (rows a, "
                f"columns b, summed i, j, …): `{formula}`. {sentence}", ""]

    def numeric_check(self) -> list[str]:
        target = self.g if self.kind != "hessian" else grad(self.g, self.x)
        sizes_text = ", ".join(f"{d}={n}" for d, n in default_sizes(target, self.x).items())
        check = numeric_check(target, self.x, seed=0, full=self.kind != "vjp")
        if check.report is None:  # not finite in the domain tried, or too big to evaluate
            return ["## Numeric check", "", f"Not completed: {check.note}.", ""]
        if check.values_note:
            sizes_text += f"; {check.values_note}"
        sym_fwd, num_fwd = check.report["forward"]
        return [
            "## Numeric check",
            "",
            f"At random values (sizes {sizes_text}), the directional derivative along a random "
            f"direction is {sym_fwd:.8g} symbolically and {num_fwd:.8g} by central "
            "differences; the reverse (vjp) check agrees too.",
            "",
        ]


def _each_summed_joins_two(node: Product) -> bool:
    counts: dict[int, int] = {}
    for _, labels in node.factors:
        for label in set(labels):
            counts[label] = counts.get(label, 0) + 1
    carried = set(counts)
    return all(counts.get(s, 0) == 2 for s in node.summed) and all(
        label in carried for label in node.out)


def _index_facts(node: Product, name: str, writer: IndexWriter) -> str:
    """What each summed index joins and which free index the right side lacks, in words."""
    letters = product_letters(node, free_letters(len(node.out)))
    owners: dict[int, list[str]] = {}
    for factor, labels in node.factors:
        for label in labels:
            owners.setdefault(label, [])
            who = factor.name if isinstance(factor, Symbol) else writer.write(
                factor, tuple(letters[x] for x in labels))
            if who not in owners[label]:
                owners[label].append(who)
    parts: list[str] = []
    for label in node.summed:
        if letters[label] == "1":
            continue
        holders = owners.get(label, [])
        if len(holders) == 1:
            parts.append(f"The summed index {letters[label]} appears in {holders[0]} only, so "
                         f"it is summed out along that axis.")
        elif len(holders) > 2:
            parts.append(f"The summed index {letters[label]} is shared by "
                         f"{plural(len(holders), 'factor')} ({and_list(holders)}).")
    for pos, label in enumerate(node.out):
        if label in owners:
            continue
        if node.ldims[label] == "1":
            parts.append(f"The free index {letters[label]} appears on the left only: "
                         f"{name}'s axis {pos + 1} has size 1.")
        else:
            parts.append(f"The free index {letters[label]} appears on the left only: "
                         f"{name} is the same along its axis {pos + 1}.")
    return " ".join(parts)
