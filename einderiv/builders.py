"""Builders: the Python way to make expressions -- symbols, einsum, numpy-like operators.

Contract: every function validates its operands in one pass and raises an
:class:`~einderiv.errors.EinderivError` subclass naming the operand, axis and dims on
bad input; results are simplified (they go through ``make_product``/``make_sum``).
Broadcasting follows numpy by position, right-aligned; a dim named ``"1"`` broadcasts.

>>> import einderiv as ed
>>> W, x, b = ed.symbols("W[n,m] x[m] b[n]")
>>> (W @ x + b).shape
('n',)
>>> ed.einsum("ij,j->i", W, x) == W @ x
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from numbers import Number
from typing import Any

from .errors import ShapeError, SubscriptError, SymbolError
from .ir import Delta, Dims, Expr, LogSumExp, Size, Symbol, constant
from .simplify import make_func, make_matfunc, make_product, make_sum

_NAME = r"[A-Za-z_][A-Za-z_0-9]*"
_DIM = r"(?:[A-Za-z_][A-Za-z_0-9]*|1)"
_SPEC = re.compile(
    rf"\s*(?P<name>{_NAME})\s*(?:\[(?P<dims>[^\]]*)\])?\s*(?P<sym>:\s*sym(?:metric)?)?\s*(?:,(?=\s*[A-Za-z_]))?"
)


# -- symbols --------------------------------------------------------------------------


def parse_dims(text: str | Sequence[str], *, owner: str = "?") -> tuple[Dims, bool]:
    """Parse a dims declaration (``"n m"``, ``"n,m"``, ``"n n:sym"`` or a tuple).

    Returns the dims and whether ``:sym`` was given.

    >>> parse_dims("n n:sym")
    (('n', 'n'), True)
    """
    symmetric = False
    if isinstance(text, str):
        body = text.strip()
        if body.endswith(":sym") or body.endswith(":symmetric"):
            symmetric = True
            body = body.rsplit(":", 1)[0]
        body = body.strip("[]() ")
        parts = [p for p in re.split(r"[\s,]+", body) if p]
        if re.search(r",\s*,|^\s*,|,\s*$", body):
            raise SymbolError(
                f"symbol '{owner}': empty dimension name in {text!r}; "
                "write dims like 'n m' or 'n,m'"
            )
    else:
        parts = [str(p) for p in text]
    for part in parts:
        if not re.fullmatch(_DIM, part):
            raise SymbolError(
                f"symbol '{owner}': dimension name {part!r} is not an identifier or 1; "
                "write dims like 'n m' or 'n,m'"
            )
    dims = tuple(parts)
    if symmetric and (len(dims) != 2 or dims[0] != dims[1]):
        raise SymbolError(
            f"symbol '{owner}': ':sym' needs a square matrix with equal dims, got {list(dims)}"
        )
    return dims, symmetric


def symbols(spec: str) -> Any:
    """Declare symbols: ``"W[n,m] x[m] c A[n,n]:sym"``; one name gives one symbol.

    >>> W = symbols("W[n,m]")
    >>> W.shape
    ('n', 'm')
    >>> A, c = symbols("A[n,n]:sym c")
    >>> A.symmetric, c.shape
    (True, ())
    """
    if not isinstance(spec, str):
        raise SymbolError(f"symbols() takes a string like 'W[n,m] x[m]', got {type(spec).__name__}")
    found: list[Symbol] = []
    names: set[str] = set()
    pos = 0
    text = spec.rstrip()
    while pos < len(text):
        match = _SPEC.match(text, pos)
        if match is None or match.end() == pos:
            from .errors import ParseError

            raise ParseError(
                "cannot read symbol declaration",
                text=spec,
                column=pos + (len(text[pos:]) - len(text[pos:].lstrip())),
                hint="declare symbols like 'W[n,m] x[m] c', ':sym' for symmetric 'A[n,n]:sym'",
            )
        name = match.group("name")
        if name in names:
            raise SymbolError(f"symbol '{name}' is declared twice in {spec!r}")
        names.add(name)
        dims, _ = parse_dims(match.group("dims") or "", owner=name)
        symmetric = bool(match.group("sym"))
        if symmetric and (len(dims) != 2 or dims[0] != dims[1]):
            raise SymbolError(
                f"symbol '{name}': ':sym' needs a square matrix with equal dims, got {list(dims)}"
            )
        found.append(Symbol.make(name, dims, symmetric, declare=True))
        pos = match.end()
    if not found:
        raise SymbolError("symbols() got no names; write e.g. 'W[n,m] x[m]'")
    return found[0] if len(found) == 1 else tuple(found)


def as_expr(value: Any, what: str = "operand") -> Expr:
    """Numbers become constants; expressions pass through; anything else is an error."""
    if isinstance(value, Expr):
        return value
    if isinstance(value, Number) and not isinstance(value, complex):
        return constant(float(value))  # type: ignore[arg-type]
    raise ShapeError(
        f"{what}: expected an einderiv expression or a number, got {type(value).__name__}; "
        "declare arrays as symbols with ed.symbols('W[n,m]') and pass values to evaluate()"
    )


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


# -- broadcasting arithmetic ----------------------------------------------------------


def broadcast_dims(left: Dims, right: Dims, op: str = "+") -> Dims:
    """Numpy broadcasting of two dims tuples, by position from the right."""
    width = max(len(left), len(right))
    lpad = ("1",) * (width - len(left)) + tuple(left)
    rpad = ("1",) * (width - len(right)) + tuple(right)
    result = []
    for axis, (a, b) in enumerate(zip(lpad, rpad, strict=True)):
        if a == b or b == "1":
            result.append(a)
        elif a == "1":
            result.append(b)
        else:
            raise ShapeError(
                f"operands of '{op}' do not broadcast: axis {axis - width} is dim '{a}' "
                "on the left "
                f"(dims {list(left)}) and dim '{b}' on the right (dims {list(right)}); "
                "transpose one operand or declare a size-1 axis as '1'"
            )
    # A "1" only survives where both were 1 or missing.
    return tuple(result)


def _aligned_labels(dims: Dims, out: Dims, ldims: dict[int, str]) -> tuple[int, ...]:
    """Labels for an operand of ``dims`` broadcast into ``out`` (labels 0..len(out)-1)."""
    offset = len(out) - len(dims)
    labels = []
    for axis, dim in enumerate(dims):
        target = axis + offset
        if dim == out[target]:
            labels.append(target)
        else:  # a size-1 axis broadcast against a real dim: summed over its single entry
            label = max(ldims) + 1
            ldims[label] = "1"
            labels.append(label)
    return tuple(labels)


def broadcast_to(expr: Expr, out: Dims) -> Expr:
    """``expr`` broadcast to dims ``out`` (``out`` must be a broadcast of its dims)."""
    if expr.dims == tuple(out):
        return expr
    ldims = dict(enumerate(out))
    labels = _aligned_labels(expr.dims, tuple(out), ldims)
    return make_product(1.0, [(expr, labels)], tuple(range(len(out))), ldims)


def add(left: Any, right: Any) -> Expr:
    """``left + right`` with numpy broadcasting."""
    a, b = as_expr(left, "left operand of '+'"), as_expr(right, "right operand of '+'")
    out = broadcast_dims(a.dims, b.dims, "+")
    return make_sum([broadcast_to(a, out), broadcast_to(b, out)], out)


def subtract(left: Any, right: Any) -> Expr:
    """``left - right`` with numpy broadcasting."""
    a, b = as_expr(left, "left operand of '-'"), as_expr(right, "right operand of '-'")
    out = broadcast_dims(a.dims, b.dims, "-")
    return make_sum([broadcast_to(a, out), scale(broadcast_to(b, out), -1.0)], out)


def scale(expr: Expr, factor: float) -> Expr:
    """``factor * expr`` for a number ``factor``."""
    labels = tuple(range(len(expr.dims)))
    return make_product(factor, [(expr, labels)], labels, expr.dims)


def multiply(left: Any, right: Any) -> Expr:
    """``left * right`` elementwise (Hadamard) with numpy broadcasting."""
    if isinstance(left, Number) and isinstance(right, Expr):
        return scale(right, float(left))  # type: ignore[arg-type]
    if isinstance(right, Number) and isinstance(left, Expr):
        return scale(left, float(right))  # type: ignore[arg-type]
    a, b = as_expr(left, "left operand of '*'"), as_expr(right, "right operand of '*'")
    out = broadcast_dims(a.dims, b.dims, "*")
    ldims = dict(enumerate(out))
    la = _aligned_labels(a.dims, out, ldims)
    lb = _aligned_labels(b.dims, out, ldims)
    return make_product(1.0, [(a, la), (b, lb)], tuple(range(len(out))), ldims)


def divide(left: Any, right: Any) -> Expr:
    """``left / right`` elementwise with numpy broadcasting."""
    if isinstance(right, Number):
        if right == 0:
            raise ShapeError("division by the constant 0")
        return multiply(left, 1.0 / float(right))  # type: ignore[arg-type]
    return multiply(left, power(right, -1.0))


def power(base: Any, exponent: Any) -> Expr:
    """``base ** exponent`` for a constant exponent."""
    if isinstance(exponent, Expr):
        from .ir import constant_value

        value = constant_value(exponent)
        if value is None or exponent.dims:
            raise ShapeError(
                "'**' needs a constant exponent (a number); for x**y with y an expression "
                "write exp(y * log(x))"
            )
        exponent = value
    if not isinstance(exponent, Number) or isinstance(exponent, complex):
        raise ShapeError(f"'**' needs a real number exponent, got {type(exponent).__name__}")
    return make_func("pow", as_expr(base, "base of '**'"), float(exponent))  # type: ignore[arg-type]


def matmul(left: Any, right: Any) -> Expr:
    """``left @ right`` with numpy's rules for 1-D and 2-D operands (and stacked batches)."""
    a, b = as_expr(left, "left operand of '@'"), as_expr(right, "right operand of '@'")
    if not a.dims or not b.dims:
        raise ShapeError(
            f"'@' needs operands of rank >= 1, got dims {list(a.dims)} @ {list(b.dims)}; "
            "use '*' to scale by a scalar"
        )
    ka = a.dims[-1]
    kb = b.dims[0] if len(b.dims) == 1 else b.dims[-2]
    if ka != kb:
        raise ShapeError(
            f"'@' contracts the left operand's last axis (dim '{ka}', dims {list(a.dims)}) "
            "with the "
            f"right operand's {'only' if len(b.dims) == 1 else 'second-to-last'} axis "
            f"(dim '{kb}', dims {list(b.dims)}), and these dims differ; "
            "check the order of the operands or transpose one with .T"
        )
    if len(a.dims) <= 2 and len(b.dims) <= 2:
        letters = {
            (1, 1): "k,k->",
            (2, 1): "ik,k->i",
            (1, 2): "k,kj->j",
            (2, 2): "ik,kj->ij",
        }[(len(a.dims), len(b.dims))]
        return einsum(letters, a, b)
    # Batched matmul: broadcast the leading dims.
    ba = a.dims[:-2] if len(a.dims) >= 2 else ()
    bb = b.dims[:-2] if len(b.dims) >= 2 else ()
    batch = broadcast_dims(ba, bb, "@")
    ldims: dict[int, str] = dict(enumerate(batch))
    nb = len(batch)
    i, k, j = nb, nb + 1, nb + 2
    ldims[k] = ka
    out: list[int] = list(range(nb))
    if len(a.dims) >= 2:
        ldims[i] = a.dims[-2]
        la = _aligned_labels(ba, batch, ldims) + (i, k)
        out.append(i)
    else:
        la = (k,)
    if len(b.dims) >= 2:
        ldims[j] = b.dims[-1]
        lb = _aligned_labels(bb, batch, ldims) + (k, j)
        out.append(j)
    else:
        lb = (k,)
    return make_product(1.0, [(a, la), (b, lb)], tuple(out), ldims)


