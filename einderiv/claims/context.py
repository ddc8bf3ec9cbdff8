"""The context of a claim: declared symbols, where-intermediates, sampled values."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

import numpy as np

from einderiv.build.symbols import symbols
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
from einderiv.sampling import domain_ranges, domain_values
from einderiv.testing import DEFAULT_SIZES, default_sizes, sample
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


def _ordered_where(where: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """``where`` entries in dependency order (an entry after the ones it uses).

    Iterative (a chain of thousands of entries in any order is fine); each entry's text
    is read once.
    """
    uses = {
        name: sorted(names_in(text)) if isinstance(text, str) else []
        for name, text in where.items()
    }
    order: list[tuple[str, str]] = []
    placed: set[str] = set()
    for root in where:
        if root in placed:
            continue
        path: list[str] = [root]  # the entries being placed, outermost first
        pending = [iter(uses[root])]
        on_path = {root}
        while pending:
            used = next(pending[-1], None)
            name = path[-1]
            if used is None:  # every dependency of ``name`` is placed
                pending.pop()
                path.pop()
                on_path.discard(name)
                placed.add(name)
                order.append((name, where[name]))
                continue
            if used == name:
                raise EinderivError(
                    f"where: '{name} = {where[name]}' uses '{name}' itself; an intermediate "
                    "cannot be defined in terms of itself (give the new value a new name)"
                )
            if used not in where or used in placed:
                continue
            if used in on_path:
                cycle = [*path[path.index(used) :], used]
                raise EinderivError(
                    f"where: the definitions are circular ({' -> '.join(cycle)}); define "
                    f"'{used}' from the expression's symbols or from other intermediates"
                )
            path.append(used)
            on_path.add(used)
            pending.append(iter(uses[used]))
    return order


class ClaimContext:
    """Symbols and intermediates a claim may use, and how to parse text against them.

    Each ``where`` definition is parsed once, in dependency order, reading the ones it
    uses as already-built intermediates (``parse(..., names=...)``), so a chain of
    definitions costs what its text costs.
    """

    def __init__(self, f: Expr, extra: list[Symbol], where: Mapping[str, Any] | None) -> None:
        self.symbols: dict[str, Symbol] = {sym.name: sym for sym in inputs_of(f)}
        for sym in extra:
            self.symbols[sym.name] = sym
        self.spec = _spec(self.symbols)
        if self.spec:
            symbols(self.spec)  # declare them once, as parsing the spec did each time
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
                if not isinstance(text, str):
                    raise EinderivError(
                        f"where['{name}'] must be text such as 'da * (1 - a**2)' or an "
                        f"expression, got {type(text).__name__}"
                    )
                try:
                    self.defs[name] = self.parse_text(text)
                except ParseError as err:
                    if err.message.startswith("unknown name '"):
                        unknown = err.message.split("'")[1]
                        err.hint = (
                            f"{err.hint}; or, if '{unknown}' is another intermediate, define it "
                            f"in where too (CLI: --where '{unknown}=...')"
                        )
                    err.message = f"where '{name}': {err.message}"
                    err.args = (err._render(),)
                    raise
                self.lines.append(f"{name} = {text}")

    def parse_text(
        self,
        text: str,
        names: Mapping[str, Expr] | None = None,
        defs: Mapping[str, Expr] | None = None,
    ) -> Expr:
        """``text`` parsed with the symbols, the intermediates it uses and ``names``.

        ``defs`` stands in for the intermediates (their :meth:`placeholders`).
        """
        defs = self.defs if defs is None else defs
        known = {n: defs[n] for n in names_in(text) if n in defs}
        if names:
            known.update(names)
        return parse(text.strip(), shapes=self.symbols, names=known)

    def parse(self, claim: str) -> Expr:
        """The claim's last line parsed with the intermediates' definitions.

        A :class:`ParseError` in the claim is reported against the claim's own text.
        """
        return self.parse_text(claim)

    def placeholders(self) -> dict[str, Symbol]:
        """A symbol for each intermediate, named and shaped like it (for numeric work)."""
        return {name: Symbol.make(name, e.dims) for name, e in self.defs.items()}


# -- numeric comparison ---------------------------------------------------------------


#: most entries verify evaluates in one tensor at its sample sizes
MAX_SAMPLE_ENTRIES = 2_000_000


class Sampler:
    """Random points (several draws) at which claims and the truth are compared.

    Values are standard normal; when the first expression (the truth) or another one
    given is not finite there (``sqrt`` of a negative draw), the symbols under functions
    of restricted domain are drawn in their domain instead (:mod:`einderiv.sampling`).
    """

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
                self._check(sym.dims)
                values[name] = sample(rng, shape, domains.get(name), symmetric=sym.symmetric)
            self.points.append(values)
        self._cache: dict[str, list[np.ndarray]] = {}
        self._in_domain(exprs)

    def _in_domain(self, exprs: list[Expr]) -> None:
        """Redraw the restricted symbols in their domain if an expression is not finite."""
        restricted = [e for e in exprs if domain_ranges(e)]
        if not restricted:
            return
        for e in exprs:
            values = self.values(e)
            if values is not None and not all(np.all(np.isfinite(v)) for v in values):
                break
        else:
            return
        for seed, point in enumerate(self.points):
            rng = np.random.default_rng(4321 + seed)
            for e in restricted:
                for name, value in domain_values(e, self.sizes, rng).items():
                    point[name] = value
        self._cache.clear()

    def _size_for(self, expr: Expr) -> None:
        """Give every dim of ``expr`` a size (distinct from the others where possible)."""
        for node in topological(expr):
            for dim in node.dims:
                if dim != "1" and dim not in self.sizes:
                    taken = set(self.sizes.values())
                    self.sizes[dim] = next(
                        (k for k in DEFAULT_SIZES if k not in taken),
                        DEFAULT_SIZES[len(self.sizes) % len(DEFAULT_SIZES)],
                    )
            self._check(node.dims)

    def _check(self, dims: tuple[str, ...]) -> None:
        """Refuse a tensor too big to sample (numpy's 64 axes, or too many entries)."""
        entries = 1
        for dim in dims:
            entries *= 1 if dim == "1" else self.sizes[dim]
        if entries > MAX_SAMPLE_ENTRIES or len(dims) > 32:
            shown = ", ".join(f"{d}={self.sizes[d]}" for d in dims[:8] if d != "1")
            more = ", ..." if len(dims) > 8 else ""
            count = f"{entries:,}" if entries < 10**12 else f"about 10^{len(str(entries)) - 1}"
            raise EinderivError(
                f"verify: a tensor of {len(dims)} dims in this comparison has {count} entries "
                f"at the small sizes verify samples ({shown}{more}), more than the "
                f"{MAX_SAMPLE_ENTRIES:,} (or 32 axes) it evaluates; check the formula on a "
                "smaller instance (fewer dims), or compare a vjp (cotangent=...) instead of a "
                "full derivative"
            )

    def bind(self, name: str, values: list[np.ndarray]) -> None:
        """Give the symbol ``name`` these values, one per draw (an intermediate's values)."""
        for point, value in zip(self.points, values, strict=True):
            point[name] = value

    def values(self, expr: Expr) -> list[np.ndarray] | None:
        """Values of ``expr`` at every draw, or None when it cannot be evaluated."""
        if expr.key in self._cache:
            return self._cache[expr.key]
        self._size_for(expr)
        missing = sorted(set(expr.symbols()) - set(self.points[0]))
        if missing:
            rng = np.random.default_rng(99)
            syms = expr.symbols()
            for point in self.points:
                for name in missing:
                    sym = syms[name]
                    shape = tuple(1 if d == "1" else self.sizes[d] for d in sym.dims)
                    value = rng.normal(size=shape)
                    point[name] = (value + value.T) / 2 if sym.symmetric else value
        whole = annotate(expr, self.inputs)  # a part of the truth: sizes from its inputs
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
    defs = {name: unwrap(definition) for name, definition in defs.items()}
    heights = _heights(list(defs.values()))
    def outer_first(item: tuple[str, Expr]) -> tuple[int, int]:
        node = item[1]  # a product whose factors include another's factors comes first too
        return -heights[node.key], -(len(node.factors) if isinstance(node, Product) else 0)

    ordered = sorted(defs.items(), key=outer_first)
    present = {node.key for node in topological(expr)}
    for name, definition in ordered:
        if not definition.dims and isinstance(definition, Product) and not definition.factors:
            continue
        if definition.key not in present and not (
            isinstance(definition, Product)
            and definition.factors
            and all(f.key in present for f, _ in definition.factors)
        ):
            continue  # it cannot occur in expr, not even as a group of a product's factors
        renamed = substitute(expr, definition, Symbol.make(name, definition.dims))
        if renamed is not expr:
            expr = renamed
            present = {node.key for node in topological(expr)}
    return expr


def _heights(roots: list[Expr]) -> dict[str, int]:
    """The height of every node under ``roots`` (a leaf is 0): one pass over the shared DAG.

    A node that contains another is higher than it, so sorting by height puts every
    definition before the ones inside it.
    """
    height: dict[str, int] = {}
    for root in roots:
        stack: list[tuple[Expr, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if node.key in height:
                continue
            if expanded:
                height[node.key] = 1 + max((height[c.key] for c in node.children), default=-1)
                continue
            stack.append((node, True))
            stack.extend((c, False) for c in node.children if c.key not in height)
    return height


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
