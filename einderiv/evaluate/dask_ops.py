"""The dask backend: lazy dask arrays out, one task graph for the whole expression.

Contract: dask arrays keep their chunks; numpy or list values become one-chunk-or-auto
``da.from_array`` arrays.  Evaluating builds the graph and computes nothing: call
``.compute()`` on the result (on a ``distributed`` client, the graph runs on its workers).
Shapes must be known (an array with unknown chunk sizes is refused: call
``compute_chunk_sizes()`` first); the symmetric-value check, which would compute the input,
is skipped.  Products are ``opt_einsum`` contractions with ``backend="dask"``; tied output
axes are a contraction with identities made by dask in the call's dtype.

The matrix functions are LU-based, as dask's own are: ``dask.array.linalg.lu`` needs equal
square chunks, so a matrix whose chunks are not is rechunked to one square chunk (the
factorization is sequential over the diagonal blocks anyway); ``det`` is
``det(P) * prod(diag(U))`` from ``A = P L U`` (dask has no ``det``), ``logdet`` is
``sum(log |diag(U)|)``, ``solve`` rechunks the right-hand side's rows to match, and ``inv``
is ``solve(A, I)`` with the identity in the call's dtype.

Example (needs dask; tests/evaluate/test_backends.py runs it on a ``distributed`` cluster)::

    X = da.from_array(X_host, chunks=(250, d))           # many row chunks
    g = ed.compile(ed.grad(loss, "w"), backend="dask")(X=X, w=w, y=y)  # lazy
    client.compute(g, sync=True)                         # numpy array, float64
"""

from __future__ import annotations

from typing import Any

import numpy as np

from einderiv.errors import EvaluationError
from einderiv.evaluate.ops import Backend, Placement, generic_ops, make_backend


def dask_backend(da: Any) -> Backend:
    """The table entry for the ``dask.array`` module."""
    import dask

    def to_backend(value: Any, p: Placement) -> Any:
        if isinstance(value, da.Array):
            return value if value.dtype == p.dtype else value.astype(p.dtype)
        return da.from_array(np.asarray(value, dtype=p.dtype))

    def square(a: Any) -> Any:
        if len(set(a.chunks[0] + a.chunks[1])) == 1:
            return a
        return a.rechunk(a.shape)

    def lu(a: Any) -> tuple[Any, Any, Any]:
        try:
            return da.linalg.lu(square(a))
        except ImportError as err:
            raise EvaluationError(
                f"backend 'dask': the LU factorization behind det, logdet, inv and solve needs "
                f"scipy ({err}); install it (pip install scipy)"
            ) from None

    def det(a: Any) -> Any:
        p, _, u = lu(a)
        sign = da.from_delayed(
            dask.delayed(permutation_sign)(da.argmax(p, axis=1), a.dtype), shape=(), dtype=a.dtype
        )
        return sign * da.prod(da.diagonal(u))

    def logdet(a: Any) -> Any:
        _, _, u = lu(a)
        return da.sum(da.log(da.abs(da.diagonal(u))))

    def solve(a: Any, b: Any) -> Any:
        a = square(a)
        b = b.rechunk({0: a.chunks[1]})
        try:
            return da.linalg.solve(a, b)
        except ImportError as err:
            raise EvaluationError(
                f"backend 'dask': solve needs scipy ({err}); install it (pip install scipy)"
            ) from None

    def inv(a: Any) -> Any:
        a = square(a)
        eye = da.eye(a.shape[0], chunks=a.chunks[0][0], dtype=a.dtype)
        return solve(a, eye)

    fields = generic_ops("dask", da, da.Array)
    fields.update(
        to_backend=to_backend,
        asymmetry=lambda value: None,
        zeros=lambda shape, p: da.zeros(shape, dtype=p.dtype),
        eye=lambda n, p: da.eye(n, dtype=p.dtype),
        full=lambda shape, value, p: da.full(shape, value, dtype=p.dtype),
        linalg={"inv": inv, "det": det, "logdet": logdet, "solve": solve},
    )
    return make_backend(fields)


def permutation_sign(permutation: np.ndarray, dtype: Any = np.float64) -> np.ndarray:
    """The determinant (+-1, as a 0-d array of ``dtype``) of the permutation ``P[i, perm[i]] = 1``.

    >>> float(permutation_sign(np.array([1, 0, 2])))
    -1.0
    """
    seen = np.zeros(len(permutation), dtype=bool)
    sign = 1.0
    for start in range(len(permutation)):
        length = 0
        j = start
        while not seen[j]:
            seen[j] = True
            j = int(permutation[j])
            length += 1
        if length and length % 2 == 0:
            sign = -sign
    return np.asarray(sign, dtype=dtype)
