"""Code generation: a readable Python function with named temporaries for shared parts.

Contract: :func:`codegen` returns the source of one Python function (``def f(A, x):``)
that computes the same array as ``evaluate``.  Its arguments are the expression's
inputs in declared order (a derivative's: f's inputs, then wrt, cotangent or tangent),
so both ``f(*args)`` in that order and ``f(**values)`` work.  An input the code does
not read (a symbol that cancelled, ``x`` of ``vjp(W @ x, x)``) is optional, ``x=None``;
inputs after it are optional too, as Python wants, but the code raises ``TypeError``
when one it reads is missing.  Its body is the readable form of
:func:`~einderiv.render.program.to_program`: the same lines and names (``a1``, ``dz3``,
``s``), each part computed once.  ``module`` picks the array module: ``"np"``/``"numpy"``,
``"jax.numpy"``, ``"torch"`` or ``"cupy"`` (the numpy spelling is translated:
``dim=``/``keepdim=`` for torch reductions, ``torch.relu``, ``torch.sigmoid``,
``torch.logsumexp``, ``cp.`` and ``cupyx.scipy.special`` for cupy; the caller passes
arrays of one dtype).  ``check_shapes=True`` adds checks of the arguments' shapes
against the declared dims (``ValueError`` naming the argument, the axis and both sizes);
``check=True`` runs the function once at random values and compares it with ``evaluate``
(:func:`check_generated`).

>>> import einderiv as ed
>>> W, x = ed.symbols("W[n,m] x[m]")
>>> print(codegen(ed.vjp(W @ x, "x", "g"), name="pullback"))
import numpy as np
<BLANKLINE>
<BLANKLINE>
def pullback(W, x=None, g=None):
    if g is None:
        raise TypeError("pullback() missing required argument: 'g'")
    return W.T @ g
<BLANKLINE>
"""

from __future__ import annotations

import ast
import keyword
import re
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from einderiv.errors import EinderivError
from einderiv.ir.nodes import (
    Expr,
    Symbol,
    inputs_of,
)
from einderiv.render.numpytext import Dialect, to_text
from einderiv.render.program import program_trees

_MODULES = {
    "np": ("import numpy as np", "np"),
    "numpy": ("import numpy as np", "np"),
    "jax.numpy": ("import jax.numpy as jnp", "jnp"),
    "jnp": ("import jax.numpy as jnp", "jnp"),
    "torch": ("import torch", "torch"),
    "cupy": ("import cupy as cp", "cp"),
    "cp": ("import cupy as cp", "cp"),
}


def _translate(text: str, prefix: str) -> str:
    if prefix == "np":
        return text
    if prefix == "cp":  # cupy mirrors numpy; scipy.special lives in cupyx
        text = re.sub(r"(?<![\w.])scipy\.special\.", "cupyx.scipy.special.", text)
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
    return loaded - set(temps) - {
        prefix.split(".")[0], "jnp", "torch", "np", "jax", "scipy", "cp", "cupyx"}


def codegen(expr: Expr, name: str = "f", module: str = "np", *, check_shapes: bool = False,
            check: bool = False) -> str:
    """Python source of ``def name(<inputs>)`` computing ``expr`` with shared temporaries.

    Args:
        expr: the expression to compute.
        name: the function's name.
        module: the array module, ``"np"``, ``"jax.numpy"``, ``"torch"`` or ``"cupy"``.
        check_shapes: check the arguments' shapes against the declared dims first.
        check: run the function once at random values and compare it with ``evaluate``
            (raises :class:`~einderiv.EinderivError` if they disagree).

    Returns:
        The function's source, with the import lines first.

    >>> import einderiv as ed
    >>> x = ed.symbols("x[n]")
    >>> codegen(ed.grad(ed.sum(ed.tanh(x) ** 3), "x")).count("np.tanh(x)")  # computed once
    1
    >>> print(codegen(ed.symbols("W[m,n]") @ x, check_shapes=True).splitlines()[4])
        if len(W.shape) != 2:
    """
    _check_arguments(expr, name, module)
    header, prefix = _MODULES[module]
    spelling: Dialect = "torch" if prefix == "torch" else "jax" if prefix == "jnp" else "np"
    trees = program_trees(expr)  # the readable form's lines and names
    texts = [(line, _translate(to_text(tree, spelling), prefix)) for line, tree in trees]
    lines = [f"    {line} = {text}" for line, text in texts[:-1]]
    lines.append(f"    return {texts[-1][1]}")
    temps = [line for line, _ in texts[:-1]]
    read = _size_owners(lines, temps, prefix)
    declared = list(inputs_of(expr))
    inputs = [sym.name for sym in declared]
    # declared order for every input; from the first one the code does not read on, each
    # is optional (Python's rule), and the code refuses a missing one that it reads
    params, guards, optional = [], [], False
    for n in [*inputs, *sorted(read - set(inputs))]:
        optional = optional or n not in read
        params.append(f"{n}=None" if optional else n)
        if optional and n in read:
            guards += [f"    if {n} is None:",
                       f"        raise TypeError(\"{name}() missing required argument: '{n}'\")"]
    if check_shapes:
        guards += _shape_checks([s for s in declared if s.name in read], name)
    body = "\n".join([*guards, *lines])
    source = f"{_imports(header, lines)}\n\n\ndef {name}({', '.join(params)}):\n{body}\n"
    _check_names(source, name, [p.split("=")[0] for p in params])
    if check:
        check_generated(expr, source, name, module)
    return source


