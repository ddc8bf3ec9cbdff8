"""The einsum form: one numpy expression with np.einsum for every product."""

from __future__ import annotations

from einderiv.functions import FUNCTIONS, Elementwise, Matrix
from einderiv.ir.nodes import (
    Delta,
    Expr,
    Func,
    LogSumExp,
    MatFunc,
    Product,
    Size,
    Sum,
    Symbol,
    unwrap,
)
from einderiv.ir.traversal import topological
from einderiv.render.letters import letter
from einderiv.render.numbers import format_number
from einderiv.render.sizes import SizeSource


def to_einsum(expr: Expr) -> str:
    """One numpy expression for ``expr`` with ``np.einsum`` for every product."""
    body, size = unwrap(expr), SizeSource(expr)
    memo: dict[str, str] = {}
    for node in topological(body):  # children first: no recursion along deep chains
        _einsum(node, size, memo)
    return memo[body.key]


def _einsum(node: Expr, size, memo: dict[str, str]) -> str:
    if node.key in memo:
        return memo[node.key]
    text = _einsum_node(node, size, memo)
    memo[node.key] = text
    return text


def registry_spelling(name: str, args: list[str], dialect: str = "np") -> str:
    """The registry's spelling of ``name(*args)`` (numpy text for each argument).

    ``dialect`` picks the torch or jax spelling where the entry has one (``"torch"``,
    ``"jax"``); the numpy spelling otherwise.

    >>> registry_spelling("maximum", ["a", "b"])
    'np.maximum(a, b)'
    >>> registry_spelling("erf", ["x"], "torch")
    'torch.special.erf(x)'
    """
    entry = FUNCTIONS[name]
    assert isinstance(entry, Elementwise | Matrix), name
    template = {"torch": entry.torch, "jax": entry.jax}.get(dialect) or entry.numpy
    return template.format(*args)


def numpy_solve(a: str, b: str, rank: int) -> str:
    """``solve(a, b)`` along ``b``'s first axis: numpy's batched solve for a ``b`` of rank > 2.

    >>> numpy_solve("A", "R", 3)
    'np.moveaxis(np.linalg.solve(A, np.moveaxis(R, 0, -2)), -2, 0)'
    """
    if rank <= 2:
        return registry_spelling("solve", [a, b])
    inner = registry_spelling("solve", [a, f"np.moveaxis({b}, 0, -2)"])
    return f"np.moveaxis({inner}, -2, 0)"


def numpy_function(name: str, args: list[str], param: float | None = None) -> str:
    """The numpy spelling of an elementwise function applied to ``args`` (numpy expressions)."""
    if name == "pow":
        (arg,) = args
        assert param is not None
        if param == -1.0:
            return f"(1 / {arg})"
        if param == 0.5:
            return f"np.sqrt({arg})"
        exponent = format_number(param)
        return f"{arg}**{exponent}" if param >= 0 else f"{arg}**({exponent})"
    if name == "sigmoid":
        return f"(1 / (1 + np.exp(-{args[0]})))"
    return registry_spelling(name, args)


def numpy_logsumexp(arg: str, axes: tuple[int, ...], rank: int) -> str:
    """Stable numpy spelling of ``logsumexp(arg, axes)`` (``arg`` itself over no axis)."""
    if not axes:
        return arg
    ax = f"axis={axes[0]}" if len(axes) == 1 else f"axis={axes}"
    if len(axes) == rank:
        return f"(np.log(np.exp({arg} - {arg}.max()).sum()) + {arg}.max())"
    return (
        f"(np.log(np.exp({arg} - {arg}.max({ax}, keepdims=True)).sum({ax})) + {arg}.max({ax}))"
    )


def _einsum_node(node: Expr, size, memo) -> str:
    if isinstance(node, Symbol):
        return node.name
    if isinstance(node, Size):
        return f"float({size(node.dim)})"
    if isinstance(node, Delta):
        return f"np.eye({size(node.dim)})"
    if isinstance(node, Func):
        args = [_einsum(a, size, memo) for a in node.args]
        if node.name == "pow":
            args = [f"({args[0]})"]
        return numpy_function(node.name, args, node.param)
    if isinstance(node, MatFunc):
        args = [_einsum(a, size, memo) for a in node.args]
        if node.name == "solve":
            return numpy_solve(args[0], args[1], len(node.args[1].dims))
        return registry_spelling(node.name, args)
    if isinstance(node, LogSumExp):
        arg = _einsum(node.arg, size, memo)
        return numpy_logsumexp(f"({arg})", node.axes, len(node.arg.dims))
    if isinstance(node, Sum):
        if not node.terms:
            shape = ", ".join(size(d) for d in node.dims)
            return f"np.zeros(({shape}{',' if len(node.dims) == 1 else ''}))"
        return "(" + " + ".join(_einsum(t, size, memo) for t in node.terms) + ")"
    if isinstance(node, Product):
        return _einsum_product(node, size, memo)
    raise AssertionError(node.kind)  # pragma: no cover


def _einsum_product(node: Product, size, memo) -> str:
    operands: list[str] = []
    subs: list[str] = []
    scale = [] if node.coeff == 1.0 else [f"({format_number(node.coeff)})"]
    for factor, labels in node.factors:
        if isinstance(factor, Size):
            scale.append(f"float({size(factor.dim)})")
            continue
        if not labels:
            scale.append(f"({_einsum(factor, size, memo)})")
            continue
        operands.append(_einsum(factor, size, memo))
        subs.append("".join(letter(x) for x in labels))
    present = {x for _, ls in node.factors for x in ls}
    for label in node.out:
        if label not in present:  # broadcast: multiply by ones along the label
            operands.append(f"np.ones({size(node.ldims[label])})")
            subs.append(letter(label))
    if operands:
        spec = ",".join(subs) + "->" + "".join(letter(x) for x in node.out)
        body = f"np.einsum('{spec}', {', '.join(operands)})"
        if scale:
            return "(" + " * ".join([*scale, body]) + ")"
        return body
    return "(" + " * ".join(scale or ["1"]) + ")"
