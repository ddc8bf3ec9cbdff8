r"""Elementwise functions: one entry each (evaluation, partial derivatives, spellings).

Contract: every ``array(xp, *args, param)`` evaluates with the array namespace ``xp``'s
own kernels and keeps the arguments' dtype (and device); every ``derivative`` builds the
partial derivatives from IR with the injected builder ``f`` (see
:data:`~einderiv.functions.schema.Build`) and the expression operators.

Functions of two arguments (``maximum``, ``minimum``, ``logaddexp``) are one ``Func`` node
with both arguments and one partial derivative per argument, not compositions such as
``b + relu(a - b)``: a composition loses the smaller argument to cancellation
(``maximum(0.1, -1e20)`` would be 0) and prints as its expansion, while one node
evaluates with the backend's own kernel and prints as ``np.maximum(a, b)``.

Ties: ``maximum(a, b)`` and ``minimum(a, b)`` are differentiated through a Heaviside
step, like ``relu``; where ``a == b`` the whole derivative goes to the *second*
argument (``∂a = step(a - b)``, ``∂b = 1 - step(a - b)`` for ``maximum``), so that
``maximum(x, 0)`` has ``relu``'s derivative (``relu'(0) = 0``) and ``maximum(x, x)``
has derivative 1.

>>> from einderiv.functions import FUNCTIONS
>>> import numpy as np
>>> float(FUNCTIONS["sigmoid"].evaluate(np.array(0.0)))
0.5
>>> FUNCTIONS["maximum"].evaluate(np.array([1.0, -2.0]), np.array([0.0, 0.0]))
array([1., 0.])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from einderiv.functions.schema import Build, Elementwise, Example, namespace
from einderiv.ir.nodes import Expr, constant

_POSITIVE = (0.0, math.inf)
_UNIT = (-1.0, 1.0)


def _ufunc(name: str, arity: int = 1) -> Callable[..., Any]:
    """Evaluation by the array namespace's own function of that name (``xp.tanh``)."""

    def apply(xp: Any, *args: Any) -> Any:
        return getattr(xp, name)(*args[:arity])  # then comes the (unused) param

    apply.__name__ = name
    return apply


