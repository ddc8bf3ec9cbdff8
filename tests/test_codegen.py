"""codegen: generated functions run and match evaluate; shared parts are computed once."""

from __future__ import annotations

import numpy as np
import pytest
from support.gallery import GALLERY
from support.oracle import values_for

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
    # declared order: W and u (f's), then the cotangent g; u is unused, so g is optional
    # in Python's eyes, and the code refuses a missing g
    source = codegen(e)
    assert "def f(W, u=None, g=None):" in source
    with pytest.raises(TypeError, match="missing required argument: 'g'"):
        run_generated(source, "f", {"W": np.ones((2, 3))})
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
    e = build()
    vals = values_for(e)
    with jax.enable_x64(True):  # for this test only: no setting leaks to later tests
        got = run_generated(codegen(e, module="jax.numpy"), "f", vals)
    np.testing.assert_allclose(np.asarray(got), e.evaluate(vals), rtol=1e-7, atol=1e-9)


# -- issue 12: code users can call ------------------------------------------------------

LOGISTIC = ("sum(softplus(-y * (X @ w))) + lam * sum(w**2)", "X[n,d] w[d] y[n] lam")


def _logistic_values(n=5, d=3, seed=0):
    rng = np.random.default_rng(seed)
    return {"X": rng.normal(size=(n, d)), "w": rng.normal(size=d),
            "y": rng.choice([-1.0, 1.0], size=n), "lam": 0.1}


def test_arguments_in_declared_order_and_every_input_by_keyword():
    f = ed.parse(*LOGISTIC)
    h = ed.hessian(f, "w")
    source = codegen(h, name="hess_w")
    assert "def hess_w(X, w, y, lam):" in source
    values = _logistic_values()
    np.testing.assert_allclose(run_generated(source, "hess_w", values), h.evaluate(values))
    scope: dict = {}
    exec(source, scope)
    np.testing.assert_allclose(scope["hess_w"](*values.values()), h.evaluate(values))  # positional


@pytest.mark.parametrize("kind", ["grad", "hessian", "vjp"])
def test_every_declared_input_by_keyword_even_unused(kind):
    f = ed.parse("sum(W @ x) + 0 * sum(b)", shapes="W[n,m] x[m] b[n]")  # b cancels
    e = {"grad": lambda: ed.grad(f, "W"), "hessian": lambda: ed.hessian(f, "x"),
         "vjp": lambda: ed.vjp(ed.parse("W @ x + 0 * b", shapes="W[n,m] x[m] b[n]"), "x", "g")}[
        kind]()
    source = codegen(e)
    rng = np.random.default_rng(1)
    values = {"W": rng.normal(size=(3, 4)), "x": rng.normal(size=4), "b": rng.normal(size=3),
              "g": rng.normal(size=3)}
    names = [s.name for s in ed.ir.nodes.inputs_of(e)]
    got = run_generated(source, "f", {k: values[k] for k in names})
    np.testing.assert_allclose(got, e.evaluate({k: values[k] for k in names}))


def test_shape_checks_name_the_argument_the_axis_and_both_sizes():
    h = ed.hessian(ed.parse(*LOGISTIC), "w")
    source = codegen(h, name="hess_w", check_shapes=True)
    values = _logistic_values()
    np.testing.assert_allclose(run_generated(source, "hess_w", values), h.evaluate(values))
    with pytest.raises(ValueError, match=r"hess_w: w's axis 0 \(d\) has size 4, but d = 3 "
                                         r"from X's axis 1"):
        run_generated(source, "hess_w", {**values, "w": np.ones(4)})
    with pytest.raises(ValueError, match=r"hess_w: X must have 2 axes \(declared X\[n,d\]\), "
                                         r"got shape \(5,\)"):
        run_generated(source, "hess_w", {**values, "X": np.ones(5)})
    b = ed.symbols("ba[n,1]")
    source = codegen(ed.tanh(b), check_shapes=True)
    with pytest.raises(ValueError, match="ba's axis 1 must have size 1"):
        run_generated(source, "f", {"ba": np.ones((3, 2))})
    assert "raise" not in codegen(h)  # no checks unless asked


def test_check_compares_with_evaluate_once():
    f = ed.parse("sum(log(x) * sqrt(y))", shapes="x[n] y[n]")  # needs the domain
    source = codegen(ed.grad(f, "x"), check=True)
    assert source.startswith("import numpy as np")
    for module in ("torch", "jax.numpy"):
        codegen(ed.grad(f, "x"), module=module, check=True)
    from einderiv.codewriter import check_generated

    e = ed.grad(f, "x")
    wrong = codegen(e).replace("return ", "return 2 * ")
    with pytest.raises(ed.EinderivError, match=r"disagrees with evaluate at random values"):
        check_generated(e, wrong)


def test_cupy_source_uses_cp_and_cupyx():
    x, W = ed.symbols("x[n] W[n,m]")
    source = codegen(ed.grad(ed.sum(ed.erf(x @ W)), "x"), module="cupy")
    assert source.startswith("import cupy as cp\n")
    assert "cp.exp(" in source and "np." not in source
    source = codegen(ed.erf(x), module="cupy")
    assert "import cupyx.scipy.special" in source and "cupyx.scipy.special.erf(x)" in source
    assert "np." not in source
    torch_source = codegen(ed.sum(W, axis=1, keepdims=True), module="torch")
    assert "sum(dim=1, keepdim=True)" in torch_source
    try:
        import cupy  # noqa: F401
    except ImportError:
        with pytest.raises(ed.EinderivError, match="cupy is not installed"):
            codegen(ed.erf(x), module="cupy", check=True)


def test_a_jax_check_leaves_jax_settings_alone():
    """check=True runs jax code in float64 for the check only: no process-wide x64 switch."""
    jax = pytest.importorskip("jax")
    f = ed.parse("sum(tanh(W @ x))", shapes="W[n,m] x[m]")
    before = bool(jax.config.read("jax_enable_x64"))
    with jax.enable_x64(False):
        codegen(ed.grad(f, "W"), module="jax.numpy", check=True)
        assert not jax.config.read("jax_enable_x64")
    assert bool(jax.config.read("jax_enable_x64")) == before
