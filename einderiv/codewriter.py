"""Code generation: a readable Python function with named temporaries for shared parts.

Contract: :func:`codegen` returns the source of one Python function (``def f(A, x):``,
arguments are the expression's symbols, and any declared symbol whose shape gives a dim's
size (``y.shape[0]``), in sorted order, so ``f(**values)`` works) that
computes the same array as ``evaluate``.  Every subexpression that the DAG uses more
than once (and that is more than a name) is computed once into a temporary ``t0, t1,
...``; each line is the matrix form of :mod:`einderiv.render`.  ``module`` picks the
array module: ``"np"``/``"numpy"``, ``"jax.numpy"`` or ``"torch"`` (the numpy spelling
is translated: ``dim=``/``keepdim=`` for reductions, ``torch.relu``, ``torch.sigmoid``,
``torch.logsumexp``...; the caller passes tensors of one dtype).

>>> import einderiv as ed
>>> W, x = ed.symbols("W[n,m] x[m]")
>>> print(codegen(ed.vjp(W @ x, "x", "g"), name="pullback"))
import numpy as np
<BLANKLINE>
<BLANKLINE>
def pullback(W, g):
    return W.T @ g
<BLANKLINE>
"""

from __future__ import annotations

import ast
import keyword
import re
from typing import Any

from einderiv.errors import EinderivError
from einderiv.ir.nodes import Delta, Expr, Product, Size, Symbol, constant_value
from einderiv.ir.traversal import topological
from einderiv.render.api import matrix_form
from einderiv.render.numpytext import dialect, to_text

_MODULES = {
    "np": ("import numpy as np", "np"),
    "numpy": ("import numpy as np", "np"),
    "jax.numpy": ("import jax.numpy as jnp", "jnp"),
    "jnp": ("import jax.numpy as jnp", "jnp"),
    "torch": ("import torch", "torch"),
}


def _shared(expr: Expr) -> list[Expr]:
    """Non-trivial nodes used more than once, children first."""
    order = topological(expr)
    uses: dict[str, int] = {}
    for node in order:
        for child in set(node.children):
            uses[child.key] = uses.get(child.key, 0) + 1
    return [
        node
        for node in order
        if uses.get(node.key, 0) > 1
        and node is not expr
        and not isinstance(node, (Symbol, Size, Delta))
        and constant_value(node) is None
        and not (isinstance(node, Product) and _is_view(node))
    ]


def _is_view(node: Product) -> bool:
    """A bare transpose or rename of one symbol is not worth a temporary."""
    return len(node.factors) == 1 and isinstance(node.factors[0][0], Symbol)


def _translate(text: str, prefix: str) -> str:
    if prefix == "np":
        return text
    text = re.sub(r"\bnp\.", prefix + ".", text)
    if prefix == "torch":
        text = text.replace(".sum(axis=", ".sum(dim=").replace("keepdims=True", "keepdim=True")
    return text


def _size_owners(lines: list[str], temps, prefix: str) -> set[str]:
    """Names the body reads besides temporaries and the array module.

    These are the declared symbols whose shapes give a dim's size: ``y.shape[0]`` in
    ``grad(sum(y), y)``, which has no ``y``.
    """
    try:
        body = ast.parse("\n".join(line.strip() for line in lines))
    except SyntaxError as err:  # a size read off a symbol whose name is a keyword
        raise EinderivError(
            f"codegen: a dim's size is read off a symbol whose name is not usable in code "
            f"({err.msg}); rename the symbols that are Python keywords"
        ) from None
    loaded = {n.id for n in ast.walk(body) if isinstance(n, ast.Name)}
    return loaded - set(temps) - {prefix.split(".")[0], "jnp", "torch", "np"}


