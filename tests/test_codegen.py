"""codegen: generated functions run and match evaluate; shared parts are computed once."""

from __future__ import annotations

import numpy as np
import pytest
from test_render import GALLERY, values_for

import einderiv as ed
from einderiv.codewriter import codegen


def run_generated(source: str, name: str, values: dict) -> np.ndarray:
    scope: dict = {}
    exec(compile(source, "<codegen>", "exec"), scope)  # noqa: S102 - the test runs the output
    return scope[name](**values)


@pytest.mark.parametrize("name,build", GALLERY[::3], ids=[g[0] for g in GALLERY[::3]])
def test_codegen_matches_evaluate(name, build):
    e = build()
    source = codegen(e, name="fn")
    vals = values_for(e)
    np.testing.assert_allclose(run_generated(source, "fn", vals), e.evaluate(vals), atol=1e-9)


def test_shared_subexpressions_become_temporaries():
    x = ed.symbols("x[n]")
    e = ed.grad(ed.sum(ed.tanh(x) ** 3), "x")
    source = codegen(e)
    assert "    t1 = np.tanh(x)**2" in source  # the shared part, named like to_program's
    assert source.count("np.tanh(x)") == 1  # computed once
    vals = values_for(e)
    np.testing.assert_allclose(run_generated(source, "f", vals), e.evaluate(vals))


def test_rnn_codegen_names_the_shared_preactivation():
    Waa, Wax, a_prev, x, ba = ed.symbols("Waa[n,n] Wax[n,k] a_prev[n,m] x[k,m] ba[n,1]")
    a = ed.tanh(Waa @ a_prev + Wax @ x + ba)
    L = ed.sum(a * a)
    e = ed.grad(L, "Waa")
    source = codegen(e, name="dWaa")
    assert source.count("np.tanh(") == 1
    vals = values_for(e)
    np.testing.assert_allclose(run_generated(source, "dWaa", vals), e.evaluate(vals))


def test_signature_and_modules():
    W, u = ed.symbols("W[n,m] u[m]")
    e = ed.vjp(W @ u, "u", "g")
    assert "def f(W, g, u=None):" in codegen(e)
    jax_src = codegen(ed.tanh(W @ u), module="jax.numpy")
    assert jax_src.startswith("import jax.numpy as jnp")
    assert "jnp.tanh(W @ u)" in jax_src
    torch_src = codegen(ed.sum(W, axis=1, keepdims=True), module="torch")
    assert torch_src.startswith("import torch")
    assert "sum(dim=1, keepdim=True)" in torch_src
    with pytest.raises(ed.EinderivError, match="array module"):
        codegen(e, module="cupyx")
    with pytest.raises(ed.EinderivError, match="identifier"):
        codegen(e, name="not a name")


def test_exported():
    assert ed.codegen is codegen


@pytest.mark.parametrize("name,build", GALLERY[::2], ids=[g[0] for g in GALLERY[::2]])
def test_codegen_torch_runs(name, build):
    torch = pytest.importorskip("torch")
    e = build()
    vals = values_for(e)
    got = run_generated(
        codegen(e, module="torch"), "f", {k: torch.tensor(v) for k, v in vals.items()}
    )
    got = got.numpy() if hasattr(got, "numpy") else np.asarray(got)
    np.testing.assert_allclose(got, e.evaluate(vals), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name,build", GALLERY[1::4], ids=[g[0] for g in GALLERY[1::4]])
def test_codegen_jax_runs(name, build):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    e = build()
    vals = values_for(e)
    got = run_generated(codegen(e, module="jax.numpy"), "f", vals)
    np.testing.assert_allclose(np.asarray(got), e.evaluate(vals), rtol=1e-7, atol=1e-9)
