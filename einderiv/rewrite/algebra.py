"""Elementwise algebra: a normal form of rational functions over atoms, run over DAG islands.

Contract: :func:`normalize` returns an expression equal to its argument wherever that is
defined, whose DAG is never larger (by :class:`Costs`), with the elementwise algebra of
every *island* in normal form.  It runs at the end of every derivative
(:func:`einderiv.rewrite.passes.finish`, before ``flatten_single_use``) and in
``ed.simplify``.

*Islands.*  An island is a maximal part of the DAG that is elementwise over one index
space: sums, products that sum over nothing
(:func:`~einderiv.rewrite.identities.is_elementwise_product`, broadcasts and transposes
included) and integer powers.  Everything else is an *atom* of the island, taken at the
labels it is used with: a symbol, a contraction (``X @ w``), a function (``σ(u)``,
``tanh(u)``, ``exp(u)``, whose arguments are islands of their own), a ``logsumexp``, a
``det``, a dimension size, ``x`` of ``x**0.5`` (with exponent 0.5).  A node used more than
once in the DAG, and a node more than :data:`ISLAND_DEPTH` levels deep, is normalized on
its own and is an atom of the islands above it.

*Canonical representation.*  In an island an expression is a polynomial over atoms: a map
from monomials (sorted ``(base, exponent)`` pairs) to coefficients, where powers of one
base add (``s / s = 1``).  A sum that a monomial divides by, or that multiplies other
factors in the kept form, is a base of its own (a *sum base*: content and common factors
pulled out, sign fixed), and ``1 - σ(v)`` is the atom ``σ(-v)``, so
``(1 - s)**-1 * (1 - s)`` cancels by adding exponents.

*Two forms, read back factored.*  The kept form multiplies out only by constants (or where
a monomial divides by a sum); the expanded form distributes products over sums up to
:data:`LIMIT` terms, follows small shared sums in, and eliminates ``σ(-u) = 1 - σ(u)``
where that removes terms.  In both, the ``exp`` atoms of a monomial join where the joint
argument is shorter.  Each is read back with common factors pulled out (the base shared by
most terms first) and sums of contractions factored (:mod:`einderiv.rewrite.factoring`);
the kept form replaces the original when it is smaller, the expanded form when it is below
:data:`EXPANDED_GAIN` of the best.  Shared nodes cost nothing, so a rewrite that would copy
one into its users is kept only where it makes the island smaller: results stay linear in
the depth of a composition.  A contraction whose summand's terms cancel is split
(:func:`distribute_contraction`: ``Σ_i (x_i - mean(x)) = 0``).

>>> import einderiv as ed
>>> from einderiv.rewrite import normalize
>>> X, w, y = ed.symbols("X[n,d] w[d] y[n]")
>>> s = ed.sigmoid(X @ w)
>>> normalize((1 - y) * s - y * (1 - s)) == s - y
True
>>> normalize(s / s * y) == y
True
"""

from __future__ import annotations

from einderiv.ir.nodes import (
    Expr,
    Func,
    Product,
    Size,
    Sum,
    constant,
    zero,
)
from einderiv.rewrite.elementwise import make_func
from einderiv.rewrite.factoring import factor_sum
from einderiv.rewrite.identities import is_elementwise_product, negate, split_sign
from einderiv.rewrite.polynomials import (
    Base,
    Mono,
    Poly,
    add_term,
    common_factor,
    has_base,
    mono_mul,
    mono_pow,
    most_common_base,
    mostly_negative,
    poly_key,
    poly_mul,
    substitute_base,
)
from einderiv.rewrite.powers import make_pow
from einderiv.rewrite.record import active, record
from einderiv.rewrite.terms import make_product, make_sum

