"""Printing matrix-form trees as numpy text, in numpy's, torch's or jax's spelling.

The dialect (``"np"``, ``"torch"``, ``"jax"``) is a parameter passed down the printer, never
state of the process: two threads printing the same tree in different dialects each get
their own spelling (codegen's ``module="torch"`` passes ``"torch"``).

>>> from einderiv.render.tree import Call, Leaf
>>> s = Call(1, "sigmoid", (Leaf(1, "x"),))
>>> to_text(s), to_text(s, "torch")
('1 / (1 + np.exp(-x))', 'torch.sigmoid(x)')
"""

from __future__ import annotations

from typing import Literal

from einderiv.functions import FUNCTIONS, Elementwise, Matrix
from einderiv.render.compose import scale
from einderiv.render.einsum_form import numpy_logsumexp, numpy_solve, registry_spelling
from einderiv.render.numbers import number_text_prec, scaled_text
from einderiv.render.tree import (
    ADD,
    ATOM,
    MUL,
    POW,
    UNARY,
    Add,
    Call,
    Einsum,
    Expand,
    Leaf,
    MatMul,
    MNode,
    Mul,
    Num,
    Permute,
    ReduceSum,
    Scale,
    Tensor,
    Transpose,
    post_order,
    transpose,
)

# -- numpy text ---------------------------------------------------------------------------


Dialect = Literal["np", "torch", "jax"]
DIALECTS: tuple[str, ...] = ("np", "torch", "jax")


def number_text(value: float, dialect: str = "np") -> str:
    """A number as numpy text, exact and short (``np.pi / 2``, ``1 / 3``)."""
    return number_text_prec(value, _plain(dialect))[0]


def _plain(dialect: str) -> bool:
    """Numbers without ``np.sqrt``: torch has no sqrt of a Python number."""
    return dialect == "torch"


def _wrap(text_prec: tuple[str, int], need: int) -> str:
    text, prec = text_prec
    return text if prec >= need else f"({text})"


def _np(node: MNode, d: str) -> tuple[str, int]:
    """``node``'s text and precedence in dialect ``d``, memoized on the node per dialect.

    The memo is a pure function of the (immutable) tree and the dialect, so sharing it
    between threads changes nothing that is printed.
    """
    attr = "_np_" + d
    cached = node.__dict__.get(attr)
    if cached is None:
        for part in post_order(node):  # children first: one level of recursion at most
            if attr not in part.__dict__:
                object.__setattr__(part, attr, _np_uncached(part, d))
        cached = node.__dict__[attr]
    return cached


