"""Build a textbook case with einderiv's public API, sample its values, run numpy programs.

Everything here goes through the public contract only (``ed.parse``, ``ed.symbols``,
``ed.grad``, ``ed.vjp``, ``ed.jvp``, ``ed.diff``, ``ed.hessian``, ``.evaluate``,
``.to_numpy()``, ``.shape``).

* :func:`sizes_of` gives every dim of a case a DISTINCT size (3, 4, 5, ... in order of
  first appearance in ``shapes``, unless the case overrides one), so a transposed formula
  cannot agree by luck.
* :func:`sample` draws seeded float64 values: standard normal by default; ``positive``
  symbols uniform in [0.5, 2]; ``spd`` symbols ``M M^T / n + I``; ``invertible`` symbols
  ``M + n I`` (well conditioned, not symmetric); declared-symmetric (``:sym``) symbols
  symmetrized; ``onehot`` symbols one-hot along their last axis; ``binary`` symbols 0/1.
* :func:`run_program` executes a numpy program (our own trusted strings: the textbook
  forms and einderiv's rendering) in ``{"np": numpy, **values}`` and returns the value of
  its last line: a bare expression, or the name the last assignment binds.
* :func:`forward` evaluates a case's ``f`` text with plain numpy (einderiv's function
  names mapped to numpy), independently of einderiv, for finite differences.
"""

from __future__ import annotations

import ast
import functools

import numpy as np

import einderiv as ed

from .cases import Case

# -- symbols and sizes -----------------------------------------------------------------


@functools.cache
def declared(case: Case) -> dict[str, ed.Symbol]:
    """The symbols the case's ``shapes`` declares, by name."""
    found = ed.symbols(case.shapes)
    found = found if isinstance(found, tuple) else (found,)
    return {sym.name: sym for sym in found}


def sizes_of(case: Case) -> dict[str, int]:
    """A distinct size for every dim: 3, 4, 5, ... in order of first appearance."""
    override = dict(case.sizes)
    sizes: dict[str, int] = {}
    free = iter(n for n in range(3, 40) if n not in override.values())
    for sym in declared(case).values():
        for dim in sym.shape:
            if dim != "1" and dim not in sizes:
                sizes[dim] = override[dim] if dim in override else next(free)
    return sizes


def shape_of(dims: tuple[str, ...], sizes: dict[str, int]) -> tuple[int, ...]:
    """The numeric shape of ``dims``."""
    return tuple(1 if dim == "1" else sizes[dim] for dim in dims)


# -- the derivative --------------------------------------------------------------------


@functools.cache
def expression(case: Case) -> ed.Expr:
    """The case's ``f``, parsed."""
    return ed.parse(case.f, shapes=case.shapes)


@functools.cache
def derivative(case: Case) -> ed.Expr:
    """The derivative the case asks for, built with the public API."""
    f = expression(case)
    if case.kind == "grad":
        return ed.grad(f, case.wrt)
    if case.kind == "vjp":
        return ed.vjp(f, case.wrt, case.cotangent)
    if case.kind == "jvp":
        return ed.jvp(f, case.wrt, case.tangent)
    if case.kind == "hessian":
        return ed.hessian(f, case.wrt)
    if case.kind == "diff":
        return ed.diff(f, case.wrt)
    raise ValueError(f"{case.id}: unknown kind {case.kind!r}")


def extra_dims(case: Case) -> dict[str, tuple[str, ...]]:
    """Dims of the symbols a derivative adds: the cotangent (f's) or the tangent (wrt's)."""
    out: dict[str, tuple[str, ...]] = {}
    if case.cotangent:
        out[case.cotangent] = tuple(expression(case).shape)
    if case.tangent:
        out[case.tangent] = tuple(declared(case)[case.wrt].shape)
    return out


# -- values ----------------------------------------------------------------------------


