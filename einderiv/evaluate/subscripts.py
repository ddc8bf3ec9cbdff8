"""One einsum step in C einsum's alphabet: indices that travel together fused, then a-zA-Z.

Contract: :func:`ascii_step` takes a contraction step's terms and result (strings of any
index symbols, as ``opt_einsum.get_symbol`` makes past 52) with the size of every index and
returns subscripts over ``a-zA-Z`` plus the shapes each operand and the result are reshaped
to.  Indices that appear in the same terms, always next to each other and in the same order
(``x * x`` summed over 60 axes is one index), are fused into one, so a product over more
than 52 indices evaluates whenever its step needs at most 52 after fusing; beyond that it is
an :class:`~einderiv.errors.EvaluationError` that says so and how to split the product.

>>> ascii_step(["abc", "abc"], "", {"a": 2, "b": 3, "c": 4})
('a,a->', [(24,), (24,)], ())
>>> ascii_step(["ab", "bc"], "ac", {"a": 2, "b": 3, "c": 4})[0]
'ab,bc->ac'
"""

from __future__ import annotations

import math

import opt_einsum

from einderiv.errors import EvaluationError

Shape = tuple[int, ...]


def _groups(terms: list[str]) -> list[str]:
    """Maximal runs of indices that travel together through every term (in order)."""
    where: dict[str, tuple[int, ...]] = {}
    for c in dict.fromkeys(c for t in terms for c in t):
        where[c] = tuple(k for k, t in enumerate(terms) if c in t)
    groups: list[str] = []
    seen: set[str] = set()
    for term in terms:
        run = ""
        for c in term:
            if c in seen:
                if run:
                    groups.append(run)
                    run = ""
                continue
            if run and _follows(terms, run[-1], c, where):
                run += c
            else:
                if run:
                    groups.append(run)
                run = c
            seen.add(c)
        if run:
            groups.append(run)
    return groups


def _follows(terms: list[str], a: str, b: str, where: dict[str, tuple[int, ...]]) -> bool:
    """Does ``b`` come right after ``a`` in every term that has either (and only once)?"""
    if where[a] != where[b]:
        return False
    for k in where[a]:
        term = terms[k]
        if term.count(a) != 1 or term.count(b) != 1 or term.index(b) != term.index(a) + 1:
            return False
    return True


def ascii_step(terms: list[str], result: str, size: dict[str, int]) -> tuple[str, list[Shape],
                                                                             Shape]:
    """``(subscripts, operand shapes, result shape)`` for C einsum (module docstring)."""
    groups = _groups([*terms, result])
    if len(groups) > 52:
        raise EvaluationError(
            f"one contraction step has {len(groups)} independent indices, more than einsum's "
            "52 letters; split the product into smaller ones (name intermediates in a program)"
        )
    letter = {g[0]: opt_einsum.get_symbol(i) for i, g in enumerate(groups)}
    heads = {g[0]: g for g in groups}

    def spell(term: str) -> tuple[str, Shape]:
        out, shape = "", []
        for c in term:
            if c in heads:
                out += letter[c]
                shape.append(math.prod(size[x] for x in heads[c]))
        return out, tuple(shape)

    spelled = [spell(t) for t in terms]
    target, out_shape = spell(result)
    spec = ",".join(s for s, _ in spelled) + "->" + target
    return spec, [s for _, s in spelled], out_shape
