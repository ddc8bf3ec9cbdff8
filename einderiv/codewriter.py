"""Code generation: a readable Python function with named temporaries for shared parts.

Contract: :func:`codegen` returns the source of one Python function (``def f(A, x):``)
that computes the same array as ``evaluate``.  Its arguments are the expression's
inputs: the ones the code reads in declared order, then the others (declared but
unused, e.g. a symbol that cancelled) as optional ``name=None``, so ``f(**values)``
works with every input.  Its body is the readable form of
:func:`~einderiv.render.program.to_program`: the same lines and names (``a1``, ``dz3``,
``s``), each part computed once.  ``module`` picks the
array module: ``"np"``/``"numpy"``, ``"jax.numpy"`` or ``"torch"`` (the numpy spelling
is translated: ``dim=``/``keepdim=`` for reductions, ``torch.relu``, ``torch.sigmoid``,
``torch.logsumexp``...; the caller passes tensors of one dtype).

>>> import einderiv as ed
>>> W, x = ed.symbols("W[n,m] x[m]")
>>> print(codegen(ed.vjp(W @ x, "x", "g"), name="pullback"))
import numpy as np
<BLANKLINE>
<BLANKLINE>
def pullback(W, g, x=None):
    return W.T @ g
<BLANKLINE>
"""

from __future__ import annotations

import ast
import keyword
import re
from typing import Any

from einderiv.errors import EinderivError
from einderiv.ir.nodes import (
    Expr,
    inputs_of,
)
from einderiv.render.numpytext import dialect, to_text
from einderiv.render.program import program_trees

_MODULES = {
    "np": ("import numpy as np", "np"),
    "numpy": ("import numpy as np", "np"),
    "jax.numpy": ("import jax.numpy as jnp", "jnp"),
    "jnp": ("import jax.numpy as jnp", "jnp"),
    "torch": ("import torch", "torch"),
}


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
    >>> codegen(ed.grad(ed.sum(ed.tanh(x) ** 3), "x")).count("np.tanh(x)")  # computed once
    1
    """
    _check_arguments(expr, name, module)
    header, prefix = _MODULES[module]
    with dialect({"torch": "torch", "jnp": "jax"}.get(prefix, "np")):
        trees = program_trees(expr)  # the readable form's lines and names
        texts = [(line, _translate(to_text(tree), prefix)) for line, tree in trees]
    lines = [f"    {line} = {text}" for line, text in texts[:-1]]
    lines.append(f"    return {texts[-1][1]}")
    temps = [line for line, _ in texts[:-1]]
    read = _size_owners(lines, temps, prefix)
    inputs = [sym.name for sym in inputs_of(expr)]
    # the inputs the code reads, in declared order, then the other declared inputs as
    # optional arguments: f(**values) works with every input of the expression
    used = [n for n in inputs if n in read] + sorted(read - set(inputs))
    unused = [f"{n}=None" for n in inputs if n not in read]
    args = ", ".join([*used, *unused])
    source = f"{_imports(header, lines)}\n\n\ndef {name}({args}):\n" + "\n".join(lines) + "\n"
    _check_names(source, name, [*used, *(n for n in inputs if n not in read)])
    return source


#: modules that registry spellings use besides the array module (``scipy.special.erf``)
_EXTRA_MODULES = re.compile(r"(?<![\w.])((?:jax\.)?scipy\.special)\.")


def _imports(header: str, lines: list[str]) -> str:
    """The import lines: the array module's, then any module a spelling names."""
    extra = sorted({m.group(1) for line in lines for m in _EXTRA_MODULES.finditer(line)})
    return "\n".join([header, *(f"import {module}" for module in extra)])


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
