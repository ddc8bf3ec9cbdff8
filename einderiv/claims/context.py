"""The context of a claim: declared symbols, where-intermediates, sampled values."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

import numpy as np

from einderiv.errors import EinderivError, ParseError
from einderiv.functions import symbol_domains
from einderiv.ir.nodes import (
    Expr,
    Func,
    LogSumExp,
    MatFunc,
    Product,
    Sum,
    Symbol,
    annotate,
    inputs_of,
    reannotate,
    unwrap,
)
from einderiv.ir.traversal import topological
from einderiv.rewrite.elementwise import make_func
from einderiv.rewrite.matrix import make_matfunc
from einderiv.rewrite.terms import make_product, make_sum
from einderiv.testing import default_sizes, random_values, sample
from einderiv.text.parser import parse

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


def names_in(text: str) -> set[str]:
    """The names a piece of program text reads or assigns (empty when it does not parse)."""
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
        for used in sorted(names_in(str(where[name]))):
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


class ClaimContext:
    """Symbols and intermediates a claim may use, and how to parse text against them."""

    def __init__(self, f: Expr, extra: list[Symbol], where: Mapping[str, Any] | None) -> None:
        self.symbols: dict[str, Symbol] = {sym.name: sym for sym in inputs_of(f)}
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


class Sampler:
    """Random points (several draws) at which claims and the truth are compared."""

    def __init__(self, exprs: list[Expr], draws: int = 3, *, domains_of: tuple = ()) -> None:
        """Draws for the symbols of ``exprs``, inside the domains of their functions.

        ``domains_of`` adds expressions whose functions restrict the values too (the
        function whose derivatives ``exprs`` are).
        """
        self.sizes = default_sizes(*exprs)
        merged: dict[str, Symbol] = {}
        for e in exprs:
            merged.update((sym.name, sym) for sym in inputs_of(e))
        # parts of these expressions are evaluated with their inputs (for sizes)
        self.inputs = tuple(merged.values())
        domains = symbol_domains(*exprs, *domains_of)  # arcsin(x): x inside (-1, 1)
        self.points = []
        for seed in range(draws):
            rng = np.random.default_rng(1234 + seed)
            values = {}
            for name in sorted(merged):
                sym = merged[name]
                shape = tuple(1 if d == "1" else self.sizes[d] for d in sym.dims)
                values[name] = sample(rng, shape, domains.get(name), symmetric=sym.symmetric)
            self.points.append(values)
        self._cache: dict[str, list[np.ndarray]] = {}

    def values(self, expr: Expr) -> list[np.ndarray] | None:
        """Values of ``expr`` at every draw, or None when it cannot be evaluated."""
        if expr.key in self._cache:
            return self._cache[expr.key]
        missing = set(expr.symbols()) - set(self.points[0])
        if missing:
            rng = np.random.default_rng(99)
            for point in self.points:
                extra = random_values(expr, self.sizes, rng)
                for name in missing:
                    point[name] = extra[name]
        whole = annotate(expr, self.inputs)
        try:
            with np.errstate(all="ignore"):
                out = [np.asarray(whole.evaluate(p, sizes=self.sizes)) for p in self.points]
        except EinderivError:
            return None
        self._cache[expr.key] = out
        return out


def values_close(
    a: list[np.ndarray], b: list[np.ndarray], rtol: float = 1e-7
) -> tuple[bool, float]:
    """Whether two lists of draws agree to ``rtol``, and their largest relative difference."""
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


def relative_ratio(a: list[np.ndarray], b: list[np.ndarray]) -> float | None:
    """The constant c with a = c * b at every draw, if there is one."""
    num = sum(float(np.vdot(x, y)) for x, y in zip(a, b, strict=True))
    den = sum(float(np.vdot(y, y)) for y in b)
    if den == 0:
        return None
    c = num / den
    if values_close([c * y for y in b], a, rtol=1e-7)[0]:
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
        expr = substitute(expr, definition, Symbol.make(name, definition.dims))
    return expr


def substitute(expr: Expr, target: Expr, symbol: Symbol) -> Expr:
    """``expr`` with every occurrence of ``target`` replaced by ``symbol``."""
    target = unwrap(target)
    done: dict[str, Expr] = {}
    for node in topological(expr):
        if node.key == target.key:
            done[node.key] = symbol
            continue
        done[node.key] = rebuild_with(node, done, target, symbol)
    return reannotate(expr, done[unwrap(expr).key])


def render_expected(expr: Expr, root: Expr | None = None) -> str:
    """The matrix form of ``expr``, or its einsum form when it has none.

    ``expr`` may be a part of ``root``: its sizes then come from ``root``'s inputs.
    """
    if root is not None:
        expr = annotate(expr, inputs_of(root))
    try:
        return expr.to_numpy()
    except Exception:  # rendering must never hide the verdict
        return expr.to_einsum()


def rebuild_with(node: Expr, done: dict[str, Expr], target: Expr, symbol: Symbol) -> Expr:
    """``node`` rebuilt from rebuilt children ``done``, with ``target`` replaced by ``symbol``."""
    if isinstance(node, Product):
        factors = [(done[f.key], ls) for f, ls in node.factors]
        coeff = node.coeff
        if isinstance(target, Product):
            factors, coeff = _replace_group(factors, coeff, target, symbol)
        return make_product(coeff, factors, node.out, node.ldims, inline=False)
    if isinstance(node, Sum):
        return make_sum([done[t.key] for t in node.terms], node.dims)
    if isinstance(node, Func):
        return make_func(node.name, [done[a.key] for a in node.args], node.param)
    if isinstance(node, MatFunc):
        return make_matfunc(node.name, [done[a.key] for a in node.args])
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
