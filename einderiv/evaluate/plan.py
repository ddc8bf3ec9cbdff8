"""Planning one product: an einsum over its non-delta factors, then placement of deltas."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import opt_einsum

from einderiv.errors import EvaluationError
from einderiv.ir.nodes import (
    Delta,
    Product,
    Size,
)

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass
class ProductPlan:
    """How one product is evaluated: an einsum over its non-delta factors, then placement."""

    coeff: float
    operands: list[int]  # step indices of the einsum operands
    subscripts: str  # einsum subscripts over representative labels
    sizes: list[str]  # dims whose sizes multiply the result (dangling summed labels, Size)
    out_dims: tuple[str, ...]
    core_labels: tuple[int, ...]  # representative labels of the einsum output, in order
    out_reps: tuple[int, ...]  # representative of each output axis
    rep_dims: dict[int, str]
    tied: bool  # some output axes share a representative (a surviving delta)


def plan_product(node: Product, index_of: dict[str, int]) -> ProductPlan:
    """The evaluation plan of ``node``; ``index_of`` gives each factor's step index."""
    parent = list(range(len(node.ldims)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    out_set = set(node.out)
    operands: list[tuple[int, tuple[int, ...]]] = []
    sizes: list[str] = []
    for factor, labels in node.factors:
        if isinstance(factor, Delta):
            a, b = find(labels[0]), find(labels[1])
            if a != b:
                # prefer an output label as the representative
                if b in out_set and a not in out_set:
                    a, b = b, a
                parent[b] = a
        elif isinstance(factor, Size):
            sizes.append(factor.dim)
        else:
            operands.append((index_of[factor.key], labels))
    reps_in_factors = {find(x) for _, ls in operands for x in ls}
    out_reps = tuple(find(x) for x in node.out)
    # summed classes that no operand carries: each contributes its dim's size
    classes = {find(x) for x in range(len(node.ldims))}
    for rep in sorted(classes - reps_in_factors - set(out_reps)):
        if node.ldims[rep] != "1":
            sizes.append(node.ldims[rep])
    core: list[int] = []
    for rep in out_reps:
        if rep in reps_in_factors and rep not in core:
            core.append(rep)
    letter: dict[int, str] = {}
    for _, labels in operands:
        for x in labels:
            if find(x) not in letter:  # a-z, A-Z, then opt_einsum's unicode symbols
                letter[find(x)] = opt_einsum.get_symbol(len(letter))
    subscripts = ",".join("".join(letter[find(x)] for x in ls) for _, ls in operands)
    subscripts += "->" + "".join(letter[r] for r in core)
    return ProductPlan(
        coeff=node.coeff,
        operands=[i for i, _ in operands],
        subscripts=subscripts,
        sizes=sizes,
        out_dims=node.dims,
        core_labels=tuple(core),
        out_reps=out_reps,
        rep_dims={find(x): node.ldims[x] for x in range(len(node.ldims))},
        tied=len(set(out_reps)) < len(out_reps),
    )


def size_of(dim: str, dim_size: Mapping[str, int]) -> int:
    """The size of ``dim`` (``1`` for the literal size-1 dim); a clear error when unknown."""
    if dim == "1":
        return 1
    if dim not in dim_size:
        raise EvaluationError(
            f"the size of dim '{dim}' is unknown: no symbol in the expression has it; "
            f"pass sizes={{'{dim}': ...}} to evaluate()"
        )
    return dim_size[dim]
