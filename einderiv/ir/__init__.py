"""IR: interned expression nodes, their traversal and their canonical form.

The bottom layer: nothing here imports another einderiv layer.  Nodes are immutable and
hash-consed (:mod:`einderiv.ir.nodes`), an expression is a DAG walked children first
(:mod:`einderiv.ir.traversal`), and einsum terms have a canonical form up to renaming
summed indices (:mod:`einderiv.ir.canonical`).

>>> from einderiv.ir import Symbol
>>> Symbol.make("W", ("n", "m")) is Symbol.make("W", ("n", "m"))
True
"""

from __future__ import annotations

from einderiv.ir.canonical import (
    canonical_factors,
    canonical_key,
    equivalent,
    invariant,
    is_symmetric,
    same,
)
from einderiv.ir.nodes import (
    DECLARED_DIMS,
    DIM_OWNERS,
    Delta,
    Dims,
    Expr,
    Factor,
    Func,
    Labels,
    LogSumExp,
    MatFunc,
    Product,
    Size,
    Sum,
    Symbol,
    as_product,
    constant,
    constant_value,
    digest,
    is_zero,
    remember_size_context,
    size_owners,
    zero,
)
from einderiv.ir.traversal import topological

__all__ = [
    "DECLARED_DIMS", "DIM_OWNERS", "Delta", "Dims", "Expr", "Factor", "Func", "Labels",
    "LogSumExp", "MatFunc", "Product", "Size", "Sum", "Symbol", "as_product",
    "canonical_factors", "canonical_key", "constant", "constant_value", "digest",
    "equivalent", "invariant", "is_symmetric", "is_zero", "remember_size_context", "same",
    "size_owners", "topological", "zero",
]