def _sigmoid(xp: Any, x: Any, _p: float | None = None) -> Any:
    """``1 / (1 + exp(-x))``, stable for large ``|x|`` on every backend."""
    if namespace(xp) == "torch":
        return xp.sigmoid(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _step(xp: Any, x: Any, _p: float | None = None) -> Any:
    """Heaviside step with ``step(0) = 0``, in ``x``'s dtype."""
    return xp.where(x > 0, xp.ones_like(x), xp.zeros_like(x))


def _relu(xp: Any, x: Any, _p: float | None = None) -> Any:
    return xp.where(x > 0, x, xp.zeros_like(x))


def _softplus(xp: Any, x: Any, _p: float | None = None) -> Any:
    return xp.logaddexp(xp.zeros_like(x), x)


def _pow(xp: Any, x: Any, p: float | None) -> Any:
    assert p is not None
    if p == int(p):
        return 1 / x if p == -1.0 else x ** int(p)
    return x**p


def _numpy_erf(x: Any) -> Any:
    """``erf`` on numpy arrays: scipy's kernel when scipy is installed, else ``math.erf``."""
    x = np.asarray(x)
    try:
        from scipy.special import erf
    except ImportError:  # pragma: no cover - scipy comes with jax; numpy alone has no erf
        return np.vectorize(math.erf, otypes=[x.dtype])(x)
    return erf(x)


def _erf(xp: Any, x: Any, _p: float | None = None) -> Any:
    """The error function with the backend's own kernel (numpy has none: scipy or math)."""
    name = namespace(xp)
    if name == "torch":
        return xp.special.erf(x)
    if name.startswith("jax"):
        import jax.scipy.special

        return jax.scipy.special.erf(x)
    if name == "cupy":  # pragma: no cover - needs a GPU
        import cupyx.scipy.special

        return cupyx.scipy.special.erf(x)
    if name.startswith("dask"):
        return x.map_blocks(_numpy_erf, dtype=x.dtype)
    return _numpy_erf(x)


def _pow_derivative(x: Expr, p: float | None, f: Build) -> Expr:
    assert p is not None
    if p == 1.0:
        return constant(1.0, x.dims)
    return p * f("pow", x, p - 1.0)


def _unary(
    name: str,
    derivative: Callable[[Expr, float | None, Build], Expr],
    latex: str,
    summary: str,
    *,
    array: Callable[..., Any] | None = None,
    numpy: str | None = None,
    **fields: Any,
) -> Elementwise:
    """An entry for ``name(x)``: ``xp.<name>`` and ``np.<name>(x)`` unless told otherwise."""
    numpy = numpy if numpy is not None else f"np.{name}({{0}})"
    return Elementwise(
        name=name,
        summary=summary,
        array=array or _ufunc(name),
        derivative=derivative,
        numpy=numpy,
        latex=latex,
        example=Example("x[n]", f"{name}(x)", numpy.format("x"))
        if fields.get("public", True) else None,
        **fields,
    )


def _binary(
    name: str,
    derivative: Callable[[Expr, Expr, float | None, Build], tuple[Expr, Expr]],
    latex: str,
    summary: str,
) -> Elementwise:
    """An entry for ``name(a, b)`` with numpy broadcasting, evaluated by ``xp.<name>``."""
    numpy = f"np.{name}({{0}}, {{1}})"
    return Elementwise(
        name=name,
        summary=summary,
        arrays=("x1", "x2"),
        array=_ufunc(name, 2),
        derivative=derivative,
        numpy=numpy,
        latex=latex,
        example=Example("a[n] b[n]", f"{name}(a, b)", numpy.format("a", "b")),
    )


def _maximum_partials(a: Expr, b: Expr, p: float | None, f: Build) -> tuple[Expr, Expr]:
    wins = f("step", a - b)  # ties go to b (see the module docstring)
    return wins, 1.0 - wins


def _minimum_partials(a: Expr, b: Expr, p: float | None, f: Build) -> tuple[Expr, Expr]:
    wins = f("step", b - a)
    return wins, 1.0 - wins


ENTRIES: list[Elementwise] = [
    _unary("tanh", lambda x, p, f: 1.0 - f("tanh", x) ** 2, r"\tanh", "hyperbolic tangent"),
    _unary("exp", lambda x, p, f: f("exp", x), r"\exp", "exponential"),
    _unary(
        "log", lambda x, p, f: f("pow", x, -1.0), r"\log", "natural logarithm",
        domain=_POSITIVE,
    ),
    _unary(
        "log1p", lambda x, p, f: f("pow", 1.0 + x, -1.0), r"\mathrm{log1p}",
        "log(1 + x), accurate near 0", domain=(-1.0, math.inf),
    ),
    _unary(
        "sigmoid", lambda x, p, f: f("sigmoid", x) * (1.0 - f("sigmoid", x)), r"\sigma",
        "logistic sigmoid 1 / (1 + exp(-x)), stable", array=_sigmoid,
        numpy="1 / (1 + np.exp(-{0}))", torch="torch.sigmoid({0})", aliases=("expit",),
    ),
    _unary(
        "sqrt", lambda x, p, f: 0.5 * f("pow", f("sqrt", x), -1.0), r"\sqrt{#1}",
        "square root", domain=_POSITIVE,
    ),
    _unary(
        "abs", lambda x, p, f: f("sign", x), r"\mathrm{abs}", "absolute value",
        aliases=("absolute",),
    ),
    _unary(
        "sign", lambda x, p, f: constant(0.0, x.dims), r"\mathrm{sign}",
        "sign (-1, 0 or 1); derivative 0",
    ),
    _unary(
        "relu", lambda x, p, f: f("step", x), r"\mathrm{relu}",
        "max(x, 0); derivative step(x), 0 at 0", array=_relu, numpy="np.maximum({0}, 0)",
        torch="torch.relu({0})",
    ),
    _unary(
        "step", lambda x, p, f: constant(0.0, x.dims), r"\mathrm{step}",
        "Heaviside step, 0 at 0 (the derivative of relu)", array=_step,
        numpy="np.heaviside({0}, 0.0)", torch="((({0}) > 0) * 1.0)", public=False,
    ),
    _unary(
        "softplus", lambda x, p, f: f("sigmoid", x), r"\mathrm{softplus}",
        "log(1 + exp(x)), stable", array=_softplus, numpy="np.logaddexp(0, {0})",
        torch="torch.nn.functional.softplus({0})",
    ),
    _unary("sin", lambda x, p, f: f("cos", x), r"\sin", "sine"),
    _unary("cos", lambda x, p, f: -f("sin", x), r"\cos", "cosine"),
    _unary("tan", lambda x, p, f: 1.0 + f("tan", x) ** 2, r"\tan", "tangent",
           domain=(-1.5, 1.5)),
    _unary(
        "arcsin", lambda x, p, f: f("pow", 1.0 - x**2, -0.5), r"\arcsin", "inverse sine",
        domain=_UNIT,
    ),
    _unary(
        "arccos", lambda x, p, f: -f("pow", 1.0 - x**2, -0.5), r"\arccos", "inverse cosine",
        domain=_UNIT,
    ),
    _unary("arctan", lambda x, p, f: f("pow", 1.0 + x**2, -1.0), r"\arctan", "inverse tangent"),
    _unary("sinh", lambda x, p, f: f("cosh", x), r"\sinh", "hyperbolic sine"),
    _unary("cosh", lambda x, p, f: f("sinh", x), r"\cosh", "hyperbolic cosine"),
    _unary(
        "arcsinh", lambda x, p, f: f("pow", 1.0 + x**2, -0.5), r"\mathrm{arcsinh}",
        "inverse hyperbolic sine",
    ),
    _unary(
        "arctanh", lambda x, p, f: f("pow", 1.0 - x**2, -1.0), r"\mathrm{arctanh}",
        "inverse hyperbolic tangent", domain=_UNIT,
    ),
    _unary(
        "erf", lambda x, p, f: (2.0 / math.sqrt(math.pi)) * f("exp", -(x**2)),
        r"\mathrm{erf}", "error function (numpy has none: spelled scipy.special.erf)",
        array=_erf, numpy="scipy.special.erf({0})", torch="torch.special.erf({0})",
        jax="jax.scipy.special.erf({0})",
    ),
    Elementwise(
        name="pow", summary="x ** p for a constant p (spelled with **)", array=_pow,
        derivative=_pow_derivative, numpy="{0}**p", latex="#1^{p}", public=False,
    ),
    _binary("maximum", _maximum_partials, r"\max", "elementwise maximum; ties: see above"),
    _binary("minimum", _minimum_partials, r"\min", "elementwise minimum; ties: see above"),
    _binary(
        "logaddexp",
        lambda a, b, p, f: (f("sigmoid", a - b), f("sigmoid", b - a)),
        r"\log\left(e^{#1} + e^{#2}\right)", "log(exp(a) + exp(b)), stable",
    ),
]
