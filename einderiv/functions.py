"""Function table: every elementwise function, one entry each.

Contract: an entry gives the numpy implementation, the elementwise derivative built
from IR (same dims as the argument), the numpy spelling used by rendering and the
LaTeX spelling.  Adding a function is one entry here plus one test.

>>> FUNCTIONS["tanh"].numpy
'np.tanh'
>>> import numpy as np
>>> float(FUNCTIONS["sigmoid"].evaluate(np.array(0.0), None))
0.5
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from einderiv.ir.nodes import Expr, Func, constant

#: builds ``name(arg)`` (with ``param``) through the smart constructor; passed to the
#: derivative rules by the derivative layer, so this table imports nothing above the IR
Build = Callable[..., Expr]


@dataclass(frozen=True)
class ElementwiseFunction:
    """One row of the table: how to evaluate, differentiate and print ``name(x)``."""

    name: str
    evaluate: Callable[[np.ndarray, float | None], np.ndarray]
    derivative: Callable[[Expr, float | None, Build], Expr]
    numpy: str
    latex: str
    backend_name: str | None = None  # name in opt_einsum-style backends (jnp, torch)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # stable for large |x|: 1/(1+exp(-x)) = exp(x)/(1+exp(x))
    out = np.empty_like(np.asarray(x, dtype=float))
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def _sigmoid_any(x, _p=None):
    x = np.asarray(x, dtype=float)
    if x.ndim == 0:
        return _sigmoid(x.reshape(1)).reshape(())
    return _sigmoid(x)


def _pow(x: np.ndarray, p: float | None) -> np.ndarray:
    assert p is not None
    if p == int(p) and p >= 0:
        return np.power(x, int(p))
    if p == -1.0:
        return 1.0 / x
    return np.power(x, p)


def _pow_derivative(x: Expr, p: float | None, f: Build) -> Expr:
    assert p is not None
    if p == 1.0:
        return constant(1.0, x.dims)
    return p * f("pow", x, p - 1.0)


FUNCTIONS: dict[str, ElementwiseFunction] = {
    entry.name: entry
    for entry in [
        ElementwiseFunction(
            "tanh", lambda x, p: np.tanh(x), lambda x, p, f: 1.0 - f("tanh", x) ** 2,
            "np.tanh", r"\tanh",
        ),
        ElementwiseFunction(
            "exp", lambda x, p: np.exp(x), lambda x, p, f: f("exp", x), "np.exp", r"\exp",
        ),
        ElementwiseFunction(
            "log", lambda x, p: np.log(x), lambda x, p, f: f("pow", x, -1.0), "np.log", r"\log",
        ),
        ElementwiseFunction(
            "log1p", lambda x, p: np.log1p(x), lambda x, p, f: f("pow", 1.0 + x, -1.0),
            "np.log1p", r"\operatorname{log1p}",
        ),
        ElementwiseFunction(
            "sigmoid", _sigmoid_any,
            lambda x, p, f: f("sigmoid", x) * (1.0 - f("sigmoid", x)),
            "sigmoid", r"\sigma",
        ),
        ElementwiseFunction(
            "sqrt", lambda x, p: np.sqrt(x), lambda x, p, f: 0.5 * f("pow", f("sqrt", x), -1.0),
            "np.sqrt", r"\sqrt",
        ),
        ElementwiseFunction(
            "abs", lambda x, p: np.abs(x), lambda x, p, f: f("sign", x),
            "np.abs", r"\operatorname{abs}",
        ),
        ElementwiseFunction(
            "sign", lambda x, p: np.sign(x), lambda x, p, f: constant(0.0, x.dims),
            "np.sign", r"\operatorname{sign}",
        ),
        ElementwiseFunction(
            "relu", lambda x, p: np.maximum(x, 0.0), lambda x, p, f: f("step", x),
            "np.maximum", r"\operatorname{relu}",
        ),
        ElementwiseFunction(
            "step", lambda x, p: (np.asarray(x) > 0).astype(float),
            lambda x, p, f: constant(0.0, x.dims),
            "np.heaviside", r"\operatorname{step}",
        ),
        ElementwiseFunction(
            "softplus", lambda x, p: np.logaddexp(0.0, x), lambda x, p, f: f("sigmoid", x),
            "np.logaddexp", r"\operatorname{softplus}",
        ),
        ElementwiseFunction(
            "sin", lambda x, p: np.sin(x), lambda x, p, f: f("cos", x), "np.sin", r"\sin",
        ),
        ElementwiseFunction(
            "cos", lambda x, p: np.cos(x), lambda x, p, f: -f("sin", x), "np.cos", r"\cos",
        ),
        ElementwiseFunction("pow", _pow, _pow_derivative, "**", "^"),
    ]
}

#: Functions a user may call by name (``pow`` is spelled ``**``; ``sign``/``step``
#: appear only as derivatives but are callable too).
ELEMENTWISE_NAMES = (
    "tanh exp log log1p sigmoid sqrt abs relu softplus sin cos sign step".split()
)


def evaluate_func(node: Func, value: np.ndarray) -> np.ndarray:
    """Apply ``node``'s function to an array."""
    return FUNCTIONS[node.name].evaluate(value, node.param)
