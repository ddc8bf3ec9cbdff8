"""Einstein summation over expressions, following numpy's rules in full.

Contract: :func:`einsum` reads the subscripts once into one canonical form (the terms'
labels, where each ``...`` sits, the output) and validates them against the operands in
one pass, as ``np.einsum`` does:

* labels are letters; each term may hold one ``...`` standing for the operand's axes
  that no letter names; the ``...`` axes of all operands broadcast together
  (right-aligned, numpy's rules);
* without ``->`` the output is the broadcast ``...`` axes first, then the letters that
  appear exactly once, in alphabetical order (uppercase first, as numpy);
* a label may carry a size-1 axis (the dim ``"1"``) in one operand and a dim in
  another: the size-1 axis broadcasts along it (``einsum('cij,cjk->cik', x, y)`` with
  ``y`` of dims ``c 1 k``); within one operand a repeated label needs equal dims.

Malformed subscripts are a :class:`~einderiv.errors.SubscriptError` and dims that do not
fit a :class:`~einderiv.errors.ShapeError`, each naming the operand, the axis and the dims.

>>> import einderiv as ed
>>> A, B = ed.symbols("A[b,n,k] B[b,k,m]")
>>> ed.einsum("...ik,...km->...im", A, B).shape
('b', 'n', 'm')
>>> ed.einsum("...ik,...km", A, B).shape
('b', 'n', 'm')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from einderiv.build.symbols import as_expr
from einderiv.errors import ShapeError, SubscriptError
from einderiv.ir.nodes import Dims, Expr
from einderiv.rewrite.terms import make_product

ELLIPSIS = "..."


@dataclass(frozen=True)
class Subscripts:
    """Parsed subscripts: each term as tokens (letters and ``"..."``); the output likewise.

    ``output`` is None when the subscripts have no ``->`` (numpy's implicit output).
    """

    text: str
    inputs: tuple[tuple[str, ...], ...]
    output: tuple[str, ...] | None


def parse_subscripts(subscripts: str) -> Subscripts:
    """Read an einsum subscripts string into tokens; a SubscriptError on malformed text.

    >>> parse_subscripts("...ij,jk->...ik").inputs
    (('...', 'i', 'j'), ('j', 'k'))
    """
    if not isinstance(subscripts, str):
        raise SubscriptError(
            f"einsum: subscripts must be a string like 'ij,jk->ik', got {subscripts!r}"
        )
    spec = subscripts.replace(" ", "")
    for column, char in enumerate(subscripts):
        if not (char.isascii() and char.isalpha() or char in ",->. "):
            raise SubscriptError(
                f"einsum {subscripts!r}: invalid character {char!r} at column {column}; "
                "labels are letters"
            )
    if spec.count("->") > 1:
        raise SubscriptError(f"einsum {subscripts!r}: more than one '->'")
    lhs, arrow, rhs = spec.partition("->")
    if "-" in lhs + rhs or ">" in lhs + rhs:
        raise SubscriptError(f"einsum {subscripts!r}: stray '-' or '>'; the output goes after '->'")
    if "," in rhs:
        raise SubscriptError(
            f"einsum {subscripts!r}: the output (after '->') has a ','; einsum has one output"
        )
    inputs = tuple(_tokens(term, subscripts, f"input term {k}") for k, term in
                   enumerate(lhs.split(",")))
    output = _tokens(rhs, subscripts, "the output") if arrow else None
    return Subscripts(subscripts, inputs, output)


def _tokens(term: str, subscripts: str, where: str) -> tuple[str, ...]:
    tokens: list[str] = []
    pos = 0
    while pos < len(term):
        if term.startswith(ELLIPSIS, pos):
            if ELLIPSIS in tokens:
                raise SubscriptError(
                    f"einsum {subscripts!r}: {where} has more than one '...'; "
                    "one '...' stands for all the axes no letter names"
                )
            tokens.append(ELLIPSIS)
            pos += len(ELLIPSIS)
        elif term[pos] == ".":
            raise SubscriptError(
                f"einsum {subscripts!r}: {where} has a '.' that is not part of an ellipsis "
                "'...'"
            )
        else:
            tokens.append(term[pos])
            pos += 1
    return tuple(tokens)


def einsum(subscripts: str, *operands: Any) -> Expr:
    """Einstein summation over expressions, as ``np.einsum`` (``...``, size-1 broadcasting).

    >>> import einderiv as ed
    >>> A, B = ed.symbols("A[n,k] B[k,m]")
    >>> ed.einsum("ik,km->im", A, B).shape
    ('n', 'm')
    >>> x, y = ed.symbols("x[c,i,j] y[c,1,k]")
    >>> ed.einsum("cij,cjk->cik", x, y).shape
    ('c', 'i', 'k')
    """
    spec = parse_subscripts(subscripts)
    text = spec.text
    if len(spec.inputs) != len(operands):
        raise SubscriptError(
            f"einsum {text!r}: {len(spec.inputs)} input term(s) but {len(operands)} operand(s)"
        )
    exprs = [as_expr(op, f"einsum operand {i}") for i, op in enumerate(operands)]
    spans = [_ellipsis_dims(text, k, term, expr) for k, (term, expr) in
             enumerate(zip(spec.inputs, exprs, strict=True))]
    batch = _broadcast(text, spans)
    ldims: dict[int, str] = {}
    batch_labels = []
    for dim in batch:
        batch_labels.append(len(ldims))
        ldims[len(ldims)] = dim
    letter_dims = _letter_dims(text, spec.inputs, exprs)
    letter_ids: dict[str, int] = {}
    for letter, dim in letter_dims.items():
        letter_ids[letter] = len(ldims)
        ldims[len(ldims)] = dim
    factors = []
    for (term, expr), (start, span) in zip(zip(spec.inputs, exprs, strict=True), spans,
                                           strict=True):
        labels: list[int] = []
        for axis, dim in enumerate(expr.dims):
            if start <= axis < start + len(span):  # an axis of the '...'
                position = len(batch) - len(span) + axis - start
                want, label = batch[position], batch_labels[position]
            else:
                letter = term[_token_of(term, axis, len(span))]
                want, label = letter_dims[letter], letter_ids[letter]
            if dim != want:  # a size-1 axis broadcast along a dim: its one entry
                label = len(ldims)
                ldims[label] = "1"
            labels.append(label)
        factors.append((expr, tuple(labels)))
    out = _output(text, spec, letter_ids, batch_labels)
    return make_product(1.0, factors, out, ldims)


def _token_of(term: tuple[str, ...], axis: int, span: int) -> int:
    """The index in ``term`` of the token naming ``axis`` (``...`` covering ``span`` axes)."""
    if ELLIPSIS not in term:
        return axis
    at = term.index(ELLIPSIS)
    if axis < at:
        return axis
    return at if axis < at + span else axis - span + 1


def _ellipsis_dims(text: str, index: int, term: tuple[str, ...], expr: Expr) -> tuple[int, Dims]:
    """Where operand ``index``'s ``...`` starts and the dims it covers (none without one)."""
    letters = sum(1 for t in term if t != ELLIPSIS)
    rank = len(expr.dims)
    if ELLIPSIS not in term:
        if rank != letters:
            more = " (use '...' for the axes the letters do not name)" if rank > letters else ""
            raise SubscriptError(
                f"einsum {text!r}: operand {index} has rank {rank} (dims {list(expr.dims)}) "
                f"but its subscripts {''.join(term)!r} name {letters} axes{more}"
            )
        return 0, ()
    if rank < letters:
        raise SubscriptError(
            f"einsum {text!r}: operand {index} has rank {rank} (dims {list(expr.dims)}) but "
            f"its subscripts {''.join(term)!r} name {letters} axes besides the '...'"
        )
    start = term.index(ELLIPSIS)
    return start, tuple(expr.dims[start : start + rank - letters])


def _broadcast(text: str, spans: list[tuple[int, Dims]]) -> Dims:
    """The ``...`` dims of all operands broadcast together, right-aligned."""
    width = max((len(span) for _, span in spans), default=0)
    result = ["1"] * width
    owner: list[int | None] = [None] * width
    for index, (_, span) in enumerate(spans):
        for offset, dim in enumerate(span):
            position = width - len(span) + offset
            if dim == "1" or dim == result[position]:
                continue
            if result[position] != "1":
                raise ShapeError(
                    f"einsum {text!r}: the '...' axes do not broadcast: operand {owner[position]} "
                    f"has dim '{result[position]}' where operand {index} has dim '{dim}' "
                    f"(its '...' dims {list(span)}); equal dims or '1' broadcast"
                )
            result[position], owner[position] = dim, index
    return tuple(result)


def _letter_dims(text: str, inputs: tuple[tuple[str, ...], ...], exprs: list[Expr]) -> dict:
    """Each letter's dim: equal in every operand, or ``"1"`` broadcasting against a dim."""
    found: dict[str, tuple[str, int, int]] = {}
    for index, (term, expr) in enumerate(zip(inputs, exprs, strict=True)):
        span = len(expr.dims) - sum(1 for t in term if t != ELLIPSIS)
        seen: dict[str, tuple[str, int]] = {}
        for axis, dim in enumerate(expr.dims):
            token = term[_token_of(term, axis, span)]
            if token == ELLIPSIS:
                continue
            if token in seen and seen[token][0] != dim:
                raise ShapeError(
                    f"einsum {text!r}: label '{token}' is repeated in operand {index} with dim "
                    f"'{seen[token][0]}' (axis {seen[token][1]}) and dim '{dim}' (axis {axis}); "
                    "a repeated label takes a diagonal, which needs equal dims"
                )
            seen.setdefault(token, (dim, axis))
            if token in found and found[token][0] != dim and "1" not in (found[token][0], dim):
                prev_dim, prev_op, prev_axis = found[token]
                raise ShapeError(
                    f"einsum {text!r}: label '{token}' is dim '{prev_dim}' in operand "
                    f"{prev_op} (axis {prev_axis}) but dim '{dim}' in operand {index} "
                    f"(axis {axis}); "
                    "equal labels must have equal dims (or '1', which broadcasts)"
                )
            if token not in found or found[token][0] == "1":
                found[token] = (dim, index, axis)
    return {letter: entry[0] for letter, entry in found.items()}


def _output(text: str, spec: Subscripts, letter_ids: dict[str, int],
            batch_labels: list[int]) -> tuple[int, ...]:
    """The output labels, explicit or numpy's implicit order."""
    if spec.output is None:
        counts: dict[str, int] = {}
        for term in spec.inputs:
            for token in term:
                if token != ELLIPSIS:
                    counts[token] = counts.get(token, 0) + 1
        singles = sorted(letter for letter, n in counts.items() if n == 1)
        return (*batch_labels, *(letter_ids[c] for c in singles))
    out: list[int] = []
    for token in spec.output:
        if token == ELLIPSIS:
            out.extend(batch_labels)
            continue
        if token not in letter_ids:
            raise SubscriptError(
                f"einsum {text!r}: output label '{token}' does not appear in any input"
            )
        if spec.output.count(token) > 1:
            raise SubscriptError(f"einsum {text!r}: output label '{token}' is repeated")
        out.append(letter_ids[token])
    if batch_labels and ELLIPSIS not in spec.output:
        raise SubscriptError(
            f"einsum {text!r}: the '...' stands for {len(batch_labels)} axes but the output "
            "has no '...'; write '...' in the output (as numpy), or sum those axes with "
            "explicit letters"
        )
    return tuple(out)
