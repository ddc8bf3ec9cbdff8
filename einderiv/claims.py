"""Claim checking: judge a claimed derivative formula, diagnose the mistake, say why.

Contract: :func:`verify` parses the claim (text in the numpy-like syntax, or an
expression) next to the intermediates the user names in ``where``, computes the true
derivative (a gradient for a scalar ``f``, a vjp when a ``cotangent`` is named, the full
derivative otherwise) and compares them symbolically (canonical form) and numerically
(random values, distinct sizes per dim, several draws).  It never says "ok" to a claim
that differs numerically.  A wrong claim gets a diagnosis of the common mistakes, found
by trying one edit of the claim at a time -- swapped ``@`` operands, a toggled ``.T``,
``*`` for ``@`` and back -- and by comparing with the transpose, the negative, a multiple
and the separate terms of the correct result; plus the correct matrix form written with
the user's own intermediate names, and the index-level reason.

>>> import einderiv as ed
>>> f = ed.parse("W @ x", shapes="W[n,m] x[m]")
>>> ed.verify("W.T @ g", f, "x", cotangent="g").ok
True
>>> v = ed.verify("g @ W.T", f, "x", cotangent="g")
>>> v.ok, v.mistakes
(False, ('shape mismatch', 'extra transpose', 'wrong order'))
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .derivatives import diff, grad, resolve_wrt, vjp
from .errors import EinderivError, ParseError, ShapeError, SubscriptError
from .ir import Delta, Expr, Product, Sum, Symbol, topological
from .simplify import make_func, make_matfunc, make_product, make_sum
from .testing import default_sizes, random_values

MISTAKES = (
    "shape mismatch",
    "transposed",
    "wrong order",
    "missing transpose",
    "extra transpose",
    "wrong sign",
    "wrong factor",
    "missing term",
    "extra term",
    "wrong sign in a term",
    "wrong factor in a term",
    "elementwise vs matrix product",
    "assumes symmetric",
    "assumes normalized",
)


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`verify`: ``ok``, a message, and the correct form.

    ``expected`` is the correct result in numpy matrix form (with the user's
    intermediate names where they fit), ``mistakes`` the diagnosed mistakes (names from
    :data:`MISTAKES`), ``reason`` the index-notation explanation, ``fix`` a corrected
    version of the claim when a single edit repairs it.
    """

    ok: bool
    message: str
    expected: str
    mistakes: tuple[str, ...] = ()
    reason: str = ""
    fix: str | None = None
    claim_shape: tuple[str, ...] = ()
    expected_shape: tuple[str, ...] = ()
    max_error: float = 0.0
    expected_expr: Expr | None = field(default=None, repr=False, compare=False)

    def __bool__(self) -> bool:
        return self.ok

    def _repr_markdown_(self) -> str:
        head = "**✓ correct**" if self.ok else "**✗ wrong**"
        lines = [head, "", self.message.replace("\n", "  \n")]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the verdict."""
        return {
            "ok": self.ok,
            "message": self.message,
            "expected": self.expected,
            "mistakes": list(self.mistakes),
            "reason": self.reason,
            "fix": self.fix,
            "claim_shape": list(self.claim_shape),
            "expected_shape": list(self.expected_shape),
            "max_error": self.max_error,
        }


# -- building the context -------------------------------------------------------------


def _spec(symbols: Mapping[str, Symbol]) -> str:
    parts = []
    for name in sorted(symbols):
        sym = symbols[name]
        text = name
        if sym.dims:
            text += "[" + ",".join(sym.dims) + "]"
        if sym.symmetric:
            text += ":sym"
        parts.append(text)
    return " ".join(parts)


def _names_in(text: str) -> set[str]:
    try:
        tree = ast.parse(text.strip(), mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _ordered_where(where: Mapping[str, str]) -> list[tuple[str, str]]:
    """``where`` entries in dependency order (an entry after the ones it uses)."""
    order: list[tuple[str, str]] = []
    placed: set[str] = set()
    visiting: set[str] = set()

    path: list[str] = []

    def place(name: str) -> None:
        if name in placed:
            return
        if name in visiting:
            cycle = [*path[path.index(name) :], name]
            raise EinderivError(
                f"where: the definitions are circular ({' -> '.join(cycle)}); define "
                f"'{name}' from the expression's symbols or from other intermediates"
            )
        visiting.add(name)
        path.append(name)
        for used in sorted(_names_in(str(where[name]))):
            if used == name:
                raise EinderivError(
                    f"where: '{name} = {where[name]}' uses '{name}' itself; an intermediate "
                    "cannot be defined in terms of itself (give the new value a new name)"
                )
            if used in where:
                place(used)
        path.pop()
        visiting.discard(name)
        placed.add(name)
        order.append((name, str(where[name])))

    for name in where:
        place(name)
    return order


class _Context:
    """Symbols and intermediates a claim may use, and how to parse text against them."""

    def __init__(self, f: Expr, extra: list[Symbol], where: Mapping[str, Any] | None) -> None:
        from .text import parse

        self.symbols: dict[str, Symbol] = dict(f.symbols())
        for sym in extra:
            self.symbols[sym.name] = sym
        self.spec = _spec(self.symbols)
        self.defs: dict[str, Expr] = {}
        self.lines: list[str] = []
        if where:
            for name in where:
                if not isinstance(name, str) or not name.isidentifier():
                    raise EinderivError(
                        f"where: {name!r} is not a valid name; use identifiers such as 'dz'"
                    )
                if name in self.symbols:
                    raise EinderivError(
                        f"where: '{name}' is already a symbol of the expression (or the "
                        "wrt/cotangent name); give the intermediate a new name"
                    )
            for name, text in _ordered_where(where):
                if isinstance(text, Expr):
                    self.defs[name] = text
                    continue
                program = "\n".join([*self.lines, f"{name} = {text}", name])
                try:
                    self.defs[name] = parse(program, shapes=self.spec)
                except ParseError as err:
                    if err.message.startswith("unknown name '"):
                        unknown = err.message.split("'")[1]
                        err.hint = (
                            f"{err.hint}; or, if '{unknown}' is another intermediate, define it "
                            f"in where too (CLI: --where '{unknown}=...')"
                        )
                        err.args = (err._render(),)
                    raise
                self.lines.append(f"{name} = {text}")
        self._parse = parse

    def parse(self, claim: str) -> Expr:
        """The claim's last line parsed after the intermediates' definitions.

        A :class:`ParseError` in the claim itself is reported against the claim's own
        text (line and column), not the program the intermediates are prepended to.
        """
        program = "\n".join([*self.lines, claim.strip()])
        try:
            return self._parse(program, shapes=self.spec)
        except ParseError as err:
            if err.line is not None and err.line > len(self.lines):
                err.text = claim.strip()
                err.line = err.line - len(self.lines)
                err.args = (err._render(),)
            raise


# -- numeric comparison ---------------------------------------------------------------


class _Sampler:
    """Random points (several draws) at which claims and the truth are compared."""

    def __init__(self, exprs: list[Expr], draws: int = 3) -> None:
        self.sizes = default_sizes(*exprs)
        merged: dict[str, Symbol] = {}
        for e in exprs:
            merged.update(e.symbols())
        self.points = []
        for seed in range(draws):
            rng = np.random.default_rng(1234 + seed)
            values = {}
            for name in sorted(merged):
                sym = merged[name]
                shape = tuple(1 if d == "1" else self.sizes[d] for d in sym.dims)
                value = rng.normal(size=shape)
                if sym.symmetric:
                    value = (value + value.T) / 2
                values[name] = value
            self.points.append(values)
        self._cache: dict[str, list[np.ndarray]] = {}

    def values(self, expr: Expr) -> list[np.ndarray] | None:
        if expr.key in self._cache:
            return self._cache[expr.key]
        missing = set(expr.symbols()) - set(self.points[0])
        if missing:
            rng = np.random.default_rng(99)
            for point in self.points:
                extra = random_values(expr, self.sizes, rng)
                for name in missing:
                    point[name] = extra[name]
        try:
            with np.errstate(all="ignore"):
                out = [np.asarray(expr.evaluate(p, sizes=self.sizes)) for p in self.points]
        except EinderivError:
            return None
        self._cache[expr.key] = out
        return out


def _close(a: list[np.ndarray], b: list[np.ndarray], rtol: float = 1e-7) -> tuple[bool, float]:
    worst = 0.0
    ok = True
    for x, y in zip(a, b, strict=True):
        if x.shape != y.shape:
            return False, float("inf")
        with np.errstate(all="ignore"):
            scale = max(float(np.max(np.abs(y))) if y.size else 0.0, 1e-12)
            err = float(np.max(np.abs(x - y))) if x.size else 0.0
        if not np.all(np.isfinite(x)) or err > rtol * scale + 1e-12:
            ok = False
        worst = max(worst, err / scale)
    return ok, worst


def _ratio(a: list[np.ndarray], b: list[np.ndarray]) -> float | None:
    """The constant c with a = c * b at every draw, if there is one."""
    num = sum(float(np.vdot(x, y)) for x, y in zip(a, b, strict=True))
    den = sum(float(np.vdot(y, y)) for y in b)
    if den == 0:
        return None
    c = num / den
    if _close([c * y for y in b], a, rtol=1e-7)[0]:
        return c
    return None


# -- rewriting the expected result with the user's names ------------------------------


def with_names(expr: Expr, defs: Mapping[str, Expr]) -> Expr:
    """Rewrite ``expr`` using intermediate names.

    A node equal to ``defs[name]`` (or an elementwise group of a product's factors equal
    to it) becomes ``Symbol(name)``.
    """
    ordered = sorted(defs.items(), key=lambda item: -len(topological(item[1])))
    for name, definition in ordered:
        if not definition.dims and isinstance(definition, Product) and not definition.factors:
            continue
        expr = _substitute(expr, definition, Symbol.make(name, definition.dims))
    return expr


def _substitute(expr: Expr, target: Expr, symbol: Symbol) -> Expr:
    done: dict[str, Expr] = {}
    for node in topological(expr):
        if node.key == target.key:
            done[node.key] = symbol
            continue
        done[node.key] = _rebuild_with(node, done, target, symbol)
    return done[expr.key]


def _rebuild_with(node: Expr, done: dict[str, Expr], target: Expr, symbol: Symbol) -> Expr:
    from .ir import Func, LogSumExp, MatFunc, Sum

    if isinstance(node, Product):
        factors = [(done[f.key], ls) for f, ls in node.factors]
        coeff = node.coeff
        if isinstance(target, Product):
            factors, coeff = _replace_group(factors, coeff, target, symbol)
        return make_product(coeff, factors, node.out, node.ldims, inline=False)
    if isinstance(node, Sum):
        return make_sum([done[t.key] for t in node.terms], node.dims)
    if isinstance(node, Func):
        return make_func(node.name, done[node.arg.key], node.param)
    if isinstance(node, MatFunc):
        return make_matfunc(node.name, done[node.arg.key])
    if isinstance(node, LogSumExp):
        return LogSumExp.make(done[node.arg.key], node.axes)
    return node


def _replace_group(factors, coeff, target: Product, symbol: Symbol):
    """Replace factors that together form the elementwise product ``target``."""
    if target.summed or len(set(target.out)) != len(target.out):
        return factors, coeff
    wanted = list(target.factors)
    if not wanted:
        return factors, coeff
    first, first_labels = wanted[0]
    for index, (factor, labels) in enumerate(factors):
        if factor.key != first.key:
            continue
        mapping = dict(zip(first_labels, labels, strict=True))
        if len(set(mapping.values())) != len(mapping):
            continue
        used = {index}
        ok = True
        for other, other_labels in wanted[1:]:
            mapped = tuple(mapping.get(x, -1) for x in other_labels)
            hit = next(
                (
                    k
                    for k, (f2, l2) in enumerate(factors)
                    if k not in used and f2.key == other.key and l2 == mapped
                ),
                None,
            )
            if hit is None:
                ok = False
                break
            used.add(hit)
        if not ok or any(x not in mapping for x in target.out):
            continue
        rest = [pair for k, pair in enumerate(factors) if k not in used]
        rest.append((symbol, tuple(mapping[x] for x in target.out)))
        return rest, coeff / target.coeff
    return factors, coeff


# -- mutations of the claim -----------------------------------------------------------


def _mutations(claim_line: str) -> list[tuple[str, str]]:
    """Single edits of the claim's expression: ``(mistake, edited text)`` pairs."""
    try:
        tree = ast.parse(claim_line.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    nodes = [n for n in ast.walk(tree)]
    transposed_names = {
        id(n.value) for n in nodes if isinstance(n, ast.Attribute) and n.attr == "T"
    }
    variants: list[tuple[str, str]] = []

    def emit(kind: str, new_tree: ast.AST) -> None:
        try:
            text = ast.unparse(new_tree)
        except Exception:  # pragma: no cover - unparse of our own trees
            return
        variants.append((kind, text))

    import copy

    for index, node in enumerate(nodes):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            swapped = copy.deepcopy(tree)
            target = [n for n in ast.walk(swapped)][index]
            target.left, target.right = target.right, target.left
            emit("wrong order", swapped)
            swapped_t = copy.deepcopy(tree)
            target = [n for n in ast.walk(swapped_t)][index]
            target.left, target.right = _transposed(target.right), _transposed(target.left)
            emit("wrong order", swapped_t)
            as_mul = copy.deepcopy(tree)
            target = [n for n in ast.walk(as_mul)][index]
            target.op = ast.Mult()
            emit("elementwise vs matrix product", as_mul)
        if (
            isinstance(node, ast.Call)
            and len(node.args) == 2
            and not node.keywords
            and ast.unparse(node.func).split(".")[-1] in ("outer", "matmul", "dot")
        ):
            swapped_args = copy.deepcopy(tree)
            target = [n for n in ast.walk(swapped_args)][index]
            target.args = [target.args[1], target.args[0]]
            emit("wrong order", swapped_args)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            as_mat = copy.deepcopy(tree)
            target = [n for n in ast.walk(as_mat)][index]
            target.op = ast.MatMult()
            emit("elementwise vs matrix product", as_mat)
        if isinstance(node, (ast.Name, ast.Call)) and id(node) not in transposed_names:
            toggled = copy.deepcopy(tree)
            _wrap_transpose(toggled, index)
            emit("missing transpose", toggled)
        if isinstance(node, ast.Attribute) and node.attr == "T":
            removed = copy.deepcopy(tree)
            _unwrap_transpose(removed, index)
            emit("extra transpose", removed)
    return variants


def _transposed(node: ast.expr) -> ast.expr:
    """``node.T``, or ``X`` when ``node`` is already ``X.T``."""
    if isinstance(node, ast.Attribute) and node.attr == "T":
        return node.value
    return ast.Attribute(value=node, attr="T", ctx=ast.Load())


def _wrap_transpose(tree: ast.AST, index: int) -> None:
    target = [n for n in ast.walk(tree)][index]
    for parent in ast.walk(tree):
        for fname, value in ast.iter_fields(parent):
            if value is target:
                setattr(parent, fname, ast.Attribute(value=target, attr="T", ctx=ast.Load()))
                return
            if isinstance(value, list):
                for k, item in enumerate(value):
                    if item is target:
                        value[k] = ast.Attribute(value=target, attr="T", ctx=ast.Load())
                        return


def _unwrap_transpose(tree: ast.AST, index: int) -> None:
    target = [n for n in ast.walk(tree)][index]
    for parent in ast.walk(tree):
        for fname, value in ast.iter_fields(parent):
            if value is target:
                setattr(parent, fname, target.value)
                return
            if isinstance(value, list):
                for k, item in enumerate(value):
                    if item is target:
                        value[k] = target.value
                        return


# -- the reason -----------------------------------------------------------------------


def index_reason(expr: Expr, name: str) -> str:
    """Two lines: the index form of ``expr`` and how the matrix order is read off it."""
    from .indexform import to_index

    text = to_index(expr)
    lhs, _, rhs = text.partition(" = ")
    subs = lhs[2:] if lhs.startswith("F_") else ""
    first = f"{name}_{subs} = {rhs}" if subs else f"{name} = {rhs}"
    second = _product_reason(expr) if isinstance(expr, Product) else ""
    if isinstance(expr, Symbol) and expr.dims:
        second = f"The result is {expr.name} itself, index for index."
    if not second and isinstance(expr, Sum):
        second = _sum_reason(expr)
    if not second:
        second = (
            "Each term is read off on its own: an index shared by two factors and absent from "
            "the result is summed (a matrix product), and the result's indices give its rows "
            "and columns."
            if isinstance(expr, Sum)
            else "Each summed index joins two factors; the surviving indices give the rows "
            "and columns."
        )
    return first + "\n" + second


def _sum_reason(expr: Sum) -> str:
    """Each term of a short sum with its index form and the matrix form it reads as."""
    from .indexform import to_index

    if len(expr.terms) > 4:
        return ""
    parts = []
    for term in expr.terms:
        index = to_index(term).partition(" = ")[2]
        matrix = _render(term)
        if len(index) > 60 or len(matrix) > 60:
            return ""
        parts.append(f"{index} is {matrix}")
    return "Each term is read off on its own: " + "; ".join(parts) + "."


def _factor_name(factor: Expr) -> str:
    """A factor's matrix form, in parentheses unless it is a name or a single call."""
    if isinstance(factor, Symbol):
        return factor.name
    text = _render(factor)
    head = text.split("(", 1)[0]
    if head and head.replace(".", "").replace("_", "").isalnum() and text.endswith(")"):
        depth = 0
        for pos, char in enumerate(text):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0 and char == ")":
                if pos == len(text) - 1:
                    return text
                break
    return f"({text})"


def _bare(text: str) -> str:
    """``text`` without the parentheses :func:`_factor_name` put around it."""
    return text[1:-1] if text.startswith("(") and _factor_name_wrapped(text) else text


def _factor_name_wrapped(text: str) -> bool:
    depth = 0
    for pos, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return pos == len(text) - 1
    return False


def _product_reason(expr: Product) -> str:
    """How one einsum term reads as matrix algebra, in words; '' when no rule fits."""
    from .indexform import OUT_LETTERS

    names = {label: OUT_LETTERS[pos] for pos, label in enumerate(expr.out)}
    factors = [(f, ls) for f, ls in expr.factors if not isinstance(f, Delta)]
    deltas = [ls for f, ls in expr.factors if isinstance(f, Delta)]
    if (
        len(deltas) == 1
        and len(expr.out) == 2
        and set(deltas[0]) == set(expr.out)
        and not expr.summed
        and factors
        and all(len(ls) == 1 for _, ls in factors)
    ):
        inner = " * ".join(_factor_name(f) for f, _ in factors)
        return (
            f"The delta δ_ab is zero unless a = b, so only the diagonal survives: a "
            f"diagonal matrix, np.diag({_bare(inner) if len(factors) == 1 else inner})."
        )
    if len(factors) != len(expr.factors) or not factors:
        return ""
    # Factors with the same labels multiply entry by entry: one group, one operand.
    groups: dict[tuple[int, ...], list[Expr]] = {}
    for f, ls in factors:
        groups.setdefault(tuple(ls), []).append(f)
    operands = [
        (" * ".join(_factor_name(f) for f in fs) if len(fs) == 1
         else "(" + " * ".join(_factor_name(f) for f in fs) + ")", ls)
        for ls, fs in groups.items()
    ]
    summed = expr.summed
    idx = "".join(names[label] for label in expr.out)
    if len(operands) == 1:
        (op, ls), hadamard = operands[0], len(groups[operands[0][1]]) > 1
        if not summed and ls == tuple(expr.out):
            if hadamard:
                return (
                    f"No index is summed and every factor carries the same indices ({idx}), "
                    "so the factors multiply entry by entry: an elementwise product (*), "
                    "not a matrix product (@)."
                )
            return f"The result is {op} itself, index for index ({op}_{idx})."
        if not summed and len(ls) == 2 and ls == tuple(reversed(expr.out)):
            return (
                f"The indices of {op} appear swapped ({op}_{idx[::-1]} in the result's "
                f"{idx}), so the result is its transpose, {op}.T."
            )
        if len(summed) == 1 and len(ls) == len(expr.out) + 1:
            axis = ls.index(summed[0])
            return (
                f"The summed index i appears in {op} only (its axis {axis}) and not in the "
                f"result, so it is summed out: {op}.sum(axis={axis})."
            )
        return ""
    if len(operands) == 2 and not summed and len(expr.out) == 2:
        (oa, la), (ob, lb) = operands
        if len(la) == 1 and len(lb) == 1:
            if la[0] != expr.out[0]:
                (oa, la), (ob, lb) = (ob, lb), (oa, la)
            return (
                f"No index is summed: the row index {names[la[0]]} comes only from {oa} and "
                f"the column index {names[lb[0]]} only from {ob}, so every pair of entries "
                f"multiplies: the outer product np.outer({_bare(oa)}, {_bare(ob)})."
            )
        return ""
    if len(operands) == 2 and len(summed) == 1 and len(expr.out) == 1:
        (fa, la), (fb, lb) = operands
        if len(la) == 1:
            (fa, la), (fb, lb) = (fb, lb), (fa, la)
        s, a = summed[0], expr.out[0]
        if len(la) == 2 and lb == (s,) and set(la) == {s, a}:
            if la.index(a) == 0:
                return (
                    f"The result's index {names[a]} is the row index of {fa} and the summed "
                    f"index i its column index, shared with {fb}, so it reads {fa} @ {fb}."
                )
            return (
                f"The result's index {names[a]} is the column index of {fa} and the summed "
                f"index i its row index, shared with {fb}, so it reads {fa}.T @ {fb}."
            )
        return ""
    if len(operands) == 2 and len(summed) == 1 and len(expr.out) == 2:
        (fa, la), (fb, lb) = operands
        if len(la) != 2 or len(lb) != 2:
            return ""
        s = summed[0]
        if expr.out[0] in lb:
            (fa, la), (fb, lb) = (fb, lb), (fa, la)
        if s not in la or s not in lb or expr.out[0] not in la or expr.out[1] not in lb:
            return ""
        pa = "column" if la.index(s) == 1 else "row"
        pb = "row" if lb.index(s) == 0 else "column"
        left = fa if la.index(s) == 1 else f"{fa}.T"
        right = fb if lb.index(s) == 0 else f"{fb}.T"
        return (
            f"The result's row index {names[expr.out[0]]} comes from {fa} and its column "
            f"index {names[expr.out[1]]} from {fb}; the summed index i is the {pa} index of "
            f"{fa} and the {pb} index of {fb}, so it reads {left} @ {right}."
        )
    return ""


# -- verify ---------------------------------------------------------------------------


def declare_sizes(f: Expr, x: Symbol) -> None:
    """Make ``f``'s own symbols where rendered sizes are read (``np.eye(A.shape[0])``).

    A result without symbols (the gradient of ``trace(A)`` is an identity) spells a dim's
    size through the most recently declared symbol with that dim, which may belong to an
    unrelated expression; declaring ``f``'s symbols again puts them first.
    """
    for sym in [x, *sorted(f.symbols().values(), key=lambda s: s.name, reverse=True)]:
        Symbol.make(sym.name, sym.dims, sym.symmetric, declare=True)


def expected_derivative(f: Expr, wrt: Any, cotangent: Any = None) -> Expr:
    """The derivative a claim is compared with: grad, vjp, or the full derivative."""
    if cotangent is not None:
        return vjp(f, wrt, cotangent)
    if not f.dims:
        return grad(f, wrt)
    return diff(f, wrt)


def verify(
    claim: str | Expr,
    f: Expr | str,
    wrt: Any,
    cotangent: Any = None,
    where: Mapping[str, Any] | None = None,
    *,
    shapes: Any = None,
) -> Verdict:
    """Judge ``claim`` as the derivative of ``f`` w.r.t. ``wrt`` (vjp with ``cotangent``).

    ``where`` names intermediates the claim uses (``{"dz": "da * (1 - a**2)"}``); a
    multi-line claim may define its own.  ``f`` may be text when ``shapes`` is given.
    """
    from .text import parse

    if isinstance(f, str):
        if shapes is None:
            raise EinderivError("verify: f is text, so pass shapes=... to declare its symbols")
        f = parse(f, shapes=shapes)
    x = resolve_wrt(f, wrt)
    declare_sizes(f, x)
    truth = expected_derivative(f, x, cotangent)
    extra = [x]
    if isinstance(cotangent, str):
        extra.append(Symbol.make(cotangent, f.dims))
    elif isinstance(cotangent, Symbol):
        extra.append(cotangent)
    if where is not None and not isinstance(where, Mapping):
        raise EinderivError(
            f"verify: where must be a dict of intermediates such as {{'dz': 'da * (1 - a**2)'}}, "
            f"got {type(where).__name__}"
        )
    all_where: dict[str, Any] = dict(where or {})
    claim_text: str | None = None
    if isinstance(claim, str):
        lines = [line for line in claim.replace(";", "\n").splitlines() if line.strip()]
        if not lines:
            raise EinderivError("verify: the claim is empty; write a formula such as 'W.T @ g'")
        all_where.update(_assignments(lines[:-1]))
        claim_text = _last_expression(lines)
    elif not isinstance(claim, Expr):
        raise EinderivError(
            f"verify: the claim must be text or an expression, got {type(claim).__name__}"
        )
    context = _Context(f, extra, all_where)
    result_name = _result_name(x, cotangent, set(context.symbols) | set(context.defs))
    named_truth = with_names(truth, context.defs)
    expected_text = _render(named_truth)
    reason = index_reason(named_truth, result_name)
    claimed: Expr | None
    shape_problem = ""
    if isinstance(claim, Expr):
        claimed = claim
    else:
        try:
            claimed = context.parse(claim_text or "")
        except ParseError as err:
            if not isinstance(err.__context__, (ShapeError, SubscriptError)):
                _unknown_name_hint(err, f, context, cotangent)
                raise
            claimed, shape_problem = None, err.message
    if claimed is None:
        sampler = _Sampler([truth])
        truth_values = sampler.values(truth)
        fixes = _single_edit_fixes(claim_text, context, truth, sampler, truth_values)
        mistakes = ["shape mismatch", *[kind for kind, _ in fixes if kind != "shape mismatch"]]
        fix = fixes[0][1] if fixes else None
        fix_text = f"\nFix: {fix}" if fix else ""
        note = _vector_t_note(claim_text, context)
        message = (
            f"Wrong: the claim's shapes do not fit ({shape_problem}).{note}\n"
            f"Correct: {result_name} = {expected_text}{fix_text}\nWhy: {reason}"
        )
        return Verdict(
            False,
            message,
            expected=expected_text,
            mistakes=tuple(dict.fromkeys(mistakes)),
            reason=reason,
            fix=fix,
            expected_shape=truth.dims,
            expected_expr=truth,
        )
    common = dict(
        expected=expected_text,
        reason=reason,
        claim_shape=claimed.dims,
        expected_shape=truth.dims,
        expected_expr=truth,
    )
    if claimed.dims != truth.dims:
        mistakes = ["shape mismatch"]
        hint = ""
        if tuple(reversed(claimed.dims)) == truth.dims and len(truth.dims) == 2:
            hint = " (the claim has the transposed shape)"
        sampler = _Sampler([truth])
        fixes = _single_edit_fixes(claim_text, context, truth, sampler, sampler.values(truth))
        mistakes += [kind for kind, _ in fixes if kind not in mistakes]
        fix = fixes[0][1] if fixes else None
        fix_text = f"\nFix: {fix}" if fix else ""
        hint += _jacobian_note(f, x, cotangent, claimed, truth, sampler)
        message = (
            f"Wrong: the claim has shape {_shape(claimed.dims)} but {result_name} must have shape "
            f"{_shape(truth.dims)}{hint}.{_vector_t_note(claim_text, context)}\n"
            f"Correct: {result_name} = {expected_text}{fix_text}\n"
            f"Why: {reason}"
        )
        return Verdict(False, message, mistakes=tuple(mistakes), fix=fix, **common)
    sampler = _Sampler([truth, claimed])
    truth_values = sampler.values(truth)
    claim_values = sampler.values(claimed)
    if truth_values is None or claim_values is None:
        raise EinderivError("verify: could not evaluate the claim or the derivative numerically")
    same, err = _close(claim_values, truth_values)
    symbolic = claimed == truth
    if same or symbolic:
        message = f"Correct: {result_name} = {expected_text}.\nWhy: {reason}"
        return Verdict(True, message, max_error=err, **common)
    mistakes, fix, detail = _diagnose(
        claimed, truth, claim_text, context, sampler, truth_values, claim_values
    )
    if not mistakes and _holds_if_symmetric(f, claimed, truth):
        mistakes.append("assumes symmetric")
    if not mistakes:
        normalized, sign = _holds_if_normalized(f, x, claimed, truth)
        if normalized:
            mistakes.extend(["wrong sign", "assumes normalized"] if sign < 0
                            else ["assumes normalized"])
            detail = (
                f"right only when {normalized} sums to 1 along its last axis, as a probability "
                "distribution or one-hot label does; the correct result holds for any "
                f"{normalized}"
            )
    explained = "; ".join(_describe(m) for m in mistakes) if mistakes else "it differs numerically"
    if detail:
        explained += f": {detail}"
    fix_text = f"\nFix: {fix}" if fix else ""
    note = _unused_definitions_note(claim_text, context, named_truth) if not mistakes else ""
    message = (
        f"Wrong: {explained} (max relative difference {err:.3g}).{note}\n"
        f"Correct: {result_name} = {expected_text}{fix_text}\nWhy: {reason}"
    )
    return Verdict(False, message, mistakes=tuple(mistakes), fix=fix, max_error=err, **common)


def _result_name(x: Symbol, cotangent: Any, taken: set[str] = frozenset()) -> str:
    """``dW`` for a vjp (``∂L/∂W`` when ``dW`` already names something), else ``∂f/∂W``."""
    if cotangent is None:
        return f"∂f/∂{x.name}"
    name = f"d{x.name}"
    return f"∂L/∂{x.name}" if name in taken else name


def _unknown_name_hint(err: ParseError, f: Expr, context: _Context, cotangent: Any) -> None:
    """Say how to fix an unknown name in a claim: a dim, a missing cotangent, a where."""
    prefix = "unknown name '"
    if not err.message.startswith(prefix):
        return
    name = err.message[len(prefix) :].split("'", 1)[0]
    dims = {d for sym in context.symbols.values() for d in sym.dims}
    if name in dims:
        owner, axis = next(
            (sym.name, sym.dims.index(name))
            for _, sym in sorted(context.symbols.items())
            if name in sym.dims
        )
        hint = (
            f"'{name}' is a dimension name, not a value; for its size write "
            f"{owner}.shape[{axis}], or use mean(...) instead of sum(...) / {name}"
        )
    elif cotangent is None and f.dims:
        hint = (
            f"the expression is not a scalar (dims {list(f.dims)}), so name the upstream "
            f"gradient: cotangent='{name}' (CLI: --cotangent {name}), or define '{name}' "
            f"with where={{'{name}': '...'}} (CLI: --where '{name}=...')"
        )
    else:
        close = f"{err.hint} Or, " if err.hint and err.hint.startswith("did you mean") else ""
        hint = (
            f"{close}if '{name}' is an intermediate, define it with where={{'{name}': '...'}} "
            f"(CLI: --where '{name}=...')"
        )
    err.hint = hint
    err.args = (err._render(),)


def _jacobian_note(f, x, cotangent, claimed: Expr, truth: Expr, sampler: _Sampler) -> str:
    """Why a full derivative has more axes than the claim, and what to check instead."""
    if cotangent is not None or len(truth.dims) <= len(claimed.dims) or not f.dims:
        return ""
    if len(truth.dims) == 2 and claimed.dims == truth.dims[:1] and truth.dims[0] == truth.dims[1]:
        a, b = sampler.values(claimed), sampler.values(truth)
        if a is not None and b is not None and _close(a, [np.diagonal(v) for v in b])[0]:
            c = _render(claimed)
            return (
                f": the claim is the Jacobian's diagonal; an elementwise function's Jacobian is "
                f"the diagonal matrix np.diag({c}), and its vjp is ({c}) * g"
            )
    return (
        f": the derivative of an expression with dims {list(f.dims)} with respect to "
        f"{x.name} (dims {list(x.dims)}) has both sets of axes; to check a backprop formula, "
        "name the upstream gradient with cotangent='g' (CLI: --cotangent g)"
    )


def _vector_t_note(claim_text: str | None, context: _Context) -> str:
    """A note when the claim transposes a 1-D vector, which numpy leaves unchanged."""
    if not claim_text:
        return ""
    try:
        tree = ast.parse(claim_text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "T"
            and isinstance(node.value, ast.Name)
        ):
            name = node.value.id
            known = context.symbols.get(name) or context.defs.get(name)
            if known is not None and len(known.dims) == 1:
                return (
                    f"\nNote: {name} is a 1-D vector, and {name}.T is the same vector (numpy "
                    "vectors have no row/column orientation); an outer product u v^T is "
                    f"np.outer(u, v)"
                )
    return ""


def _holds_if_normalized(f: Expr, x: Symbol, claimed: Expr, truth: Expr) -> tuple[str, int]:
    """A symbol whose rows summing to 1 make the claim right (up to the returned sign)."""
    for sym in sorted(f.symbols().values(), key=lambda s: s.name):
        if sym == x or not sym.dims or sym.dims[-1] == "1":
            continue
        sampler = _Sampler([truth, claimed])
        for point in sampler.points:
            if sym.name in point:
                value = np.abs(point[sym.name]) + 0.1
                point[sym.name] = value / value.sum(axis=-1, keepdims=True)
        a, b = sampler.values(claimed), sampler.values(truth)
        if a is None or b is None:
            continue
        if _close(a, b)[0]:
            return sym.name, 1
        if _close([-v for v in a], b)[0]:
            return sym.name, -1
    return "", 1


def _holds_if_symmetric(f: Expr, claimed: Expr, truth: Expr) -> bool:
    """Whether the claim is right once the square non-symmetric matrices are symmetric."""
    square = [
        s for s in f.symbols().values()
        if len(s.dims) == 2 and s.dims[0] == s.dims[1] and not s.symmetric
    ]
    if not square:
        return False
    sampler = _Sampler([truth, claimed])
    for point in sampler.points:
        for sym in square:
            if sym.name in point:
                value = point[sym.name]
                point[sym.name] = (value + value.T) / 2
    a, b = sampler.values(claimed), sampler.values(truth)
    return a is not None and b is not None and _close(a, b)[0]


def _unused_definitions_note(claim_text: str | None, context: _Context, named: Expr) -> str:
    """A hint when the claim uses an intermediate that the correct result does not."""
    if not claim_text:
        return ""
    used = _names_in(claim_text) & set(context.defs)
    present = set(named.symbols())
    missing = sorted(used - present)
    if not missing:
        return ""
    shown = "; ".join(
        line for line in context.lines if line.split("=", 1)[0].strip() in missing
    ) or ", ".join(missing)
    return (
        f"\nNote: the correct result does not contain your {shown}; check that definition "
        "(a claim built on a wrong intermediate is wrong even if its last line is right)"
    )


def _shape(dims: tuple[str, ...]) -> str:
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def _render(expr: Expr) -> str:
    try:
        return expr.to_numpy()
    except Exception:  # rendering must never hide the verdict
        return expr.to_einsum()


def _assignments(lines: list[str]) -> dict[str, str]:
    """``name = expression`` lines of a multi-line claim, as where entries."""
    found: dict[str, str] = {}
    for line in lines:
        try:
            tree = ast.parse(line.strip())
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            raise EinderivError(f"verify: cannot read the claim line {line.strip()!r}") from None
        stmt = tree.body[0] if tree.body else None
        if not (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
        ):
            raise EinderivError(
                f"verify: claim line {line.strip()!r} must be an assignment 'name = ...'; "
                "only the last line is the claimed result"
            )
        found[stmt.targets[0].id] = ast.unparse(stmt.value)
    return found


def _last_expression(lines: list[str]) -> str | None:
    if not lines:
        return None
    last = lines[-1].strip()
    try:
        tree = ast.parse(last)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return last  # parsing it again reports the syntax error with a caret
    if tree.body and isinstance(tree.body[0], ast.Assign):
        return ast.unparse(tree.body[0].value)
    return last


_DESCRIPTIONS = {
    "transposed": "the claim is the transpose of the correct result",
    "wrong order": "the operands of a matrix product are in the wrong order",
    "missing transpose": "a transpose is missing",
    "extra transpose": "a transpose is one too many",
    "wrong sign": "the sign is wrong",
    "wrong factor": "the claim is off by a constant factor",
    "missing term": "a term of the correct result is missing",
    "extra term": "the claim has a term too many",
    "elementwise vs matrix product": (
        "an elementwise product (*) and a matrix product (@) are mixed up"
    ),
    "assumes normalized": "the claim assumes a normalized input",
    "assumes symmetric": (
        "the claim holds only for symmetric matrices, and the expression does not declare "
        "its square matrices symmetric (declare one as A[n,n]:sym if it is)"
    ),
    "wrong sign in a term": "one term has the wrong sign",
    "wrong factor in a term": "one term is off by a constant factor",
}


def _describe(mistake: str) -> str:
    return _DESCRIPTIONS.get(mistake, mistake)


#: longest claim (characters) for which single-edit fixes are searched
_MAX_EDIT_CLAIM = 2000


def _single_edit_fixes(claim_text, context, truth, sampler, truth_values) -> list[tuple[str, str]]:
    """``(mistake, corrected text)`` for each single edit that makes the claim right."""
    found: list[tuple[str, str]] = []
    if claim_text is None or len(claim_text) > _MAX_EDIT_CLAIM:
        return found  # each edit re-parses the claim: quadratic (minutes) for long claims
    for kind, text in _mutations(claim_text):
        try:
            candidate = context.parse(text)
        except EinderivError:
            continue
        if candidate.dims != truth.dims:
            continue
        values = sampler.values(candidate)
        if values is not None and _close(values, truth_values)[0]:
            found.append((kind, text))
    found.sort(key=lambda item: (item[0] == "wrong order", len(item[1])))
    return found


def _diagnose(claimed, truth, claim_text, context, sampler, truth_values, claim_values):
    """``(mistakes, fix, detail)``: the named mistakes, a one-edit fix, the term at fault."""
    mistakes: list[str] = []
    fix = None
    detail = ""
    if len(truth.dims) == 2 and truth.dims[0] == truth.dims[1]:
        if _close([v.T for v in claim_values], truth_values)[0]:
            mistakes.append("transposed")
    if _close([-v for v in claim_values], truth_values)[0]:
        mistakes.append("wrong sign")
    elif not mistakes:
        c = _ratio(claim_values, truth_values)
        if c is not None and abs(c) > 1e-9 and abs(c - 1) > 1e-9:
            mistakes.append("wrong factor")
    # Single edits of the claim that make it right.
    for kind, text in _single_edit_fixes(claim_text, context, truth, sampler, truth_values):
        if kind not in mistakes:
            mistakes.append(kind)
        fix = fix or text
    # Missing or extra terms.
    if not mistakes and isinstance(truth, Sum):
        for term in truth.terms:
            term_values = sampler.values(term)
            if term_values is None:
                continue
            rest = [t - c for t, c in zip(truth_values, claim_values, strict=True)]
            if _close(rest, term_values)[0]:
                mistakes.append("missing term")
                detail = _render(term)
                break
            if _close(
                claim_values, [t + d for t, d in zip(truth_values, term_values, strict=True)]
            )[0]:
                mistakes.append("extra term")
                break
            # claim = truth + c * term: that term has the wrong sign (c = -2) or factor.
            c = _ratio(
                [cv - t for cv, t in zip(claim_values, truth_values, strict=True)], term_values
            )
            if c is not None and abs(c) > 1e-9:
                mistakes.append("wrong sign in a term" if abs(c + 2) < 1e-9 else
                                "wrong factor in a term")
                detail = _render(term)
                if abs(c + 2) >= 1e-9:
                    detail += f" (the claim has {1 + c:.3g} times it)"
                break
    if not mistakes and isinstance(claimed, Sum):
        for term in claimed.terms:
            term_values = sampler.values(term)
            if term_values is None:
                continue
            rest = [c - t for c, t in zip(claim_values, term_values, strict=True)]
            if _close(rest, truth_values)[0]:
                mistakes.append("extra term")
                detail = _render(term)
                break
    return mistakes, fix, detail
