"""Rewriting: smart constructors, named rewrite rules and the normal forms they reach.

Every builder and derivative rule builds through the smart constructors
(:func:`make_product`, :func:`make_sum`, :func:`make_func`, :func:`make_matfunc`), so
results are simplified as they are built; :func:`simplify` re-applies them to a DAG
built raw.  Rewrites can be observed with :func:`recording`.
"""

from __future__ import annotations

from einderiv.rewrite.elementwise import make_func
from einderiv.rewrite.matrix import make_matfunc
from einderiv.rewrite.normal_form import normalize
from einderiv.rewrite.passes import finish, flatten_single_use, flatten_with_map, simplify
from einderiv.rewrite.record import record, recording
from einderiv.rewrite.terms import make_product, make_sum

__all__ = [
    "finish", "flatten_single_use", "flatten_with_map", "make_func", "make_matfunc",
    "make_product", "make_sum", "normalize", "record", "recording", "simplify",
]