def _np_uncached(node: MNode, d: str) -> tuple[str, int]:
    if isinstance(node, Leaf):
        return node.text, ATOM
    if isinstance(node, Tensor):
        return _np(node.body, d)
    if isinstance(node, Einsum):
        return _np_einsum(node, d), ATOM
    if isinstance(node, Permute):
        method = "permute" if d == "torch" else "transpose"  # torch's transpose swaps
        return f"{_wrap(_np(node.arg, d), ATOM)}.{method}({', '.join(map(str, node.axes))})", ATOM
    if isinstance(node, Num):
        return number_text_prec(node.value, _plain(d))
    if isinstance(node, Transpose):
        return _wrap(_np(node.arg, d), ATOM) + ".T", ATOM
    if isinstance(node, MatMul):
        items = _pseudo_inverses(node.items)
        if len(items) == 1:
            return _np(items[0], d)
        return " @ ".join(_wrap(_np(i, d), UNARY) for i in items), MUL
    if isinstance(node, Mul):
        bare = _rows_broadcast(node.items, node.rank)
        # trailing-axis broadcasting needs no index: a row placed in the matrix prints bare
        pairs = [(_row(i, node.rank) if bare else i, i) for i in node.items]
        divides = [_is_reciprocal(s, node.rank) or (s is not i and _is_reciprocal(s, s.rank))
                   for s, i in pairs]
        dens = [s for (s, _), div in zip(pairs, divides, strict=True) if div]
        nums = [s for (s, _), div in zip(pairs, divides, strict=True) if not div]
        parts = []
        for item in nums:
            parts.append(_wrap(_np(item, d), UNARY) if len(nums) > 1 else _np(item, d)[0])
        if len(nums) == 1 and _np(nums[0], d)[1] < MUL:
            parts = [f"({parts[0]})"]
        text = " * ".join(parts) if parts else "1"
        for den in dens:
            assert isinstance(den, Call) and isinstance(den.param, float)  # _is_reciprocal
            power_base = den.args[0]
            if den.param == -1.0:
                text += " / " + _wrap(_np(power_base, d), ATOM)
            else:  # a / u**3 for a * u**(-3)
                power = Call(den.rank, "pow", (power_base,), -den.param)
                text += " / " + _wrap(_np(power, d), POW)
        return text, MUL
    if isinstance(node, Scale):
        inner = _np(node.arg, d)
        if node.coeff == -1.0:
            return "-" + _wrap(inner, MUL), UNARY if inner[1] > MUL else MUL
        return scaled_text(node.coeff, _wrap(inner, MUL), _plain(d)), MUL
    if isinstance(node, Add):
        out = ""
        bare = _rows_broadcast(tuple(t for _, t in node.terms), node.rank)
        for index, (sign, term) in enumerate(node.terms):
            if bare:
                term = _row(term, node.rank)  # a row broadcasts without an index
            text = _wrap(_np(term, d), MUL)
            if index == 0:
                out = text if sign > 0 else "-" + _wrap(_np(term, d), UNARY)
            else:
                out += (" + " if sign > 0 else " - ") + text
        return out, ADD
    if isinstance(node, ReduceSum):
        base = _wrap(_np(node.arg, d), ATOM)
        method = "sum" if node.mean is None else "mean"
        if node.axis is None:
            return f"{base}.{method}()", ATOM
        axis = node.axis if isinstance(node.axis, int) else f"({', '.join(map(str, node.axis))})"
        if d == "torch":
            keep = ", keepdim=True" if node.keepdims else ""
            return f"{base}.{method}(dim={axis}{keep})", ATOM
        keep = ", keepdims=True" if node.keepdims else ""
        return f"{base}.{method}(axis={axis}{keep})", ATOM
    if isinstance(node, Expand):
        base = _wrap(_np(node.arg, d), ATOM)
        return base + ("[:, None]" if node.axis == 0 else "[None, :]"), ATOM
    if isinstance(node, Call):
        return _np_call(node, d)
    raise AssertionError(node)  # pragma: no cover


def _gram_inverse_of(node: MNode) -> MNode | None:
    """``A`` when ``node`` is ``inv(A.T @ A)`` (or its transpose: the Gram matrix is symmetric)."""
    if isinstance(node, Transpose):
        node = node.arg
    if not (isinstance(node, Call) and node.fn == "inv"):
        return None
    gram = node.args[0]
    if (isinstance(gram, MatMul) and len(gram.items) == 2 and gram.items[0].rank == 2
            and gram.items[0] == transpose(gram.items[1])):
        return gram.items[1]
    return None


def _pseudo_inverses(items: tuple[MNode, ...]) -> tuple[MNode, ...]:
    """``A @ inv(A.T @ A)`` is ``pinv(A).T`` and ``inv(A.T @ A) @ A.T`` is ``pinv(A)``.

    Both hold wherever ``A.T @ A`` is invertible (``A`` of full column rank), as the
    expression that has ``inv(A.T @ A)`` already requires.
    """
    out: list[MNode] = []
    k = 0
    while k < len(items):
        item = items[k]
        after = items[k + 1] if k + 1 < len(items) else None
        a = _gram_inverse_of(after) if after is not None else None
        if a is not None and item == a:
            out.append(Transpose(2, Call(2, "pinv", (a,))))
            k += 2
            continue
        a = _gram_inverse_of(item)
        if a is not None and after is not None and after == transpose(a):
            out.append(Call(2, "pinv", (a,)))
            k += 2
            continue
        out.append(item)
        k += 1
    return tuple(out)