def transpose(expr: Any, axes: Sequence[int] | None = None) -> Expr:
    """Permute axes (reverse them by default), as ``np.transpose``."""
    e = as_expr(expr, "transpose operand")
    rank = len(e.dims)
    if axes is None:
        perm = tuple(reversed(range(rank)))
    else:
        perm = tuple(_normalize_axis(a, rank, "transpose") for a in axes)
        if sorted(perm) != list(range(rank)):
            raise ShapeError(f"transpose: axes {list(axes)} are not a permutation of {rank} axes")
    labels = tuple(range(rank))
    return make_product(1.0, [(e, labels)], perm, e.dims)


def _normalize_axis(axis: Any, rank: int, what: str) -> int:
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise ShapeError(f"{what}: axis must be an integer, got {axis!r}")
    if not -rank <= axis < rank:
        raise ShapeError(f"{what}: axis {axis} is out of range for an operand of rank {rank}")
    return axis % rank


def _axes(axis: int | Iterable[int] | None, rank: int, what: str) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(rank))
    if isinstance(axis, int):
        return (_normalize_axis(axis, rank, what),)
    if not isinstance(axis, Iterable) or isinstance(axis, str):
        raise ShapeError(f"{what}: axis must be an integer or a tuple of integers, got {axis!r}")
    axes = tuple(_normalize_axis(a, rank, what) for a in axis)
    if len(set(axes)) != len(axes):
        raise ShapeError(f"{what}: repeated axis in {list(axis)}")
    return axes


