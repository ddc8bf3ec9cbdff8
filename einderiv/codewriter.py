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
import re

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
    body = ast.parse("\n".join(line.strip() for line in lines))
    loaded = {n.id for n in ast.walk(body) if isinstance(n, ast.Name)}
    return loaded - set(temps) - {prefix.split(".")[0], "jnp", "torch", "np", "jax", "scipy"}


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
    if module not in _MODULES:
        from einderiv.errors import EinderivError

        raise EinderivError(
            f"codegen: unknown array module {module!r}; use one of {sorted(_MODULES)}"
        )
    if not name.isidentifier():
        from einderiv.errors import EinderivError

        raise EinderivError(f"codegen: function name {name!r} is not a Python identifier")
    header, prefix = _MODULES[module]
    names: dict[str, str] = {}
    lines: list[str] = []
    with dialect({"torch": "torch", "jnp": "jax"}.get(prefix, "np")):
        for node in _shared(expr):
            text = to_text(matrix_form(node, dict(names), root=expr))
            temp = f"t{len(names)}"
            names[node.key] = temp
            lines.append(f"    {temp} = {_translate(text, prefix)}")
        result = to_text(matrix_form(expr, dict(names), root=expr))
    lines.append(f"    return {_translate(result, prefix)}")
    args = ", ".join(sorted(set(expr.symbols()) | _size_owners(lines, names.values(), prefix)))
    return f"{_imports(header, lines)}\n\n\ndef {name}({args}):\n" + "\n".join(lines) + "\n"


#: modules that registry spellings use besides the array module (``scipy.special.erf``)
_EXTRA_MODULES = re.compile(r"(?<![\w.])((?:jax\.)?scipy\.special)\.")


def _imports(header: str, lines: list[str]) -> str:
    """The import lines: the array module's, then any module a spelling names."""
    extra = sorted({m.group(1) for line in lines for m in _EXTRA_MODULES.finditer(line)})
    return "\n".join([header, *(f"import {module}" for module in extra)])
