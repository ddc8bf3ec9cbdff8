"""numpy's in-place spellings of registry functions, for generated code.

Contract: :func:`numpy_kernel` names the numpy ufunc that computes a registry function
exactly as its ``array`` does, so generated code may write it into a buffer
(``np.tanh(t, out=t)``); it is derived from the registry (an entry spelled
``np.<name>({0})`` whose ``np.<name>`` is a ufunc) plus three exponents of ``pow`` and
``sigmoid`` (scipy's ``expit`` where scipy is installed), and it answers only while the
entry's ``array`` is the one registered at import -- a replaced entry is evaluated by its own
``array``.  :func:`warns` tells whether a kernel may raise numpy floating-point warnings on
finite input (``exp`` overflows, ``log(0)``), which decides whether the generated call runs
under ``np.errstate``.

>>> numpy_kernel("tanh", None)
'np.tanh'
>>> numpy_kernel("pow", 2.0)
'np.square'
"""

from __future__ import annotations

from typing import Any

import numpy as np

from einderiv.functions import FUNCTIONS
from einderiv.functions.schema import Elementwise

try:  # scipy is optional: its expit is one stable ufunc for the sigmoid
    from scipy.special import expit as _expit
except ImportError:  # pragma: no cover - scipy absent
    _expit = None

#: the registry's evaluations as imported, by name: a kernel stands in for these only
_STOCK: dict[str, Any] = {name: entry.array for name, entry in FUNCTIONS.items()}

_POWERS = {2.0: "np.square", -1.0: "np.reciprocal", 0.5: "np.sqrt"}

#: kernels that never warn on finite input (tanh, sigmoid, ...): no errstate needed
_QUIET = {"np.tanh", "np.sin", "np.cos", "np.arctan", "np.abs", "np.absolute", "np.sign",
          "np.square", "np.negative", "expit", "np.arcsinh"}


def numpy_kernel(name: str, param: float | None) -> str | None:
    """The generated-code name of the ufunc for ``name`` (None: use the registry's array)."""
    entry = FUNCTIONS.get(name)
    if not isinstance(entry, Elementwise) or entry.array is not _STOCK.get(name):
        return None
    if name == "pow":
        return _POWERS.get(param) if param is not None else None
    if name == "sigmoid":
        return "expit" if _expit is not None else None
    if entry.arity == 1 and entry.numpy == f"np.{name}({{0}})":
        if isinstance(getattr(np, name, None), np.ufunc):
            return f"np.{name}"
    return None


def kernel_namespace() -> dict[str, Any]:
    """Names the kernels use in generated code besides ``np``."""
    return {"expit": _expit} if _expit is not None else {}


def warns(kernel: str | None) -> bool:
    """Whether ``kernel`` (None: a registry call) may warn on finite input."""
    return kernel not in _QUIET
