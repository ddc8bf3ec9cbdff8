"""Polynomials over atoms: the algebra's representation of an island, and its arithmetic.

A monomial is a sorted tuple of ``(base, exponent)`` pairs (a base is any hashable
tuple naming an atom at its indices); a polynomial maps monomials to coefficients, so
powers of one base add and ``s / s`` cancels.
"""

from __future__ import annotations

Base = tuple
Mono = tuple[tuple[Base, float], ...]
Poly = dict[Mono, float]


# -- polynomial arithmetic -----------------------------------------------------------


def mono_mul(a: Mono, b: Mono) -> Mono:
    """The product of two monomials (exponents of a base add; a zero exponent drops it)."""
    if not a:
        return b
    if not b:
        return a
    merged = dict(a)
    for base, e in b:
        total = merged.get(base, 0.0) + e
        if total == 0.0:
            merged.pop(base, None)
        else:
            merged[base] = total
    return tuple(sorted(merged.items()))


def mono_pow(a: Mono, p: float) -> Mono:
    """A monomial raised to the power ``p``."""
    return tuple((base, e * p) for base, e in a)


def add_term(poly: Poly, mono: Mono, c: float) -> None:
    """Add ``c * mono`` to ``poly`` in place (a coefficient that cancels drops the term)."""
    old = poly.get(mono, 0.0)
    total = old + c
    if abs(total) <= 1e-13 * max(abs(old), abs(c)):
        poly.pop(mono, None)
    else:
        poly[mono] = total


def poly_mul(p: Poly, q: Poly) -> Poly:
    """The product of two polynomials."""
    out: Poly = {}
    for m1, c1 in p.items():
        for m2, c2 in q.items():
            add_term(out, mono_mul(m1, m2), c1 * c2)
    return out


def poly_key(poly: Poly) -> tuple:
    """A hashable key of a polynomial (its terms in order)."""
    return tuple(sorted(poly.items()))


def mostly_negative(poly: Poly) -> bool:
    """True when most terms are negative (a tie: when the constant term is)."""
    negatives = sum(1 for c in poly.values() if c < 0)
    if 2 * negatives != len(poly):
        return 2 * negatives > len(poly)
    return poly.get((), 0.0) < 0


def has_base(mono: Mono, base: Base, sign: int) -> bool:
    """True when ``mono`` has ``base`` with an exponent of the sign ``sign``."""
    return any(b == base and e * sign > 0 for b, e in mono)


def most_common_base(poly: Poly) -> tuple[Base, int] | None:
    """The base (and exponent sign) carried by the most terms, when 2 <= that < all."""
    counts: dict[tuple[Base, int], int] = {}
    for mono in poly:
        for base, e in mono:
            key = (base, 1 if e > 0 else -1)
            counts[key] = counts.get(key, 0) + 1
    best = None
    for key, count in sorted(counts.items()):
        if 2 <= count < len(poly) and (best is None or count > counts[best]):
            best = key
    return best


def common_factor(poly: Poly, *, signed: bool) -> tuple[Mono, float, Poly]:
    """``(g, c, rest)`` with ``poly = c * g * rest``: common bases and numeric content.

    A base is common when every term carries it with exponents of one sign (the one
    nearest zero is taken).  The content is the coefficients' common magnitude when they
    all agree and it is not 1 (with ``signed``, also a common sign).
    """
    monos = list(poly)
    shared = dict(monos[0])
    for mono in monos[1:]:
        exps = dict(mono)
        for base in list(shared):
            e = exps.get(base)
            if e is None or e * shared[base] <= 0:
                del shared[base]
            else:
                shared[base] = min(shared[base], e) if e > 0 else max(shared[base], e)
    common: Mono = tuple(sorted(shared.items()))
    mags = {abs(c) for c in poly.values()}
    content = 1.0
    if len(mags) == 1:
        magnitude = mags.pop()
        if magnitude != 1.0:
            content = magnitude
        if signed and all(c < 0 for c in poly.values()):
            content = -content
    if not common and content == 1.0:
        return common, content, poly
    inverse = mono_pow(common, -1.0)
    rest: Poly = {}
    for mono, c in poly.items():
        add_term(rest, mono_mul(mono, inverse), c / content)
    return common, content, rest


def substitute_base(poly: Poly, base: Base, value: Poly) -> Poly | None:
    """``poly`` with positive integer powers of ``base`` replaced by ``value`` (None: cannot)."""
    out: Poly = {}
    for mono, c in poly.items():
        exps = dict(mono)
        e = exps.pop(base, 0.0)
        rest: Poly = {tuple(sorted(exps.items())): c}
        if e < 0 or not float(e).is_integer() or e > 3:
            if e:
                return None
        else:
            for _ in range(int(e)):
                rest = poly_mul(rest, value)
        for m, v in rest.items():
            add_term(out, m, v)
    return out