def reduce_sum(expr: Any, axis: int | Iterable[int] | None = None, keepdims: bool = False) -> Expr:
    """Sum over ``axis`` (all by default), as ``np.sum``; ``keepdims`` leaves size-1 axes.

    >>> import einderiv as ed
    >>> X = ed.symbols("X[n,m]")
    >>> ed.sum(X, axis=1, keepdims=True).shape
    ('n', '1')
    """
    e = as_expr(expr, "sum operand")
    return _reduce(e, _axes(axis, len(e.dims), "sum"), keepdims, mean=False)


def mean(expr: Any, axis: int | Iterable[int] | None = None, keepdims: bool = False) -> Expr:
    """Mean over ``axis`` (all by default), as ``np.mean``."""
    e = as_expr(expr, "mean operand")
    return _reduce(e, _axes(axis, len(e.dims), "mean"), keepdims, mean=True)


def _reduce(e: Expr, axes: tuple[int, ...], keepdims: bool, *, mean: bool) -> Expr:
    rank = len(e.dims)
    ldims: dict[int, str] = dict(enumerate(e.dims))
    out: list[int] = []
    for axis in range(rank):
        if axis not in axes:
            out.append(axis)
        elif keepdims:
            label = max(ldims) + 1
            ldims[label] = "1"
            out.append(label)
    factors: list[tuple[Expr, tuple[int, ...]]] = [(e, tuple(range(rank)))]
    if mean:
        for axis in axes:
            if e.dims[axis] != "1":
                factors.append((make_func("pow", Size.make(e.dims[axis]), -1.0), ()))
    return make_product(1.0, factors, tuple(out), ldims)


