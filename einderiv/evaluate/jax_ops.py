"""The jax backend: jax arrays in and out, traceable under ``jax.jit`` and ``jax.grad``.

Contract: the call computes in the inputs' promoted dtype as jax canonicalizes it -- without
``jax_enable_x64`` (jax's default) jax has no float64, so float64 or integer inputs compute in
float32; turn it on (``jax.config.update("jax_enable_x64", True)``) for float64.  float32
inputs stay float32 either way.  Values are read by shape and dtype only, so a compiled
evaluator runs on tracers inside ``jax.jit`` (the symmetric-value check, which needs the
data, is skipped for tracers).  Products are ``opt_einsum`` contractions with
``backend="jax"``; tied output axes (a surviving delta) are a contraction with identities
made in the call's dtype (jax arrays cannot be written through strided views); a singular
matrix gives jax's ``inf``/``nan``, not an error.

Example (needs jax; tests/evaluate/test_backends.py runs it)::

    f = ed.compile(2 * ed.symbols("x[n]"), backend="jax")
    jax.jit(lambda x: f(x=x))(jnp.ones(2, dtype=jnp.float32))  # float32 jax array
"""

from __future__ import annotations

from typing import Any

import numpy as np

from einderiv.evaluate.ops import Backend, generic_ops, make_backend


def jax_backend(jnp: Any) -> Backend:
    """The table entry for the ``jax.numpy`` module."""
    import jax
    import jax.scipy.special

    generic = generic_ops("jax", jnp, jax.Array)
    check = generic["asymmetry"]

    def native_dtype(dtype: np.dtype) -> tuple[np.dtype, Any]:
        canonical = np.dtype(jax.dtypes.canonicalize_dtype(dtype))
        return canonical, canonical

    def asymmetry(value: Any) -> float | None:
        if isinstance(value, jax.core.Tracer):  # under jit: no data to look at
            return None
        return check(value)

    def logsumexp(value: Any, axes: tuple[int, ...]) -> Any:
        return jax.scipy.special.logsumexp(value, axis=axes) if axes else value

    generic.update(
        native_dtype=native_dtype,
        settings=lambda: bool(jax.config.read("jax_enable_x64")),
        to_backend=lambda value, p: jnp.asarray(value, dtype=p.native),
        asymmetry=asymmetry,
        logsumexp=logsumexp,
    )
    return make_backend(generic)