def _draw(case: Case, name: str, shape: tuple[int, ...], symmetric: bool,
          rng: np.random.Generator):
    if name in case.spd:
        n = shape[0]
        m = rng.normal(size=(n, n))
        return m @ m.T / n + np.eye(n)
    if name in case.positive:
        value = rng.uniform(0.5, 2.0, size=shape)
    elif name in case.onehot:
        value = np.zeros(shape)
        flat = value.reshape(-1, shape[-1])
        flat[np.arange(flat.shape[0]), rng.integers(0, shape[-1], size=flat.shape[0])] = 1.0
        value = flat.reshape(shape)
    elif name in case.binary:
        value = rng.integers(0, 2, size=shape).astype(float)
    else:
        value = rng.normal(size=shape)
    if name in case.invertible:
        value = value + shape[0] * np.eye(shape[0])
    if symmetric:
        value = (value + value.T) / 2
    return float(value) if shape == () else value


def sample(case: Case, seed: int = 0) -> dict[str, object]:
    """Seeded float64 values for every symbol of the case and of its derivative."""
    rng = np.random.default_rng(seed)
    sizes = sizes_of(case)
    values: dict[str, object] = {}
    for name, sym in declared(case).items():
        values[name] = _draw(case, name, shape_of(sym.shape, sizes), sym.symmetric, rng)
    for name, dims in extra_dims(case).items():
        values[name] = rng.normal(size=shape_of(dims, sizes))
    return values


def copied(values: dict[str, object]) -> dict[str, object]:
    """Fresh copies, so a program that updates an array in place cannot leak."""
    return {k: np.array(v) if isinstance(v, np.ndarray) else v for k, v in values.items()}


# -- running numpy programs ------------------------------------------------------------

_RESULT = "__result__"


@functools.cache
def _compiled(text: str):
    tree = ast.parse(text)
    if not tree.body:
        raise ValueError("empty program")
    last = tree.body[-1]
    if isinstance(last, ast.Expr):
        tree.body[-1] = ast.Assign(
            targets=[ast.Name(id=_RESULT, ctx=ast.Store())], value=last.value
        )
        result = _RESULT
    elif isinstance(last, ast.Assign) and len(last.targets) == 1 and isinstance(
            last.targets[0], ast.Name):
        result = last.targets[0].id
    elif isinstance(last, ast.AugAssign) and isinstance(last.target, ast.Name):
        result = last.target.id
    else:
        raise ValueError(f"the last line of a program must be an expression or an "
                         f"assignment to a name: {ast.unparse(last)!r}")
    ast.fix_missing_locations(tree)
    return compile(tree, "<program>", "exec"), result


def run_program(text: str, values: dict[str, object], functions: dict | None = None):
    """Execute ``text`` in ``{"np": numpy, **functions, **values}``; its last line's value."""
    code, result = _compiled(text)
    namespace = {"np": np, **(functions or {}), **copied(values)}
    exec(code, namespace)  # noqa: S102 - our own trusted strings, never user input
    return np.asarray(namespace[result], dtype=float)


# -- an independent numpy forward for finite differences -------------------------------


def _softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _logsumexp(a, axis=None, keepdims=False):
    m = np.max(a, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else (np.squeeze(out, axis=axis) if axis is not None
                                 else out.reshape(()))


FORWARD_FUNCTIONS = {
    "tanh": np.tanh, "exp": np.exp, "log": np.log, "log1p": np.log1p,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)), "sqrt": np.sqrt, "abs": np.abs,
    "relu": lambda x: np.maximum(x, 0.0), "softplus": lambda x: np.logaddexp(0.0, x),
    "sin": np.sin, "cos": np.cos, "square": np.square, "sum": np.sum, "mean": np.mean,
    "trace": np.trace, "diag": np.diag, "outer": np.outer, "transpose": np.transpose,
    "norm": np.linalg.norm, "softmax": _softmax, "logsumexp": _logsumexp,
    "inv": np.linalg.inv, "det": np.linalg.det, "logdet": lambda a: np.linalg.slogdet(a)[1],
    "einsum": np.einsum, "matmul": np.matmul, "dot": np.dot,
}
"""einderiv's text functions, spelled in numpy, to run a case's ``f`` without einderiv."""


def forward(case: Case, values: dict[str, object]):
    """The case's ``f`` evaluated by numpy alone."""
    return run_program(case.f, values, FORWARD_FUNCTIONS)
