"""The shared numeric oracle of the test suite: a printed form evaluates like ``evaluate``.

``values_for`` draws seeded values with distinct sizes per dim (n=3, m=4, k=5, d=6, p=7, r=2),
so a transposition cannot pass by luck; ``check_numeric`` evaluates ``to_numpy``'s text with
numpy at those values and compares it with ``Expr.evaluate`` (float64, rtol 1e-9), returning
the text; ``latex_ok`` typesets a LaTeX string with matplotlib's mathtext.  The public twin
for users is :func:`einderiv.testing.check_render`.

>>> import einderiv as ed
>>> W, u = ed.symbols("W[n,m] u[m]")
>>> check_numeric(ed.vjp(W @ u, "u", "g"))
'W.T @ g'
"""

from __future__ import annotations

import io
import re

import numpy as np

import einderiv as ed
from einderiv.render.api import to_numpy

SIZES = {"n": 3, "m": 4, "k": 5, "d": 6, "p": 7, "r": 2, "1": 1}


def values_for(e: ed.Expr, seed: int = 0, extra=()) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    table = {s.name: s for s in extra}
    table.update(e.symbols())
    for name, sym in sorted(table.items()):
        shape = tuple(SIZES[d] for d in sym.dims)
        value = rng.uniform(0.5, 1.5, size=shape) * rng.choice([1.0, 1.0, -1.0], size=shape)
        if sym.symmetric:
            value = value + value.T
        if name.startswith("P"):  # positive values for log/sqrt arguments
            value = np.abs(value)
        out[name] = value
    return out


def lost_symbols(e: ed.Expr, text: str, vals: dict) -> dict[str, np.ndarray]:
    """Arrays for inputs a result uses only for a dim size (its symbols were lost)."""
    found = {}
    inputs = {sym.name: sym for sym in ed.ir.inputs_of(e)}
    for name in set(re.findall(r"\b(\w+)\.shape\[", text)) - set(vals):
        sym = inputs[name]
        found[name] = np.ones(tuple(SIZES.get(d, 1) for d in sym.dims))
    return found


def check_numeric(e: ed.Expr, seed: int = 0, extra=()) -> str:
    text = to_numpy(e)
    vals = values_for(e, seed, extra)
    vals.update(lost_symbols(e, text, vals))
    got = eval(text, {"np": np, **vals})  # noqa: S307 - the test checks the contract
    want = e.evaluate(vals)
    np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=1e-9, atol=1e-9)
    assert np.shape(got) == np.shape(want)
    return text



def latex_ok(text: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.mathtext import MathTextParser

    MathTextParser("path").parse(f"${text}$")
    from matplotlib import mathtext

    mathtext.math_to_image(f"${text}$", io.BytesIO(), format="png")
