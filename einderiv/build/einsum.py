"""Einstein summation over expressions, following numpy's rules."""

from __future__ import annotations

from typing import Any

from einderiv.build.symbols import as_expr
from einderiv.errors import ShapeError, SubscriptError
from einderiv.ir.nodes import Expr
from einderiv.rewrite.terms import make_product

# -- einsum ---------------------------------------------------------------------------


def einsum(subscripts: str, *operands: Any) -> Expr:
    """Einstein summation over expressions, as ``np.einsum`` (without ``...``).

    >>> import einderiv as ed
    >>> A, B = ed.symbols("A[n,k] B[k,m]")
    >>> ed.einsum("ik,km->im", A, B).shape
    ('n', 'm')
    """
    if not isinstance(subscripts, str):
        raise SubscriptError(
            f"einsum: subscripts must be a string like 'ij,jk->ik', got {subscripts!r}"
        )
    spec = subscripts.replace(" ", "")
    if "." in spec:
        raise SubscriptError(
            f"einsum {subscripts!r}: '...' (ellipsis) is not supported; "
            "name every axis with a letter"
        )
    if spec.count("->") > 1:
        raise SubscriptError(f"einsum {subscripts!r}: more than one '->'")
    if "->" in spec:
        lhs, rhs = spec.split("->")
        explicit = True
    else:
        lhs, rhs, explicit = spec, "", False
    inputs = lhs.split(",") if lhs else [""]
    for column, char in enumerate(spec):
        if not (char.isalpha() or char in ",->"):
            raise SubscriptError(
                f"einsum {subscripts!r}: invalid character {char!r} at column {column}; "
                "labels are letters"
            )
    if "-" in spec.replace("->", "") or ">" in spec.replace("->", ""):
        raise SubscriptError(f"einsum {subscripts!r}: stray '-' or '>'; the output goes after '->'")
    if len(inputs) != len(operands):
        raise SubscriptError(
            f"einsum {subscripts!r}: {len(inputs)} input term(s) but {len(operands)} operand(s)"
        )
    exprs = [as_expr(op, f"einsum operand {i}") for i, op in enumerate(operands)]
    label_dim: dict[str, tuple[str, int, int]] = {}
    for index, (term, expr) in enumerate(zip(inputs, exprs, strict=True)):
        if len(term) != len(expr.dims):
            raise SubscriptError(
                f"einsum {subscripts!r}: operand {index} has rank {len(expr.dims)} "
                f"(dims {list(expr.dims)}) but its subscripts {term!r} name {len(term)} axes"
            )
        for axis, (label, dim) in enumerate(zip(term, expr.dims, strict=True)):
            if label in label_dim and label_dim[label][0] != dim:
                prev_dim, prev_op, prev_axis = label_dim[label]
                raise ShapeError(
                    f"einsum {subscripts!r}: label '{label}' is dim '{prev_dim}' in operand "
                    f"{prev_op} (axis {prev_axis}) but dim '{dim}' in operand {index} "
                    f"(axis {axis}); "
                    "equal labels must have equal dims"
                )
            label_dim.setdefault(label, (dim, index, axis))
    if not explicit:
        counts = {c: lhs.count(c) for c in set(lhs.replace(",", ""))}
        rhs = "".join(sorted(c for c, n in counts.items() if n == 1))
    if "," in rhs:
        raise SubscriptError(
            f"einsum {subscripts!r}: the output (after '->') has a ','; einsum has one output"
        )
    for label in rhs:
        if label not in label_dim:
            raise SubscriptError(
                f"einsum {subscripts!r}: output label '{label}' does not appear in any input"
            )
        if rhs.count(label) > 1:
            raise SubscriptError(f"einsum {subscripts!r}: output label '{label}' is repeated")
    ids = {label: i for i, label in enumerate(label_dim)}
    ldims = {ids[label]: entry[0] for label, entry in label_dim.items()}
    factors = [
        (expr, tuple(ids[c] for c in term)) for term, expr in zip(inputs, exprs, strict=True)
    ]
    return make_product(1.0, factors, tuple(ids[c] for c in rhs), ldims)
