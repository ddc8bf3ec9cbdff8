"""What the evaluator can prove about a node's values: bounds, hence signs.

Contract: :func:`bounds` gives, for every node of a DAG, an interval ``(lo, hi)`` that holds
for every entry of the node's value in exact arithmetic (``-inf``/``inf`` when nothing is
known).  It reads the structure only -- functions' ranges (``σ`` in [0, 1], ``exp`` and
squares non-negative, ``tanh`` in [-1, 1]), interval arithmetic over sums and elementwise
products, squares in products (a factor repeated with the same labels), non-negative
contractions -- so a code generator can rewrite ``X.T @ diag(d) @ X`` as ``B.T @ B`` with
``B = sqrt(d)[:, None] * X`` (a SYRK, half the flops) when ``d >= 0`` is proven.  A function
this table does not know is unbounded: a missing fact costs speed, never correctness.

>>> import einderiv as ed
>>> x = ed.symbols("x[n]")
>>> s = ed.sigmoid(x)
>>> bounds(s * (1 - s))[-1]
(0.0, 1.0)
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

from einderiv.ir.nodes import Expr, Product
from einderiv.ir.traversal import topological

Interval = tuple[float, float]
ANY: Interval = (-math.inf, math.inf)
_INF = math.inf


def _mul(a: Interval, b: Interval) -> Interval:
    """The interval of ``x * y`` for ``x`` in ``a`` and ``y`` in ``b`` (0 * inf is 0)."""
    products = []
    for x in a:
        for y in b:
            products.append(0.0 if x == 0.0 or y == 0.0 else x * y)
    return min(products), max(products)


def _square(a: Interval) -> Interval:
    lo, hi = a
    top = max(lo * lo, hi * hi)
    return (0.0 if lo <= 0.0 <= hi else min(lo * lo, hi * hi)), top


def _pow(a: Interval, p: float | None) -> Interval:
    if p is None:
        return ANY
    if p == int(p) and int(p) % 2 == 0 and p > 0:
        return _square(a) if p == 2 else (0.0, _INF)
    if a[0] >= 0.0:
        return (0.0, _INF)
    return ANY


def _fixed(interval: Interval) -> Callable[[Interval, float | None], Interval]:
    return lambda a, p: interval


#: ranges of the functions the evaluator knows, from the argument's interval
RANGES: dict[str, Callable[[Interval, float | None], Interval]] = {
    "sigmoid": _fixed((0.0, 1.0)),
    "tanh": _fixed((-1.0, 1.0)),
    "exp": _fixed((0.0, _INF)),
    "softplus": _fixed((0.0, _INF)),
    "sqrt": _fixed((0.0, _INF)),
    "abs": _fixed((0.0, _INF)),
    "relu": _fixed((0.0, _INF)),
    "step": _fixed((0.0, 1.0)),
    "cosh": _fixed((1.0, _INF)),
    "sin": _fixed((-1.0, 1.0)),
    "cos": _fixed((-1.0, 1.0)),
    "erf": _fixed((-1.0, 1.0)),
    "arctan": _fixed((-math.pi / 2, math.pi / 2)),
    "sign": _fixed((-1.0, 1.0)),
    "pow": _pow,
}


def _product(node: Product, found: dict[str, Interval]) -> Interval:
    counts = Counter((factor.key, labels) for factor, labels in node.factors)
    value: Interval = (node.coeff, node.coeff)
    for (key, _), count in counts.items():
        interval = found.get(key, ANY)
        for _ in range(count // 2):
            value = _mul(value, _square(interval))
        if count % 2:
            value = _mul(value, interval)
    if node.summed:  # a sum of such products: only the sign survives
        lo, hi = value
        return (0.0 if lo >= 0.0 else -_INF), (0.0 if hi <= 0.0 else _INF)
    return value


def bounds(root: Expr) -> list[Interval]:
    """The interval of every node of ``topological(root)``, in that order (module docstring)."""
    found: dict[str, Interval] = {}
    out: list[Interval] = []
    for node in topological(root):
        kind = node.kind
        if kind == "product":
            value = _product(node, found)  # type: ignore[arg-type]
        elif kind == "sum":
            lo = hi = 0.0
            for term in node.terms:  # type: ignore[attr-defined]
                t_lo, t_hi = found.get(term.key, ANY)
                lo, hi = lo + t_lo, hi + t_hi
            value = (lo, hi)
        elif kind == "func":
            name, param = node.name, node.param  # type: ignore[attr-defined]
            rule = RANGES.get(name)
            value = rule(found.get(node.children[0].key, ANY), param) if rule else ANY
        elif kind == "delta":
            value = (0.0, 1.0)
        elif kind == "size":
            value = (0.0, _INF)
        else:
            value = ANY
        if math.isnan(value[0]) or math.isnan(value[1]):
            value = ANY
        found[node.key] = value
        out.append(value)
    return out


def sign_of(interval: Interval) -> int:
    """1 for a non-negative interval, -1 for a non-positive one, 0 when the sign is unknown."""
    if interval[0] >= 0.0:
        return 1
    if interval[1] <= 0.0:
        return -1
    return 0