#: most terms an expansion may reach before a sum is kept as one base
LIMIT = 16
#: most terms of a node used more than once that an expansion may copy into a user
SHARED_LIMIT = 4
#: the expanded form replaces the kept one only below this fraction of its size
EXPANDED_GAIN = 0.85
#: the deepest island (in nested sums and products) normalized as one
ISLAND_DEPTH = 32
#: most terms of a polynomial read back with common factors searched (and expanded at all)
BIG = 64


# -- the island context ----------------------------------------------------------------


class Island:
    """Conversion of an island to polynomials and back, over one label space."""

    def __init__(self, ldims: dict[int, str], shared: set[str], cost: Costs | None = None):
        self.ldims = ldims
        self.shared = shared
        self.cost = cost if cost is not None else Costs()
        self.nodes: dict[str, Expr] = {}
        self.sums: dict[Base, Poly] = {}
        #: -1 for a sum base whose first occurrence was the negated sum (read back so)
        self.orient: dict[Base, int] = {}
        self.memo: dict[tuple, Poly] = {}
        self.fired: set[str] = set()
        self.present: set[tuple[str, tuple[int, ...]]] = set()
        #: True once a sum was held as a base or a shared sum as an atom (expanding may differ)
        self.held = False
        #: True once a polynomial grew beyond BIG terms (the expanded form is not tried)
        self.big = False
        self.depth = 0
        #: atoms σ(-v) that stand for a sum 1 - σ(v) of the input, by key: the key of σ(v)
        self.disguised: dict[str, str] = {}

    # -- IR -> polynomial -------------------------------------------------------------
    def atom(self, node: Expr, labels: tuple[int, ...]) -> Poly:
        """``node`` as an atom at ``labels``; ``x**0.5`` is the atom ``x`` to the power 0.5."""
        exponent = 1.0
        if isinstance(node, Func) and node.name == "pow" and node.param is not None:
            if not composite(node.arg):
                exponent = float(node.param)
                node = node.arg
        self.nodes[node.key] = node
        return {((("a", node.key, labels), exponent),): 1.0}

    def poly(self, node: Expr, labels: tuple[int, ...], expand: bool, top: bool = False) -> Poly:
        """The polynomial of ``node`` used at ``labels`` of the island's space."""
        memo_key = (node.key, labels, expand, top)
        found = self.memo.get(memo_key)
        if found is not None:
            return found
        result = self._poly(node, labels, expand, top)
        self.memo[memo_key] = result
        return result

    def _poly(self, node: Expr, labels: tuple[int, ...], expand: bool, top: bool) -> Poly:
        if not composite(node):
            return self.atom(node, labels)
        shared = not top and node.key in self.shared and bool(node.children)  # not constants
        if shared and (not expand or self.depth >= ISLAND_DEPTH):
            self.held = True
            return self.atom(node, labels)
        self.depth += 1
        try:
            result = self._composite(node, labels, expand)
        finally:
            self.depth -= 1
        if len(result) > BIG:
            self.big = True
        if shared and len(result) > SHARED_LIMIT:
            return self.atom(node, labels)
        return result

    def _composite(self, node: Expr, labels: tuple[int, ...], expand: bool) -> Poly:
        if isinstance(node, Sum):
            result: Poly = {}
            added = 0
            for term in node.terms:
                part = self.poly(term, labels, expand)
                added += len(part)
                for mono, c in part.items():
                    add_term(result, mono, c)
            if len(result) < added:
                self.fired.add("collect like terms")
        elif isinstance(node, Product):
            mapping = dict(zip(node.out, labels, strict=True))
            result = {(): node.coeff}
            for factor, factor_labels in node.factors:
                q = self.poly(factor, tuple(mapping[x] for x in factor_labels), expand)
                result = self.multiply(result, q, expand)
                if not result:
                    break
        else:
            assert isinstance(node, Func) and node.param is not None
            result = self.power(node, labels, expand)
        return result

    def multiply(self, p: Poly, q: Poly, expand: bool) -> Poly:
        """The product of two polynomials; with ``expand`` sums distribute (up to the limit)."""
        if len(p) > 1 and len(q) > 1:
            if expand and len(p) * len(q) <= LIMIT:
                self.fired.add("distribute")
            elif expand:
                if len(p) >= len(q):
                    p = self.freeze(p)
                else:
                    q = self.freeze(q)
                if len(p) * len(q) > LIMIT:
                    p, q = self.freeze(p), self.freeze(q)
            else:
                p, q = self.freeze(p), self.freeze(q)
        elif len(p) == 1 and len(q) > 1 or len(q) == 1 and len(p) > 1:
            # a sum times a monomial: kept as a product of the sum (the kept form), or
            # as a sum base when the monomial divides by that sum (or the atom it is)
            (mono,), many = (p, q) if len(p) == 1 else (q, p)
            if mono and (not expand or any(e < 0 for _, e in mono)):
                frozen = self.freeze(many)
                if not expand or self._cancels(mono, next(iter(frozen))):
                    p, q = (p, frozen) if len(p) == 1 else (frozen, q)
        if any(self._cancels(m1, m2) for m1 in p for m2 in q):
            self.fired.add("cancel powers")
        product = poly_mul(p, q)
        if len(product) < len(p) * len(q):
            self.fired.add("collect like terms")
        return product

    @staticmethod
    def _cancels(m1: Mono, m2: Mono) -> bool:
        if not m1 or not m2:
            return False
        bases = dict(m1)
        return any(base in bases and bases[base] * e < 0 for base, e in m2)

    def power(self, node: Func, labels: tuple[int, ...], expand: bool) -> Poly:
        """``arg ** p`` for an integer ``p`` (a sum is expanded, or kept as one base)."""
        p = int(node.param)  # type: ignore[arg-type]
        base = self.poly(node.arg, labels, expand)
        if not base:
            return {} if p > 0 else self.atom(node, labels)
        if len(base) > 1:
            if p > 0 and expand and len(base) ** p <= LIMIT:
                result: Poly = {(): 1.0}
                for _ in range(p):
                    result = poly_mul(result, base)
                self.fired.add("distribute")
                return result
            base = self.freeze(base)
        ((mono, c),) = base.items()
        return {mono_pow(mono, p): c**p}

    def freeze(self, poly: Poly) -> Poly:
        """``poly`` as one monomial: content and common factors times a sum base."""
        if len(poly) <= 1:
            return poly
        common, content, rest = common_factor(poly, signed=True)
        flipped = rest[min(rest)] < 0
        if flipped:
            content = -content
            rest = {m: -c for m, c in rest.items()}
        self.held = True
        disguised = self.disguise(rest)
        if disguised is not None:
            self.fired.add("sigmoid complement")
            return {mono_mul(common, disguised): content}
        base: Base = ("s", poly_key(rest))
        self.sums[base] = rest
        self.orient.setdefault(base, -1 if flipped else 1)
        return {mono_mul(common, ((base, 1.0),)): content}

    def disguise(self, poly: Poly) -> Mono | None:
        """The monomial of an atom that the sum ``poly`` is: ``1 - σ(v)`` is ``σ(-v)``."""
        if len(poly) != 2 or poly.get(()) != 1.0:
            return None
        ((mono, c),) = [(m, c) for m, c in poly.items() if m]
        if c != -1.0 or len(mono) != 1 or mono[0][1] != 1.0 or mono[0][0][0] != "a":
            return None
        _, key, labels = mono[0][0]
        node = self.nodes[key]
        if not (isinstance(node, Func) and node.name == "sigmoid"):
            return None
        other = make_func("sigmoid", negate(node.arg))
        self.nodes[other.key] = other
        if other.key not in self.disguised and key not in self.disguised:
            self.disguised[other.key] = key
        return ((("a", other.key, labels), 1.0),)

    # -- σ(u) + σ(-u) = 1 -------------------------------------------------------------
    def sigmoid_pairs(self, poly: Poly) -> Poly:
        """Eliminate ``σ(-u)`` (or ``σ(u)``) by ``σ(-u) = 1 - σ(u)`` where that removes terms."""
        pairs: dict[tuple[str, tuple[int, ...]], dict[int, Base]] = {}
        for mono in poly:
            for base, e in mono:
                if base[0] != "a" or e <= 0:
                    continue
                node = self.nodes[base[1]]
                if isinstance(node, Func) and node.name == "sigmoid":
                    sign, u = split_sign(node.arg)
                    pairs.setdefault((u.key, base[2]), {})[sign] = base
        for _, found in sorted(pairs.items()):
            if len(found) != 2:
                continue
            best = poly
            for drop, keep in ((found[-1], found[1]), (found[1], found[-1])):
                candidate = substitute_base(poly, drop, {(): 1.0, ((keep, 1.0),): -1.0})
                if candidate is not None and len(candidate) < len(best):
                    best = candidate
            if best is not poly:
                self.fired.add("sigmoid complement")
                poly = best
        return poly

    # -- exp(a) * exp(b) = exp(a + b) -------------------------------------------------
    def combine_exps(self, poly: Poly) -> Poly:
        """Join the ``exp`` atoms of a monomial where the joint argument is shorter.

        ``exp(u) / exp(u - v)`` becomes ``exp(v)``, ``exp(u) * exp(-u)`` becomes 1, and
        ``exp(logsumexp(u)) * softmax(u)`` becomes ``exp(u)``.
        """
        out: Poly = {}
        changed = False
        for mono, c in poly.items():
            members = [
                (base, e) for base, e in mono
                if base[0] == "a"
                and isinstance(self.nodes[base[1]], Func)
                and self.nodes[base[1]].name == "exp"  # type: ignore[attr-defined]
            ]
            if len(members) < 2:
                add_term(out, mono, c)
                continue
            union = tuple(sorted({label for base, _ in members for label in base[2]}))
            dims = tuple(self.ldims[label] for label in union)
            parts: list[Expr] = []
            old = 0
            for base, e in members:
                arg = self.nodes[base[1]].arg  # type: ignore[attr-defined]
                old += self.cost.below(arg)
                for term in arg.terms if isinstance(arg, Sum) else (arg,):
                    parts.append(make_product(e, [(term, base[2])], union, self.ldims))
            total = make_sum(parts, dims)
            if self.cost.below(total) >= old:
                add_term(out, mono, c)
                continue
            joined = dict(mono)
            for base, _ in members:
                del joined[base]
            together = make_func("exp", total)
            if isinstance(together, Product) and not together.factors:
                c *= together.coeff
            else:
                self.nodes[together.key] = together
                key = ("a", together.key, union)
                joined[key] = joined.get(key, 0.0) + 1.0
            changed = True
            add_term(out, tuple(sorted(joined.items())), c)
        if changed:
            self.fired.add("exp product")
            return out
        return poly

    # -- polynomial -> IR -------------------------------------------------------------
    def support(self, poly: Poly) -> set[int]:
        """The labels a polynomial's atoms carry."""
        labels: set[int] = set()
        for mono in poly:
            for base, _ in mono:
                labels |= self.base_support(base)
        return labels

    def base_support(self, base: Base) -> set[int]:
        """The labels a base carries (an atom's own, or its sum's)."""
        if base[0] == "a":
            return set(base[2])
        return self.support(self.sums[base])

    def note_present(self, poly: Poly) -> None:
        """Remember the bases a polynomial uses (what reading it back may name)."""
        for mono in poly:
            for base, _ in mono:
                if base[0] == "a":
                    node = self.nodes[base[1]]
                    if isinstance(node, Func) and node.name == "sigmoid":
                        self.present.add((node.key, base[2]))
                else:
                    self.note_present(self.sums[base])

    def realize(self, poly: Poly, space: tuple[int, ...]) -> Expr:
        """The IR of ``poly`` over the labels ``space``, common factors pulled out."""
        dims = tuple(self.ldims[label] for label in space)
        if not poly:
            return zero(dims)
        support = self.support(poly)
        if support != set(space):
            inner_space = tuple(label for label in space if label in support)
            inner = self.realize(poly, inner_space)
            return make_product(1.0, [(inner, inner_space)], space, self.ldims, inline=False)
        if len(poly) == 1:
            ((mono, c),) = poly.items()
            return make_product(c, self.factors(mono), space, self.ldims, inline=False)
        common, content, rest = common_factor(poly, signed=False)
        if common or content != 1.0:
            self.fired.add("common factor")
            if mostly_negative(rest):
                content, rest = -content, {m: -c for m, c in rest.items()}
            inner = self.realize(rest, space)
            return make_product(
                content, [*self.factors(common), (inner, space)], space, self.ldims, inline=False
            )
        split = most_common_base(poly) if len(poly) <= BIG else None
        if split is not None:
            base, sign = split
            with_base = {m: c for m, c in poly.items() if has_base(m, base, sign)}
            without = {m: c for m, c in poly.items() if not has_base(m, base, sign)}
            return make_sum([self.realize(with_base, space), self.realize(without, space)], dims)
        terms = [
            make_product(c, self.factors(m), space, self.ldims, inline=False)
            for m, c in poly.items()
        ]
        factored = factor_sum(terms, dims, self.tidy)
        if factored is not None:
            self.fired.add("matrix common factor")
            return factored
        return make_sum(terms, dims)

    def settled(self, poly: Poly) -> bool:
        """True when reading ``poly`` back would only rebuild it.

        That is one term, or terms that share no factor, not even inside a contraction
        (nothing for the common factors or the matrix factoring to pull out).
        """
        if len(poly) <= 1:
            return bool(poly)
        seen: set[str] = set()
        for mono in poly:
            keys = {key for base, _ in mono for key in (
                (repr(base),) if base[0] == "s" else leaves(self.nodes[base[1]])
            )}
            if keys & seen:
                return False
            seen |= keys
        return True

    def tidy(self, node: Expr) -> Expr:
        """The normal form of a sum that factoring built (an island of its own)."""
        if not composite(node):
            return node
        if isinstance(node, Sum) and all(atom_like(term) for term in node.terms):
            return node  # a sum of (scaled, transposed) atoms that factoring looked at
        return normalize_island(node, self.shared, self.cost)

    def factors(self, mono: Mono) -> list[tuple[Expr, tuple[int, ...]]]:
        """The factors of ``mono``; a sum base reads back in the sign it came in with."""
        result: list[tuple[Expr, tuple[int, ...]]] = []
        for base, e in mono:
            node, labels = self.base_node(base)
            result.append((make_pow(node, e), labels))
            if self.orient.get(base) == -1 and int(e) % 2:
                result.append((constant(-1.0), ()))
        return result

    def base_node(self, base: Base) -> tuple[Expr, tuple[int, ...]]:
        """The IR node of a base and the labels it is used with."""
        if base[0] == "a":
            node = self.nodes[base[1]]
            labels = base[2]
            complement = self.disguised.get(node.key)
            if complement is not None and (complement, labels) in self.present:
                other = self.nodes[complement]
                one = constant(1.0, node.dims)
                return make_sum([one, negate(other)], node.dims), labels
            return node, labels
        poly = self.sums[base]
        if self.orient.get(base) == -1:
            poly = {m: -c for m, c in poly.items()}
        space = tuple(sorted(self.support(poly)))
        return self.realize(poly, space), space


