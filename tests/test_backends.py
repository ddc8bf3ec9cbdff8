"""evaluate(..., backend=jax|torch|dask) agrees with the numpy evaluator (CPU)."""

import numpy as np
import pytest

import einderiv as ed
from einderiv.evaluate.api import evaluate


def _cases():
    W, x, b, A, g = ed.symbols("W[n,m] x[m] b[n] A[n,n] g[n]")
    S = ed.symbols("S[n,n]:sym")
    ba, a0 = ed.symbols("ba[n,1] a0[n,m]")
    y = ed.tanh(W @ x + b)
    s = ed.sum(ed.softplus(W @ x) * g)
    return {
        "matvec": W @ x,
        "tanh-layer": y,
        "vjp": ed.vjp(y, "W", "g"),
        "jacobian-with-delta": ed.diff(W @ x, "W"),
        "hessian": ed.hessian(s, "x"),
        "diag": ed.diag(b),
        "broadcast-bias": ed.sigmoid(a0 + ba),
        "functions": ed.sum(ed.exp(ed.sin(b)) + ed.log1p(ed.square(b)) + ed.cos(b)
                            + ed.sqrt(ed.abs(b) + 1.0) + ed.relu(b) + ed.log(1.0 + b * b)),
        "matfuncs": ed.logdet(A @ A.T + ed.diag(g * g + 1.0)) + ed.det(A) + ed.trace(ed.inv(A)),
        "logsumexp": ed.logsumexp(W, axis=1),
        "softmax": ed.softmax(W),
        "mean-norm": ed.mean(W, axis=0) * ed.norm(x),
        "symmetric-grad": ed.grad(x @ ed.symbols("M[m,m]") @ x + ed.sum(S @ b), "S"),
        "size-trace": ed.trace(ed.hessian(ed.sum(b * b), "b")),
    }


def _values(seed=0, n=4, m=3):
    rng = np.random.default_rng(seed)
    S = rng.normal(size=(n, n))
    return {
        "W": rng.normal(size=(n, m)), "x": rng.normal(size=m), "b": rng.normal(size=n) * 0.5,
        "A": rng.normal(size=(n, n)) + 3 * np.eye(n), "g": rng.normal(size=n),
        "S": (S + S.T) / 2, "ba": rng.normal(size=(n, 1)), "a0": rng.normal(size=(n, m)),
        "M": rng.normal(size=(m, m)),
    }


def _to_numpy(value):
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if hasattr(value, "compute"):
        value = value.compute()
    return np.asarray(value)


def _tolerance(value):
    return 1e-4 if np.asarray(value).dtype == np.float32 else 1e-10


@pytest.fixture(params=["jax", "torch", "dask"])
def backend(request):
    module = {"jax": "jax", "torch": "torch", "dask": "dask.array"}[request.param]
    pytest.importorskip(module, reason=f"{module} is not installed (pip install -e '.[bench]')")
    return request.param


@pytest.mark.parametrize("name", list(_cases()))
def test_backend_agrees_with_numpy(backend, name):
    expr = _cases()[name]
    values = _values()
    sizes = {"n": 4, "m": 3}
    want = evaluate(expr, values, sizes=sizes)
    got = _to_numpy(evaluate(expr, values, backend=backend, sizes=sizes))
    assert got.shape == want.shape
    tol = _tolerance(got)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_backend_returns_native_arrays_and_accepts_them(backend):
    W, x = ed.symbols("W[n,m] x[m]")
    values = {"W": np.arange(6.0).reshape(2, 3), "x": np.ones(3)}
    if backend == "torch":
        import torch

        values = {k: torch.as_tensor(v) for k, v in values.items()}
        got = (W @ x).evaluate(values, backend="torch")
        assert isinstance(got, torch.Tensor)
    else:
        got = (W @ x).evaluate(values, backend=backend)
        assert type(got).__module__.split(".")[0] in ("jax", "jaxlib", "dask")
    np.testing.assert_allclose(_to_numpy(got), [3.0, 12.0])


def test_backend_errors_are_the_numpy_evaluators(backend):
    W, x = ed.symbols("W[n,m] x[m]")
    with pytest.raises(ed.EvaluationError, match="missing value for 'x'"):
        evaluate(W @ x, {"W": np.ones((2, 3))}, backend=backend)
    with pytest.raises(ed.EvaluationError, match="dim 'm' has size"):
        evaluate(W @ x, {"W": np.ones((2, 3)), "x": np.ones(4)}, backend=backend)


def test_unknown_backend_is_an_error():
    x = ed.symbols("x[n]")
    with pytest.raises(ed.EvaluationError, match="unknown backend 'tensorflow'"):
        evaluate(x, {"x": np.ones(2)}, backend="tensorflow")


def test_missing_backend_package_is_an_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy now raises ImportError
    x = ed.symbols("x[n]")
    with pytest.raises(ed.EvaluationError, match="needs the package 'cupy'"):
        evaluate(x, {"x": np.ones(2)}, backend="cupy")
