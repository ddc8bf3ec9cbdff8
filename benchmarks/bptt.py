"""Backpropagation through time: einderiv's T-step RNN gradient vs a hand-written numpy loop.

Contract: :func:`build` returns the gradient in ``Waa`` of the loss
``L = sum_t sum(a_t * g_t)`` of ``a_t = tanh(Waa a_{t-1} + Wax x_t + ba)``, unrolled over
``steps`` steps with the Python builders (the inputs ``x_t`` and cotangents ``g_t`` are
symbols of their own: ``2 T + 4`` arrays in all); :func:`data` makes its float64 values at
hidden size ``n`` (``k = max(n // 2, 4)`` inputs, a batch of ``BATCH`` columns);
:func:`numpy_loop` is the loop a person writes (forward, keep the states, backward with a
running ``dWaa``).  ``tests/test_benchmarks.py`` checks that they agree; ``run.py`` times
them.

>>> g = build(3)
>>> v = data(3, 4)
>>> import numpy as np, einderiv as ed
>>> bool(np.allclose(ed.compile(g)(**v), numpy_loop(v, 3)))
True
"""

from __future__ import annotations

import numpy as np

import einderiv as ed

BATCH = 32

Values = dict[str, np.ndarray]


def build(steps: int) -> ed.Expr:
    """The gradient in ``Waa`` of the ``steps``-step loss (module docstring)."""
    Waa, Wax, ba, a0 = ed.symbols("Waa[n,n] Wax[n,k] ba[n,1] a0[n,m]")
    a = a0
    loss = None
    for t in range(steps):
        xt, gt = ed.symbols(f"x{t}[k,m] g{t}[n,m]")
        a = ed.tanh(Waa @ a + Wax @ xt + ba)
        term = ed.sum(a * gt)
        loss = term if loss is None else loss + term
    assert loss is not None, "at least one step"
    return ed.grad(loss, "Waa")


def data(steps: int, n: int, seed: int = 0) -> Values:
    """float64 values at hidden size ``n`` (weights scaled so the states stay in tanh's range)."""
    rng = np.random.default_rng(seed)
    k = max(n // 2, 4)
    values = {
        "Waa": rng.standard_normal((n, n)) / np.sqrt(n),
        "Wax": rng.standard_normal((n, k)) / np.sqrt(k),
        "ba": rng.standard_normal((n, 1)) * 0.1,
        "a0": rng.standard_normal((n, BATCH)) * 0.5,
    }
    for t in range(steps):
        values[f"x{t}"] = rng.standard_normal((k, BATCH))
        values[f"g{t}"] = rng.standard_normal((n, BATCH))
    return values


def numpy_loop(values: Values, steps: int) -> np.ndarray:
    """The hand-written BPTT loop: forward keeping the states, backward accumulating dWaa."""
    Waa, Wax, ba = values["Waa"], values["Wax"], values["ba"]
    states = [values["a0"]]
    for t in range(steps):
        states.append(np.tanh(Waa @ states[-1] + Wax @ values[f"x{t}"] + ba))
    dWaa = np.zeros_like(Waa)
    da_next = np.zeros_like(states[0])
    for t in reversed(range(steps)):
        dz = (values[f"g{t}"] + da_next) * (1.0 - states[t + 1] ** 2)
        dWaa += dz @ states[t].T
        da_next = Waa.T @ dz
    return dWaa
