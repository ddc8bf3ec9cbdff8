"""Derivatives by index rules: one rule per node kind, forward and reverse over the DAG.

Contract: ``forward`` builds, for every node ``N`` that depends on ``X``, the tensor
``T(N)`` of dims ``N.dims + extra`` (``extra = X.dims`` for the full derivative, ``()``
for a jvp), memoized per node; ``reverse`` accumulates adjoints in reverse topological
order (symbolic reverse mode), each node's adjoint one shared node, so results grow
linearly with the depth of a composition.  The rules:

* leaf:      ``∂X_ij/∂X_kl = δ_ik δ_jl`` (``½(δ_ik δ_jl + δ_il δ_jk)`` for symmetric ``X``)
* product:   the product rule over the factors of one einsum term
* function:  ``∂f(E)_I = f'(E)_I ∂E_I``
* inverse:   ``∂inv(X)_ij = -inv(X)_ia ∂X_ab inv(X)_bj``
* det:       ``∂det(X) = det(X) inv(X)_ji ∂X_ij``;  logdet: ``inv(X)_ji ∂X_ij``
* logsumexp: ``∂lse(E) = Σ_axes softmax(E) ∂E``

>>> import einderiv as ed
>>> W, x = ed.symbols("W[n,m] x[m]")
>>> ed.vjp(W @ x, "x", "g") == ed.einsum("ij,i->j", W, ed.symbols("g[n]"))
True
"""

from __future__ import annotations

from einderiv.derive.api import diff, grad, hessian, jvp, vjp
from einderiv.derive.arguments import resolve_wrt

__all__ = ["diff", "grad", "hessian", "jvp", "resolve_wrt", "vjp"]