def trace(expr: Any) -> Expr:
    """Trace of a square matrix."""
    e = as_expr(expr, "trace operand")
    _require_square(e, "trace")
    return make_product(1.0, [(e, (0, 0))], (), {0: e.dims[0]})


def diag(expr: Any) -> Expr:
    """``np.diag``: a vector becomes a diagonal matrix; a square matrix gives its diagonal."""
    e = as_expr(expr, "diag operand")
    if len(e.dims) == 1:
        d = e.dims[0]
        return make_product(1.0, [(e, (0,)), (Delta.make(d), (0, 1))], (0, 1), {0: d, 1: d})
    _require_square(e, "diag")
    return make_product(1.0, [(e, (0, 0))], (0,), {0: e.dims[0]})


def outer(left: Any, right: Any) -> Expr:
    """Outer product of two vectors."""
    a, b = as_expr(left, "outer operand"), as_expr(right, "outer operand")
    if len(a.dims) != 1 or len(b.dims) != 1:
        raise ShapeError(
            f"outer needs two vectors, got dims {list(a.dims)} and {list(b.dims)}"
        )
    return make_product(1.0, [(a, (0,)), (b, (1,))], (0, 1), {0: a.dims[0], 1: b.dims[0]})


def norm(expr: Any) -> Expr:
    """Frobenius norm (2-norm of a vector): ``sqrt(sum(x * x))``."""
    e = as_expr(expr, "norm operand")
    return make_func("sqrt", reduce_sum(multiply(e, e)))


