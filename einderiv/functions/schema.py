r"""The registry's schema: what one entry says about a function, and which stage reads it.

Contract: an entry is a frozen dataclass; every stage that needs a function's name,
signature, spelling, evaluation or derivative reads it here, never from a list of its
own.  There are three kinds of entries:

* :class:`Elementwise` -- an IR :class:`~einderiv.ir.Func` node (``tanh(x)``,
  ``maximum(a, b)``): evaluation on any array namespace, the partial derivatives, the
  numpy / torch / jax spellings and the LaTeX spelling.
* :class:`Matrix` -- an IR :class:`~einderiv.ir.MatFunc` node (``inv``, ``det``,
  ``logdet``, ``solve``): evaluation, a shape check and spellings; their index rules
  live with the derivative modes (:mod:`einderiv.derive`).
* :class:`Composite` -- a function built from others (``var``, ``log_softmax``) by
  ``expand``, or, with ``expand=None``, a structural builder of the build layer
  (``sum``, ``trace``, ``softmax``...).

What each stage reads (all kinds share the fields of :class:`Function`):

=====================  ==============================================================
stage                  fields
=====================  ==============================================================
builders (``ed.f``)    ``name``, ``arrays``, ``options``, ``summary``, ``example``;
                       ``check`` (Matrix); ``expand`` (Composite)
text (``parse``)       ``name``, ``aliases``, ``arrays``, ``options``, ``method``,
                       ``public``
derivatives            ``derivative`` (Elementwise, through :meth:`Elementwise.partials`)
evaluation             ``array(xp, *args, param)`` (Elementwise, Matrix)
simplification         ``array`` (constant folding)
numpy / codegen        ``numpy``, ``torch``, ``jax``
LaTeX                  ``latex``
docs and tests         ``summary``, ``example``, ``domain``
=====================  ==============================================================

Spellings: ``numpy``, ``torch`` and ``jax`` are templates of a call whose arguments
are ``{0}``, ``{1}`` (``"np.maximum({0}, {1})"``); the printers treat the result as an
atom.  ``latex`` is either a command written before the parenthesized arguments
(``\tanh`` -> ``\tanh\left(x\right)``) or a template whose arguments are ``#1``, ``#2``
(``\log\left(e^{#1} + e^{#2}\right)``), inserted as they are.  Two elementwise entries
are spelled with operators, so the printers write them with precedence: ``pow``
(``x**p``, ``1 / x``, ``np.sqrt(x)``) and ``sigmoid`` (``1 / (1 + np.exp(-x))``).

>>> from einderiv.functions import FUNCTIONS
>>> FUNCTIONS["arctan"].numpy.format("x")
'np.arctan(x)'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from einderiv.ir.nodes import Expr

#: builds ``name(arg)`` (``arg`` an expression, or a tuple of them for a function of
#: several arguments; ``param`` for ``pow``) through the smart constructor; passed to
#: the derivative rules by the derivative layer, so this table imports nothing above
#: the IR.  Rules may also use the arithmetic operators of expressions.
Build = Callable[..., Expr]

#: ``array(xp, *args, param)``: evaluate on the array namespace ``xp`` (``numpy``,
#: ``jax.numpy``, ``torch``, ``cupy``, ``dask.array``) keeping the arguments' dtype
ArrayFunction = Callable[..., Any]


def namespace(xp: Any) -> str:
    """The name of an array namespace: ``numpy``, ``jax.numpy``, ``torch``, ``cupy``, ..."""
    return getattr(xp, "__name__", "")


def _not_evaluated(xp: Any, *args: Any) -> Any:
    """A composite has no evaluation of its own: it is evaluated as what it expands to."""
    raise TypeError("a composite registry entry is evaluated as what it expands to")


@dataclass(frozen=True)
class Example:
    """A call of the function, for its docstring, the docs and the tests.

    ``shapes`` declares the symbols (``"x[n]"``), ``call`` is the call in text and
    Python alike (``"arctan(x)"``, ``"var(X, axis=0)"``) and ``numpy`` is what
    ``to_numpy()`` writes for it.
    """

    shapes: str
    call: str
    numpy: str


@dataclass(frozen=True, kw_only=True)
class Function:
    """What every entry says: the name, the signature, and how users find it.

    ``arrays`` are the names of the array parameters (positional, required);
    ``options`` the static parameters with their defaults (literals: ``axis=None``,
    ``keepdims=False``); ``aliases`` more names text accepts (``expit``); ``method``:
    text accepts ``x.name(...)`` too; ``public=False`` hides an internal function (``pow``
    is spelled ``**``) from ``ed.<name>`` and the text; ``domain`` is the open interval
    where the function is real and smooth, where tests and samplers draw its arrays.
    """

    name: str
    summary: str
    arrays: tuple[str, ...] = ("x",)
    options: tuple[tuple[str, Any], ...] = ()
    aliases: tuple[str, ...] = ()
    method: bool = False
    public: bool = True
    domain: tuple[float, float] = (-math.inf, math.inf)
    example: Example | None = None
    array: ArrayFunction = _not_evaluated

    @property
    def arity(self) -> int:
        """The number of array arguments."""
        return len(self.arrays)


@dataclass(frozen=True, kw_only=True)
class Elementwise(Function):
    """A function applied position by position (an IR ``Func`` node).

    ``derivative`` gives the partial derivatives, elementwise and with the arguments'
    dims: ``derivative(x, param, f) -> Expr`` for one argument, ``derivative(a, b,
    param, f) -> (da, db)`` for two (``f`` is :data:`Build`).
    """

    array: ArrayFunction
    derivative: Callable[..., Any]
    numpy: str
    latex: str
    torch: str | None = None
    jax: str | None = None

    def partials(self, args: Sequence[Expr], param: float | None, f: Build) -> tuple[Expr, ...]:
        """The partial derivative in each argument, at ``args`` (same dims as the arguments)."""
        if len(args) == 1:
            return (self.derivative(args[0], param, f),)
        return tuple(self.derivative(*args, param, f))

    def evaluate(self, *args: Any, param: float | None = None) -> Any:
        """Evaluate on numpy arrays: ``evaluate(*arrays, param=p)``.

        The parameter may also follow the arrays positionally (``evaluate(x, 2.0)`` for
        ``pow``), as the older one-argument signature ``evaluate(x, param)`` had it.
        """
        if len(args) == self.arity + 1 and param is None:
            *args, param = args  # type: ignore[assignment]
        return self.array(np, *args, param)


@dataclass(frozen=True, kw_only=True)
class Matrix(Function):
    """A matrix function with its own index rule (an IR ``MatFunc`` node).

    ``check(*args)`` raises a :class:`~einderiv.errors.ShapeError` for arguments of the
    wrong shape (called by the builders); ``array(xp, *args, param)`` evaluates.
    """

    array: ArrayFunction
    check: Callable[..., None]
    numpy: str
    latex: str
    torch: str | None = None
    jax: str | None = None


@dataclass(frozen=True, kw_only=True)
class Composite(Function):
    """A function built from other functions and builders.

    ``expand(ops, *arrays, *options)`` builds it, where ``ops`` holds the builders by
    registry name (``ops.mean``, ``ops.sqrt``; injected by the build layer) and the
    arrays are already expressions.  ``expand=None``: a structural builder of the build
    layer under this name (``sum``, ``trace``, ``softmax``...).
    """

    expand: Callable[..., Expr] | None = None


Entry = Elementwise | Matrix | Composite
