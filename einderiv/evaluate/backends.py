"""The backends einderiv evaluates on, by name: numpy, jax, torch, cupy and dask.

Contract: :func:`load_backend` imports a backend's package and builds its table
(:class:`~einderiv.evaluate.ops.Backend`) from its module's own entry; the interpreter reads
nothing else.  An unknown name or a package that is not installed is an
:class:`~einderiv.errors.EvaluationError` saying which names exist or what to install.

>>> sorted(BACKENDS)
['cupy', 'dask', 'jax', 'numpy', 'torch']
>>> load_backend("numpy").name
'numpy'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from einderiv.errors import EvaluationError
from einderiv.evaluate.cupy_ops import cupy_backend
from einderiv.evaluate.dask_ops import dask_backend
from einderiv.evaluate.jax_ops import jax_backend
from einderiv.evaluate.numpy_ops import numpy_backend
from einderiv.evaluate.ops import Backend
from einderiv.evaluate.torch_ops import torch_backend


@dataclass(frozen=True)
class BackendSpec:
    """Where a backend's array namespace lives and how its table is built from it."""

    module: str  # the namespace handed to the table (and to every registry function)
    package: str  # what to install when the import fails
    build: Callable[[Any], Backend]


BACKENDS: dict[str, BackendSpec] = {
    "numpy": BackendSpec("numpy", "numpy", numpy_backend),
    "jax": BackendSpec("jax.numpy", "jax", jax_backend),
    "torch": BackendSpec("torch", "torch", torch_backend),
    "cupy": BackendSpec("cupy", "cupy", cupy_backend),
    "dask": BackendSpec("dask.array", "dask[array]", dask_backend),
}


def load_backend(name: str) -> Backend:
    """The operations table of backend ``name`` (its package imported now)."""
    if not isinstance(name, str) or name not in BACKENDS:
        raise EvaluationError(
            f"unknown backend {name!r}; choose one of {', '.join(sorted(BACKENDS))}"
        )
    spec = BACKENDS[name]
    try:
        module = importlib.import_module(spec.module)
    except ImportError as err:
        raise EvaluationError(
            f"backend '{name}' needs the package '{spec.package}', which is not installed "
            f"({err}); install it (pip install '{spec.package}') or use backend='numpy'"
        ) from None
    return spec.build(module)