def atom_like(node: Expr) -> bool:
    """An atom, or one scaled, transposed or broadcast (a product of a single atom)."""
    if isinstance(node, Product) and len(node.factors) == 1:
        node = node.factors[0][0]
    return not composite(node)


# -- islands in a DAG -------------------------------------------------------------------


def composite(node: Expr) -> bool:
    """True for the nodes an island is made of: sums, elementwise products, constant powers."""
    if isinstance(node, Sum):
        return True
    if isinstance(node, Func):
        return node.name == "pow" and node.param is not None and float(node.param).is_integer()
    return is_elementwise_product(node)


class Costs:
    """Sizes of what nodes add to a DAG, memoised: each node counts 1 plus its operands.

    Nodes in ``free`` exist anyway (a node used elsewhere too, a leaf) and count 0; any
    other node counts with everything under it down to free nodes.
    """

    def __init__(self, free: set[str] | None = None):
        self.free = free if free is not None else set()
        self.memo: dict[str, int] = {}

    def __call__(self, root: Expr) -> int:
        """The size ``root`` adds (the root itself is never free)."""
        return 1 + len(root.children) + sum(self.below(child) for child in root.children)

    def below(self, node: Expr) -> int:
        """The size ``node`` adds as an operand (0 when it is free)."""
        if not node.children or node.key in self.free:
            return 0
        found = self.memo.get(node.key)
        if found is not None:
            return found
        stack: list[tuple[Expr, bool]] = [(node, False)]
        while stack:
            current, ready = stack.pop()
            if current.key in self.memo:
                continue
            pending = [c for c in current.children
                       if c.children and c.key not in self.free and c.key not in self.memo]
            if ready or not pending:
                self.memo[current.key] = 1 + len(current.children) + sum(
                    0 if (not c.children or c.key in self.free) else self.memo[c.key]
                    for c in current.children
                )
            else:
                stack.append((current, True))
                stack.extend((c, False) for c in pending)
        return self.memo[node.key]