def codegen(expr: Expr, name: str = "f", module: str = "np") -> str:
    """Python source of ``def name(<symbols>)`` computing ``expr`` with shared temporaries.

    Args:
        expr: the expression to compute.
        name: the function's name.
        module: the array module, ``"np"``, ``"jax.numpy"`` or ``"torch"``.

    Returns:
        The function's source, with the import line first.

    >>> import einderiv as ed
    >>> x = ed.symbols("x[n]")
    >>> "t0 = np.tanh(x)" in codegen(ed.grad(ed.sum(ed.tanh(x) ** 3), "x"))
    True
    """
    _check_arguments(expr, name, module)
    header, prefix = _MODULES[module]
    names: dict[str, str] = {}
    lines: list[str] = []
    with dialect("torch" if prefix == "torch" else "np"):
        for node in _shared(expr):
            text = to_text(matrix_form(node, dict(names), root=expr))
            temp = f"t{len(names)}"
            names[node.key] = temp
            lines.append(f"    {temp} = {_translate(text, prefix)}")
        result = to_text(matrix_form(expr, dict(names), root=expr))
    lines.append(f"    return {_translate(result, prefix)}")
    args = ", ".join(sorted(set(expr.symbols()) | _size_owners(lines, names.values(), prefix)))
    source = f"{header}\n\n\ndef {name}({args}):\n" + "\n".join(lines) + "\n"
    _check_names(source, name, [a.split("=")[0] for a in args.split(", ") if a])
    return source


def _check_arguments(expr: Any, name: Any, module: Any) -> None:
    """The types and values :func:`codegen` accepts, with what was expected."""
    if not isinstance(expr, Expr):
        hint = (
            "; parse the text first: codegen(ed.parse(text, shapes=...))"
            if isinstance(expr, str) else ""
        )
        raise EinderivError(
            f"codegen: expected an einderiv expression, got {type(expr).__name__}{hint}"
        )
    if not isinstance(module, str) or module not in _MODULES:
        raise EinderivError(
            f"codegen: the array module must be one of {', '.join(repr(m) for m in _MODULES)}, "
            f"got {module!r}"
        )
    if not isinstance(name, str) or not name.isidentifier():
        raise EinderivError(
            f"codegen: the function name must be a Python identifier such as 'f' or "
            f"'grad_W', got {name!r}"
        )
    if keyword.iskeyword(name):
        raise EinderivError(
            f"codegen: the function name {name!r} is a Python keyword, so 'def {name}(...)' "
            f"would not compile; pick another name, such as '{name}_'"
        )
    for symbol in sorted(expr.symbols()):
        if keyword.iskeyword(symbol):
            raise EinderivError(
                f"codegen: the symbol '{symbol}' is a Python keyword, so it cannot be an "
                f"argument of the generated function; rename the symbol (e.g. '{symbol}_')"
            )


def _check_names(source: str, name: str, params: list[str]) -> None:
    """Refuse names that make the generated source wrong.

    A keyword cannot be an argument; the function's name or an argument must not hide
    the array module (``np``) or a builtin the body calls (``float``).
    """
    for param in params:
        if keyword.iskeyword(param):
            raise EinderivError(
                f"codegen: the symbol '{param}' is a Python keyword, so it cannot be an "
                f"argument of the generated function; rename the symbol (e.g. '{param}_')"
            )
    try:
        tree = ast.parse(source)
    except SyntaxError as err:  # pragma: no cover - every name was checked above
        raise EinderivError(
            f"codegen: the generated source does not compile ({err.msg}); please report it"
        ) from None
    imported = {alias.asname or alias.name.split(".")[0] for n in tree.body
                if isinstance(n, ast.Import) for alias in n.names}
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)
              and isinstance(n.func, ast.Name)}
    for taken in sorted({name, *params} & (imported | called)):
        what = "the function name" if taken == name else "the symbol"
        use = "the array module" if taken in imported else "a builtin that the code calls"
        raise EinderivError(
            f"codegen: {what} '{taken}' would hide {use} '{taken}' in the generated code; "
            f"rename it (e.g. '{taken}_')"
        )
