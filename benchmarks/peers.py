"""Autodiff peers (jax, torch.func, autograd), imported lazily: each is optional.

Contract: :func:`available` lists the peers importable here (with a reason for each one
that is not); :func:`make` returns a zero-argument callable that computes a problem's
derivative with one peer and waits for the result, so timing it times the work.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np

from .problems import Problem, Values

PEERS = ("jax", "torch", "autograd")


def available() -> tuple[list[str], dict[str, str]]:
    """Peers that import, and a reason for each that does not."""
    ok: list[str] = []
    missing: dict[str, str] = {}
    for name in PEERS:
        try:
            importlib.import_module(name)
        except Exception as err:  # noqa: BLE001 - any import failure skips the peer
            missing[name] = f"{type(err).__name__}: {err}"
        else:
            ok.append(name)
    return ok, missing


def configure(threads: int) -> None:
    """Pin peers' thread pools and switch jax to float64."""
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        jax.config.update("jax_platforms", "cpu")
    except Exception:  # noqa: BLE001, S110 - peer absent
        pass
    try:
        import torch

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(threads)
    except Exception:  # noqa: BLE001, S110 - peer absent or already set
        pass


def make(peer: str, problem: Problem, values: Values) -> Callable[[], Any]:
    """A callable computing ``problem``'s derivative with ``peer`` on ``values``."""
    return {"jax": _jax, "torch": _torch, "autograd": _autograd}[peer](problem, values)


def _jax(problem: Problem, values: Values) -> Callable[[], Any]:
    import jax
    import jax.numpy as jnp

    ops = SimpleNamespace(sum=jnp.sum, softplus=jax.nn.softplus, tanh=jnp.tanh)
    args = [jnp.asarray(values[a], dtype=jnp.float64) for a in problem.args]

    def f(*xs: Any) -> Any:
        return problem.fn(ops, *xs)

    if problem.kind == "gradient":
        fn = jax.jit(jax.grad(f))
        return lambda: fn(*args).block_until_ready()
    if problem.kind == "hessian":
        fn = jax.jit(jax.hessian(f))
        return lambda: fn(*args).block_until_ready()
    g = jnp.asarray(values[problem.cotangent])

    def pullback(*xs: Any) -> Any:
        _, back = jax.vjp(lambda w: f(w, *xs[1:-1]), xs[0])
        return back(xs[-1])[0]

    fn = jax.jit(pullback)
    return lambda: fn(*args, g).block_until_ready()


def _torch(problem: Problem, values: Values) -> Callable[[], Any]:
    import torch

    ops = SimpleNamespace(
        sum=torch.sum, softplus=lambda z: torch.logaddexp(torch.zeros_like(z), z), tanh=torch.tanh
    )
    args = [torch.from_numpy(np.ascontiguousarray(values[a])) for a in problem.args]

    def f(*xs: Any) -> Any:
        return problem.fn(ops, *xs)

    if problem.kind == "gradient":
        fn = torch.func.grad(f)
        return lambda: fn(*args)
    if problem.kind == "hessian":
        fn = torch.func.hessian(f)
        return lambda: fn(*args)
    g = torch.from_numpy(np.ascontiguousarray(values[problem.cotangent]))

    def pullback() -> Any:
        _, back = torch.func.vjp(lambda w: f(w, *args[1:]), args[0])
        return back(g)[0]

    return pullback


def _autograd(problem: Problem, values: Values) -> Callable[[], Any]:
    import autograd
    import autograd.numpy as anp

    ops = SimpleNamespace(
        sum=anp.sum, softplus=lambda z: anp.logaddexp(0.0, z), tanh=anp.tanh
    )
    args = [values[a] for a in problem.args]

    def f(*xs: Any) -> Any:
        return problem.fn(ops, *xs)

    if problem.kind == "gradient":
        fn = autograd.grad(f)
        return lambda: fn(*args)
    if problem.kind == "hessian":
        fn = autograd.hessian(f)
        return lambda: fn(*args)
    g = values[problem.cotangent]

    def pullback() -> Any:
        back, _ = autograd.make_vjp(lambda w: f(w, *args[1:]))(args[0])
        return back(g)

    return pullback