def normalize_island(node: Expr, shared: set[str], cost: Costs) -> Expr:
    """The smallest of ``node`` and its normal forms (both read back factored).

    The expanded form is built only when it can differ from the kept one: when the kept
    form had to hold a sum as a base, or met a shared sum it keeps as an atom.
    """
    space = tuple(range(len(node.dims)))
    best, best_cost = node, cost(node)
    fired: set[str] = set()
    for expand in (False, True):
        island = Island(dict(enumerate(node.dims)), shared, cost)
        poly = island.poly(node, space, expand, top=True)
        if expand or not island.held:
            poly = island.sigmoid_pairs(poly)
        poly = island.combine_exps(poly)
        # Reading back is the expensive part; skip it where it can only rebuild: the kept
        # form when nothing cancelled or merged and no factor is shared among terms, the
        # expanded form when expanding cancelled and merged nothing.
        useful = island.fired - {"distribute"}
        if expand and island.big:
            break
        if useful or (not expand and not island.settled(poly)):
            island.note_present(poly)
            candidate = island.realize(poly, space)
            value = cost(candidate)
            # the expanded form must be clearly smaller: a node or two fewer is not worth
            # reordering the user's own structure
            if value < best_cost * (EXPANDED_GAIN if expand else 1.0):
                best, best_cost, fired = candidate, value, island.fired
        if not island.held:
            break
    if best is not node and active():
        for rule in sorted(fired) or ["collect like terms"]:
            record(rule, node, best)
    return best


def leaves(node: Expr) -> tuple[str, ...]:
    """Keys of the factors of ``node`` (of a product, one level), dimension sizes left out."""
    found = node._cache.get("leaves")
    if found is None:
        if is_size(node):
            found = ()
        elif isinstance(node, Product):
            found = tuple(f.key for f, _ in node.factors if not is_size(f))
        else:
            found = (node.key,)
        node._cache["leaves"] = found
    return found


def is_size(node: Expr) -> bool:
    """A dim's size or a function of one (a number the algebra treats as a constant atom)."""
    return isinstance(node, Size) or (isinstance(node, Func) and isinstance(node.arg, Size))