def _shape_checks(symbols: list[Symbol], fname: str) -> list[str]:
    """Lines that raise ``ValueError`` when an argument's shape breaks the declared dims."""
    lines: list[str] = []
    bound: dict[str, tuple[str, int]] = {}
    for sym in symbols:
        if not sym.dims:
            continue
        n, rank = sym.name, len(sym.dims)
        declared = f"{n}[{','.join(sym.dims)}]"
        lines += [f"    if len({n}.shape) != {rank}:",
                  f"        raise ValueError(f\"{fname}: {n} must have {rank} "
                  f"{'axis' if rank == 1 else 'axes'} (declared {declared}), got shape "
                  f"{{tuple({n}.shape)}}\")"]
        for axis, dim in enumerate(sym.dims):
            size = f"{n}.shape[{axis}]"
            if dim == "1":
                lines += [f"    if {size} != 1:",
                          f"        raise ValueError(f\"{fname}: {n}'s axis {axis} must have size"
                          f" 1 (declared {declared}), got {{{size}}}\")"]
            elif dim in bound:
                other, k = bound[dim]
                lines += [f"    if {size} != {other}.shape[{k}]:",
                          f"        raise ValueError(f\"{fname}: {n}'s axis {axis} ({dim}) has "
                          f"size {{{size}}}, but {dim} = {{{other}.shape[{k}]}} from {other}'s "
                          f"axis {k}; pass arrays whose sizes agree with the declared dims\")"]
            else:
                bound[dim] = (n, axis)
    return lines


def check_generated(expr: Expr, source: str, name: str = "f", module: str = "np",
                    seed: int = 0) -> float:
    """Run generated ``source`` once at random values and compare it with ``evaluate``.

    The values are float64, standard normal, or inside a function's domain where it has
    one (``log``, ``sqrt``); returns the largest difference.  This checks the code
    against an independent interpreter of the same expression (spellings, argument
    order, shapes); whether an expression is the right *derivative* is
    :func:`einderiv.testing.check_derivative`'s question (central differences).

    >>> import einderiv as ed
    >>> W, x = ed.symbols("W[n,m] x[m]")
    >>> e = ed.tanh(W @ x)
    >>> check_generated(e, codegen(e)) < 1e-12
    True
    """
    from einderiv.testing import default_sizes

    convert = _converter(module)
    sizes = default_sizes(expr)
    scope: dict[str, Any] = {}
    try:
        exec(compile(source, f"<codegen {name}>", "exec"), scope)  # noqa: S102 - our output
    except ImportError as err:
        raise EinderivError(
            f"codegen(check=True): the generated code imports a module that is not installed "
            f"({err}); install it or check with module='np'"
        ) from None
    with _precision(module):
        return _compare_at_random_values(expr, scope[name], name, convert, sizes, seed)


def _compare_at_random_values(expr: Expr, fn: Any, name: str, convert: Any,
                              sizes: dict[str, int], seed: int) -> float:
    """The largest difference of ``fn`` from ``evaluate`` at seeded values (see above)."""
    import numpy as np

    from einderiv.sampling import domain_values
    from einderiv.testing import random_values

    worst = 0.0
    for attempt in ("normal", "domain"):
        rng = np.random.default_rng(seed)
        values = random_values(expr, sizes, rng)
        if attempt == "domain":
            extra = domain_values(expr, sizes, np.random.default_rng(seed + 1))
            if not extra:
                break
            values.update(extra)
        with np.errstate(all="ignore"):
            want = np.asarray(expr.evaluate(values, sizes=sizes), dtype=float)
        if not np.all(np.isfinite(want)):
            continue
        got = fn(**{k: convert(v) for k, v in values.items()})
        got = np.asarray(got.cpu() if hasattr(got, "cpu") else got, dtype=float)
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-7, atol=1e-9):
            diff = float(np.max(np.abs(got - want))) if got.shape == want.shape else float("inf")
            raise EinderivError(
                f"codegen(check=True): the generated {name}() disagrees with evaluate at random "
                f"values (sizes {sizes}; shapes {got.shape} and {want.shape}, max difference "
                f"{diff:.3g}); please report it, with the expression"
            )
        return float(np.max(np.abs(got - want))) if got.size else worst
    raise EinderivError(
        "codegen(check=True): the expression is not finite at the random values tried "
        "(standard normal, then inside its functions' domains), so it could not be checked; "
        "call check_generated(expr, source, seed=...) with another seed"
    )


def _precision(module: str) -> AbstractContextManager[Any]:
    """float64 for the check's run: jax's x64 for the check only (no process-wide setting)."""
    if _MODULES[module][1] == "jnp":
        import jax

        return jax.enable_x64(True)
    return nullcontext()


def _converter(module: str):
    """A function that turns numpy float64 arrays into the generated code's arrays."""
    prefix = _MODULES[module][1]
    if prefix == "torch":
        import torch

        return torch.from_numpy
    if prefix == "jnp":
        import jax

        return jax.numpy.asarray
    if prefix == "cp":
        try:
            import cupy
        except ImportError:
            raise EinderivError(
                "codegen(check=True) with module='cupy' runs the code, and cupy is not "
                "installed; install cupy (it needs a GPU) or check with module='np'"
            ) from None
        return cupy.asarray  # pragma: no cover - no GPU in CI
    return lambda value: value


#: modules that registry spellings use besides the array module (``scipy.special.erf``)
_EXTRA_MODULES = re.compile(r"(?<![\w.])((?:jax\.|cupyx\.)?scipy\.special)\.")


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