def _np_einsum(node: Einsum, d: str) -> str:
    """``np.einsum(...)``, with ``optimize=True`` past two operands.

    numpy then contracts pairwise along a good path instead of running one loop over every
    index combination (23 operands: 10^11 steps).
    """
    args = ", ".join(_np(op, d)[0] for op in node.operands)
    fast = ", optimize=True" if len(node.operands) > 2 and d != "torch" else ""
    return f"np.einsum('{node.spec}', {args}{fast})"


def _row(node: MNode, rank: int) -> MNode:
    """A row placed in a matrix broadcasts without an index (``v`` for ``v[None, :]``)."""
    if isinstance(node, Expand) and node.axis == 1 and rank == 2:
        return node.arg
    return node


def _rows_broadcast(items: tuple[MNode, ...], rank: int) -> bool:
    """Whether rows among ``items`` may print bare: another item spans both axes.

    ``v[None, :]`` broadcasts like ``v`` against a matrix; with nothing else of rank 2
    (a scalar times a row) the index is what keeps the leading size-1 axis.
    """
    return rank == 2 and any(
        i.rank == 2 and not (isinstance(i, Expand) and i.axis == 1) for i in items
    )


def _np_sqrt(arg: MNode, d: str) -> tuple[str, int]:
    """``np.sqrt(a)``; ``np.linalg.norm(u)`` where ``a`` is ``(u**2).sum()`` (2-norm, Frobenius)."""
    if _is_sum_of_squares(arg):
        return f"np.linalg.norm({_np(arg.arg.args[0], d)[0]})", ATOM  # type: ignore[attr-defined]
    return f"np.sqrt({_np(arg, d)[0]})", ATOM


def _is_sum_of_squares(node: MNode) -> bool:
    """``(u**2).sum()``: every entry of ``u`` squared, summed over every axis."""
    return (isinstance(node, ReduceSum) and node.axis is None and node.mean is None
            and isinstance(node.arg, Call) and node.arg.fn == "pow" and node.arg.param == 2.0)


def _is_reciprocal(node: MNode, rank: int) -> bool:
    """``u**p``, ``p < 0``, among the factors of a rank-``rank`` product: it divides by ``u**-p``.

    A scalar, or an array of the product's own rank (``a * (1 / b)`` is ``a / b`` under
    numpy's broadcasting either way).
    """
    return (isinstance(node, Call) and node.fn == "pow" and isinstance(node.param, float)
            and node.param < 0 and node.rank in (0, rank))


#: calls the network reader makes (not registry functions: read off tensor networks)
_NP_CALLS = {
    "trace": "np.trace",
    "diagonal": "np.diag",
    "diag": "np.diag",
    "outer": "np.outer",
    "pinv": "np.linalg.pinv",
}


