"""Function table: every elementwise function, one entry each.

Contract: an entry gives the numpy implementation, the elementwise derivative built
from IR (same dims as the argument), the numpy spelling used by rendering and the
LaTeX spelling.  Adding a function is one entry here plus one test.

>>> FUNCTIONS["tanh"].numpy
'np.tanh'
>>> import numpy as np
>>> float(FUNCTIONS["sigmoid"].evaluate(np.array(0.0)))
0.5
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from einderiv.ir.nodes import Expr, constant

#: builds ``name(arg)`` (with ``param``) through the smart constructor; passed to the
#: derivative rules by the derivative layer, so this table imports nothing above the IR
Build = Callable[..., Expr]


@dataclass(frozen=True)
class ElementwiseFunction:
    """One row of the table: how to evaluate, differentiate and print ``name(x)``.

    ``array(xp, x, param)`` evaluates on any backend: ``xp`` is the backend's array
    namespace (``numpy``, ``jax.numpy``, ``torch``, ``cupy``, ``dask.array``) and the
    result keeps ``x``'s dtype and device.
    """

    name: str
    array: Callable[[Any, Any, float | None], Any]
    derivative: Callable[[Expr, float | None, Build], Expr]
    numpy: str
    latex: str

    def evaluate(self, x: Any, param: float | None = None) -> Any:
        """Evaluate on numpy arrays."""
        return self.array(np, x, param)


def namespace(xp: Any) -> str:
    """The name of an array namespace: ``numpy``, ``jax.numpy``, ``torch``, ``cupy``, ..."""
    return getattr(xp, "__name__", "")


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


def _ufunc(name: str) -> Callable[[Any, Any, float | None], Any]:
    """Evaluation by the array namespace's own function of that name (``xp.tanh``)."""

    def apply(xp: Any, x: Any, _p: float | None = None) -> Any:
        return getattr(xp, name)(x)

    apply.__name__ = name
    return apply


def _pow_derivative(x: Expr, p: float | None, f: Build) -> Expr:
    assert p is not None
    if p == 1.0:
        return constant(1.0, x.dims)
    return p * f("pow", x, p - 1.0)


FUNCTIONS: dict[str, ElementwiseFunction] = {
    entry.name: entry
    for entry in [
        ElementwiseFunction(
            "tanh", _ufunc("tanh"), lambda x, p, f: 1.0 - f("tanh", x) ** 2,
            "np.tanh", r"\tanh",
        ),
        ElementwiseFunction(
            "exp", _ufunc("exp"), lambda x, p, f: f("exp", x), "np.exp", r"\exp",
        ),
        ElementwiseFunction(
            "log", _ufunc("log"), lambda x, p, f: f("pow", x, -1.0), "np.log", r"\log",
        ),
        ElementwiseFunction(
            "log1p", _ufunc("log1p"), lambda x, p, f: f("pow", 1.0 + x, -1.0),
            "np.log1p", r"\operatorname{log1p}",
        ),
        ElementwiseFunction(
            "sigmoid", _sigmoid,
            lambda x, p, f: f("sigmoid", x) * (1.0 - f("sigmoid", x)),
            "sigmoid", r"\sigma",
        ),
        ElementwiseFunction(
            "sqrt", _ufunc("sqrt"), lambda x, p, f: 0.5 * f("pow", f("sqrt", x), -1.0),
            "np.sqrt", r"\sqrt",
        ),
        ElementwiseFunction(
            "abs", _ufunc("abs"), lambda x, p, f: f("sign", x),
            "np.abs", r"\operatorname{abs}",
        ),
        ElementwiseFunction(
            "sign", _ufunc("sign"), lambda x, p, f: constant(0.0, x.dims),
            "np.sign", r"\operatorname{sign}",
        ),
        ElementwiseFunction(
            "relu", _relu, lambda x, p, f: f("step", x),
            "np.maximum", r"\operatorname{relu}",
        ),
        ElementwiseFunction(
            "step", _step,
            lambda x, p, f: constant(0.0, x.dims),
            "np.heaviside", r"\operatorname{step}",
        ),
        ElementwiseFunction(
            "softplus", _softplus, lambda x, p, f: f("sigmoid", x),
            "np.logaddexp", r"\operatorname{softplus}",
        ),
        ElementwiseFunction(
            "sin", _ufunc("sin"), lambda x, p, f: f("cos", x), "np.sin", r"\sin",
        ),
        ElementwiseFunction(
            "cos", _ufunc("cos"), lambda x, p, f: -f("sin", x), "np.cos", r"\cos",
        ),
        ElementwiseFunction("pow", _pow, _pow_derivative, "**", "^"),
    ]
}

#: Functions a user may call by name (``pow`` is spelled ``**``; ``sign``/``step``
#: appear only as derivatives but are callable too).
ELEMENTWISE_NAMES = (
    "tanh exp log log1p sigmoid sqrt abs relu softplus sin cos sign step".split()
)
