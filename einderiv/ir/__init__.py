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
    Annotated,
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
    annotate,
    as_product,
    constant,
    constant_value,
    differentials_of,
    digest,
    dims_carried,
    dims_needed,
    inputs_of,
    is_zero,
    names_of,
    reannotate,
    size_owners,
    unwrap,
    zero,
)
from einderiv.ir.traversal import topological

__all__ = [
    "Annotated", "Delta", "Dims", "Expr", "Factor", "Func", "Labels", "LogSumExp", "MatFunc",
    "Product", "Size", "Sum", "Symbol", "annotate", "as_product", "canonical_factors",
    "canonical_key", "constant", "constant_value", "differentials_of", "digest", "dims_carried",
    "dims_needed", "equivalent", "inputs_of", "invariant", "is_symmetric", "is_zero", "names_of",
    "reannotate", "same", "size_owners", "topological", "unwrap", "zero",
]