def logsumexp(expr: Any, axis: int | Iterable[int] | None = None, keepdims: bool = False) -> Expr:
    """``log(sum(exp(x), axis))`` evaluated stably (all axes by default, as jax)."""
    e = as_expr(expr, "logsumexp operand")
    axes = _axes(axis, len(e.dims), "logsumexp")
    result: Expr = LogSumExp.make(e, axes)
    if keepdims:
        rank = len(e.dims)
        ldims = {i: ("1" if i in axes else e.dims[i]) for i in range(rank)}
        kept = tuple(i for i in range(rank) if i not in axes)
        result = make_product(1.0, [(result, kept)], tuple(range(rank)), ldims)
    return result


def softmax(expr: Any, axis: int | Iterable[int] = -1) -> Expr:
    """``exp(x - logsumexp(x, axis, keepdims=True))`` (last axis by default)."""
    e = as_expr(expr, "softmax operand")
    if not e.dims:
        raise ShapeError("softmax needs an operand of rank >= 1")
    axes = _axes(axis, len(e.dims), "softmax")
    lse = LogSumExp.make(e, axes)
    kept = [i for i in range(len(e.dims)) if i not in axes]
    ldims = dict(enumerate(e.dims))
    spread = make_product(1.0, [(lse, tuple(kept))], tuple(range(len(e.dims))), ldims)
    return make_func("exp", subtract(e, spread))


def _require_square(e: Expr, what: str) -> None:
    if len(e.dims) != 2 or e.dims[0] != e.dims[1]:
        raise ShapeError(
            f"{what} needs a square matrix (dims like ['n', 'n']), got dims {list(e.dims)}"
        )


def inv(expr: Any) -> Expr:
    """Matrix inverse."""
    e = as_expr(expr, "inv operand")
    _require_square(e, "inv")
    return make_matfunc("inv", e)


def det(expr: Any) -> Expr:
    """Determinant."""
    e = as_expr(expr, "det operand")
    _require_square(e, "det")
    return make_matfunc("det", e)


def logdet(expr: Any) -> Expr:
    """``log(det(X))`` (of the absolute value for a negative determinant, as slogdet)."""
    e = as_expr(expr, "logdet operand")
    _require_square(e, "logdet")
    return make_matfunc("logdet", e)


def _elementwise(name: str):
    def build(expr: Any) -> Expr:
        return make_func(name, as_expr(expr, f"{name} operand"))

    build.__name__ = name
    build.__doc__ = f"Elementwise ``{name}``."
    return build


tanh = _elementwise("tanh")
exp = _elementwise("exp")
log = _elementwise("log")
log1p = _elementwise("log1p")
sigmoid = _elementwise("sigmoid")
sqrt = _elementwise("sqrt")
abs_ = _elementwise("abs")
relu = _elementwise("relu")
softplus = _elementwise("softplus")
sin = _elementwise("sin")
cos = _elementwise("cos")
sign = _elementwise("sign")


def square(expr: Any) -> Expr:
    """Elementwise square."""
    return power(expr, 2.0)


def size(dim: str) -> Expr:
    """The size of ``dim`` as a scalar expression."""
    return Size.make(dim)