def _np_call(node: Call, d: str) -> tuple[str, int]:
    bare = len(node.args) > 1 and _rows_broadcast(node.args, node.rank)
    args = [_np(_row(a, node.rank) if bare else a, d)[0] for a in node.args]
    if node.fn in _NP_CALLS:
        return f"{_NP_CALLS[node.fn]}({', '.join(args)})", ATOM
    arg = node.args[0]
    if node.fn == "logsumexp":
        axes = node.param
        assert isinstance(axes, tuple)
        if not axes:  # over no axis (of a scalar): log(exp(a)) is a itself
            return _np(arg, d)
        if d == "torch":
            return f"torch.logsumexp({args[0]}, dim={axes if len(axes) > 1 else axes[0]})", ATOM
        # a sum of the log and the max: parenthesized only where an operator needs it
        return numpy_logsumexp(_wrap(_np(arg, d), ATOM), axes, arg.rank)[1:-1], ADD
    if node.fn == "solve":
        return numpy_solve(args[0], args[1], node.args[1].rank), ATOM
    if node.fn in SOFTMAX_PARTS:
        return _np_softmax(node, d)
    entry = FUNCTIONS[node.fn]
    assert isinstance(entry, Elementwise | Matrix), node.fn
    if node.fn == "sqrt":
        return _np_sqrt(arg, d)
    if {"torch": entry.torch, "jax": entry.jax}.get(d):
        return registry_spelling(node.fn, args, d), ATOM
    if node.fn == "pow":  # spelled with operators (see the registry's schema)
        p = node.param
        assert isinstance(p, float)
        if p == -1.0:
            return f"1 / {_wrap(_np(arg, d), UNARY)}", MUL
        if p == 0.5:
            return _np_sqrt(arg, d)
        exponent = _wrap(number_text_prec(p, _plain(d)), ATOM) if p >= 0 else (
            f"({number_text_prec(p, _plain(d))[0]})")
        return f"{_wrap(_np(arg, d), ATOM)}**{exponent}", POW
    if node.fn == "sigmoid":  # numpy has no sigmoid
        if isinstance(arg, Scale) and arg.coeff < 0:  # sigmoid(-u) = 1 / (1 + exp(u))
            return f"1 / (1 + np.exp({_np(scale(-arg.coeff, arg.arg), d)[0]}))", MUL
        return f"1 / (1 + np.exp(-{_wrap(_np(arg, d), UNARY)}))", MUL
    return registry_spelling(node.fn, args), ATOM


SOFTMAX_PARTS = ("softmax", "softmax_exp", "softmax_normalize")
"""Calls of a softmax over ``param``'s axes: whole, its shifted exponential ``e``, and
``e`` normalized (the readable form writes a softmax as those two lines)."""


def _reduce_args(axes: tuple[int, ...], rank: int, d: str) -> str:
    """The arguments of a keepdims reduction over ``axes`` (none over every axis)."""
    if len(axes) == rank:
        return ""
    ax = axes[0] if len(axes) == 1 else axes
    return f"dim={ax}, keepdim=True" if d == "torch" else f"axis={ax}, keepdims=True"


def _np_softmax(node: Call, d: str) -> tuple[str, int]:
    """A softmax, stable as evaluation is: its exponential is shifted by the max.

    ``np.exp(z - z.max())`` (``softmax_exp``), ``e / e.sum()`` (``softmax_normalize``),
    or both in one expression (``softmax``; torch has its own ``torch.softmax``).
    """
    axes = node.param
    assert isinstance(axes, tuple)
    arg = node.args[0]
    rank = arg.rank
    red = _reduce_args(axes, rank, d)
    if node.fn == "softmax_normalize":
        return f"{_wrap(_np(arg, d), UNARY)} / {_wrap(_np(arg, d), ATOM)}.sum({red})", MUL
    if node.fn == "softmax" and d == "torch":
        if len(axes) == 1:
            return f"torch.softmax({_np(arg, d)[0]}, dim={axes[0]})", ATOM
        dims = f"dim={axes}, keepdim=True" if len(axes) < rank else f"dim={tuple(range(rank))}"
        return f"torch.exp({_wrap(_np(arg, d), ADD)} - torch.logsumexp({_np(arg, d)[0]}, "\
               f"{dims}))", ATOM
    peak = "amax" if d == "torch" and red else "max"
    module = "torch" if d == "torch" else "np"  # jax: codegen turns np. into jnp.
    shifted = f"{module}.exp({_wrap(_np(arg, d), ADD)} - {_wrap(_np(arg, d), ATOM)}.{peak}({red}))"
    if node.fn == "softmax_exp":
        return shifted, ATOM
    return f"{shifted} / {shifted}.sum({red})", MUL


def to_text(node: MNode, dialect: Dialect = "np") -> str:
    """The numpy text of a matrix tree in ``dialect``'s spelling (``"np"``, ``"torch"``, ``"jax"``).

    >>> to_text(MatMul(1, (Transpose(2, Leaf(2, "W")), Leaf(1, "g"))))
    'W.T @ g'
    """
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}")
    return _np(node, dialect)[0]
