r"""Explanation: a step-by-step derivation as Markdown with LaTeX math.

Contract: :func:`explain` writes, for a gradient, vjp, full (e.g. 4-D) Jacobian or
Hessian, the function (as a program when it has named parts, the readable form's
names), the function in index notation, each index rule applied from the outside in
(chain rule, sum rule, product rule with the leaf rule ``∂X_kl/∂X_ab = δ_ka δ_lb``),
each Kronecker delta eliminated and what a surviving delta means, the final index
form, the matrix form (the readable form of :meth:`to_program`, with the same names)
with how its order is read off the indices, and a numeric check against central
finite differences.  The function keeps its name (``f``, or the name a program's last
line assigns, such as ``L``), and every index keeps its letter through the derivation:
f's indices, wrt's indices and summed ones are fixed once and never renamed.  The text
is deterministic, so generated docs can be checked for staleness.  The result is a
:class:`Markdown` string, which a notebook shows rendered.

>>> import einderiv as ed
>>> f = ed.parse("W @ x", shapes="W[n,m] x[m]")
>>> print(ed.explain(f, "x").splitlines()[0])
# Derivation: ∂f/∂x for f = `W @ x`
>>> g = ed.parse("z = X @ w\nL = sum(softplus(-y * z))", shapes="X[n,d] w[d] y[n]")
>>> print(ed.explain(g, "w", text="z = X @ w; L = sum(softplus(-y * z))").splitlines()[0])
# Derivation: ∂L/∂w for L = `z = X @ w; L = sum(softplus(-y * z))`
"""

from __future__ import annotations

from einderiv.explanation.document import KINDS, explain
from einderiv.explanation.indexform import IndexWriter, index_program
from einderiv.explanation.markdown import Markdown

__all__ = ["KINDS", "IndexWriter", "Markdown", "explain", "index_program"]
