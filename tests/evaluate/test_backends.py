"""Every backend runs the one interpreter: numpy, jax, torch and dask for real, cupy's table wired.

Each expression family the numpy tests cover (products, deltas, sums with delta terms,
functions, matrix functions, logsumexp, size nodes, broadcasting, Hessians) is evaluated on
each backend from that backend's own arrays and compared with numpy; then the dtype and
device policy (float32 stays float32, mixed inputs promote like numpy, integers become
float64, torch tensors stay on their device and nothing is read off it), the refusals
(with their messages), and a gradient over a many-chunk dask array on a ``distributed``
local cluster.

A backend that is not installed skips locally; with ``EINDERIV_CI=1`` (``.ci/run``) it is a
failure, so CI cannot pass without running these.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from typing import Any

import numpy as np
import pytest

import einderiv as ed
from einderiv.evaluate.api import evaluate
from einderiv.evaluate.backends import load_backend
from einderiv.evaluate.compiled import Compiled
from einderiv.evaluate.cupy_ops import cupy_backend
from einderiv.ir.nodes import Delta

MODULES = {"jax": "jax", "torch": "torch", "dask": "dask.array"}


def _require(module: str) -> Any:
    """The module; a skip locally when it is missing, a failure in CI (EINDERIV_CI=1)."""
    if os.environ.get("EINDERIV_CI") == "1":
        return importlib.import_module(module)
    reason = f"{module} is not installed (pip install -e '.[bench]')"
    return pytest.importorskip(module, reason=reason)


@pytest.fixture(params=["numpy", "jax", "torch", "dask"])
def backend(request):
    if request.param != "numpy":
        _require(MODULES[request.param])
    return request.param


@pytest.fixture(params=["jax", "torch", "dask"])
def other_backend(request):
    _require(MODULES[request.param])
    return request.param


@pytest.fixture
def x64():
    """jax in float64 for the duration of a test (other backends are unaffected)."""
    try:
        import jax
    except ImportError:  # the backend fixture has skipped or failed already
        yield
        return
    with jax.enable_x64(True):
        yield


def native(backend: str, value: Any, chunks: int = 2) -> Any:
    """``value`` as ``backend``'s own array (dask: several chunks)."""
    value = np.asarray(value)
    if backend == "torch":
        import torch

        return torch.as_tensor(value)
    if backend == "jax":
        import jax.numpy as jnp

        return jnp.asarray(value)
    if backend == "dask":
        import dask.array as da

        return da.from_array(value, chunks=chunks)
    return value


def to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if hasattr(value, "compute"):
        value = value.compute()
    return np.asarray(value)


def dtype_name(value: Any) -> str:
    return str(value.dtype).removeprefix("torch.")


def _cases() -> dict[str, tuple[ed.Expr, dict[str, int]]]:
    W, x, b, A, g = ed.symbols("W[n,m] x[m] b[n] A[n,n] g[n]")
    S = ed.symbols("S[n,n]:sym")
    ba, a0 = ed.symbols("ba[n,1] a0[n,m]")
    X, V = ed.symbols("X[n,m] V[m,k]")
    y = ed.tanh(W @ x + b)
    s = ed.sum(ed.softplus(W @ x) * g)
    d = Delta.make("n")
    cases = {
        # products
        "matvec": W @ x,
        "chain": W.T @ A @ A @ W,
        "outer-scaled": 3.0 * ed.outer(b, x),
        "trace-product": ed.trace(A @ A.T) * 0.25,
        # deltas (tied output axes) and sums with delta terms
        "jacobian-with-delta": ed.diff(W @ x, "W"),
        "jacobian-sizes-from-wrt": ed.diff(X @ V, "X"),
        "sum-with-delta": ed.diff(x + W.T @ b * 0 + x, "x") + ed.diff(W.T @ W @ x, "x"),
        "delta-minus-matrix": d - A,
        "bare-delta": d + 0 * A,
        "function-of-delta": ed.exp(d) * A,
        "diag": ed.diag(b),
        # functions
        "tanh-layer": y,
        "vjp": ed.vjp(y, "W", "g"),
        "functions": ed.sum(ed.exp(ed.sin(b)) + ed.log1p(ed.square(b)) + ed.cos(b)
                            + ed.sqrt(ed.abs(b) + 1.0) + ed.relu(b) + ed.log(1.0 + b * b)
                            + ed.sigmoid(b) + ed.softplus(-b) + b ** 3 + 1.0 / (2.0 + b)),
        # matrix functions
        "matfuncs": ed.logdet(A @ A.T + ed.diag(g * g + 1.0)) + ed.det(A) + ed.trace(ed.inv(A)),
        "inv-gradient": ed.grad(ed.trace(ed.inv(A) @ ed.outer(b, g)), "A"),
        "logdet-hessian": ed.diff(ed.grad(ed.logdet(A), "A"), "A"),
        # logsumexp
        "logsumexp": ed.logsumexp(W, axis=1),
        "logsumexp-all": ed.logsumexp(W),
        "softmax": ed.softmax(W),
        "softmax-vjp": ed.vjp(ed.softmax(W), "W", ed.symbols("G[n,m]")),
        # size nodes
        "mean-norm": ed.mean(W, axis=0) * ed.norm(x),
        "size-trace": ed.trace(ed.hessian(ed.sum(b * b), "b")),
        "mean-gradient": ed.grad(ed.sum(ed.mean(W, axis=1) ** 2), "W"),
        # broadcasting
        "broadcast-bias": ed.sigmoid(a0 + ba),
        "broadcast-gradient": ed.grad(ed.sum(ed.tanh(a0 + ba)), "ba"),
        "constant": 0 * W + 2.0,
        "zero": ed.diff(x - x, x),
        # Hessians
        "hessian": ed.hessian(s, "x"),
        "hessian-tanh": ed.hessian(ed.sum(ed.tanh(W @ x) ** 2), "x"),
        "symmetric-grad": ed.grad(x @ ed.symbols("M[m,m]") @ x + ed.sum(S @ b), "S"),
    }
    sizes = {"n": 4, "m": 3, "k": 2}
    return {name: (expr, sizes) for name, expr in cases.items()}


def _values(seed: int = 0, n: int = 4, m: int = 3, k: int = 2) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    S = rng.normal(size=(n, n))
    return {
        "W": rng.normal(size=(n, m)), "x": rng.normal(size=m), "b": rng.normal(size=n) * 0.5,
        "A": rng.normal(size=(n, n)) + 3 * np.eye(n), "g": rng.normal(size=n),
        "S": (S + S.T) / 2, "ba": rng.normal(size=(n, 1)), "a0": rng.normal(size=(n, m)),
        "M": rng.normal(size=(m, m)), "X": rng.normal(size=(n, m)), "V": rng.normal(size=(m, k)),
        "G": rng.normal(size=(n, m)),
    }


CASES = _cases()


@pytest.mark.parametrize("name", list(CASES))
def test_backend_agrees_with_numpy(backend, x64, name):
    """The backend's own arrays in, the backend's arrays out, numpy's values."""
    expr, sizes = CASES[name]
    values = _values()
    want = evaluate(expr, values, sizes=sizes)
    inputs = {k: native(backend, v) for k, v in values.items()}
    got = evaluate(expr, inputs, backend=backend, sizes=sizes)
    assert dtype_name(got) == "float64"
    got = to_numpy(got)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", ["jacobian-with-delta", "sum-with-delta", "hessian", "matfuncs"])
def test_backend_takes_numpy_inputs(other_backend, x64, name):
    expr, sizes = CASES[name]
    values = _values(1)
    got = evaluate(expr, values, backend=other_backend, sizes=sizes)
    assert type(got).__module__.split(".")[0] in ("jax", "jaxlib", "torch", "dask")
    np.testing.assert_allclose(to_numpy(got), evaluate(expr, values, sizes=sizes), rtol=1e-10)


def test_compile_with_backend_returns_native_arrays(other_backend):
    W, x = ed.symbols("W[n,m] x[m]")
    fn = ed.compile(W @ x, backend=other_backend)
    assert ed.compile(W @ x, backend=other_backend) is fn
    assert ed.compile(W @ x) is not fn
    values = {"W": np.arange(6.0).reshape(2, 3), "x": np.ones(3)}
    got = fn(**{k: native(other_backend, v) for k, v in values.items()})
    assert type(got).__module__.split(".")[0] in ("jax", "jaxlib", "torch", "dask")
    np.testing.assert_allclose(to_numpy(got), [3.0, 12.0])
    assert fn.backend.name == other_backend


# -- dtype policy ----------------------------------------------------------------------------


def _logistic():
    X, w, y = ed.symbols("X[n,d] w[d] y[n]")
    z = X @ w
    loss = ed.sum(ed.softplus(z) - y * z)
    rng = np.random.default_rng(3)
    values = {"X": rng.normal(size=(6, 3)), "w": rng.normal(size=3),
              "y": (rng.random(6) > 0.5).astype(float)}
    return loss, values


@pytest.mark.parametrize("kind", ["gradient", "hessian", "jacobian"])
def test_float32_in_float32_out(backend, kind):
    loss, values = _logistic()
    if kind == "gradient":
        expr = ed.grad(loss, "w")
    elif kind == "hessian":
        expr = ed.hessian(loss, "w")
    else:  # a surviving delta: tied output axes placed in float32
        expr = ed.diff(ed.symbols("X[n,d]") @ ed.symbols("w[d]"), "X")
    want = evaluate(expr, values)
    inputs = {k: native(backend, v.astype(np.float32)) for k, v in values.items()}
    got = evaluate(expr, inputs, backend=backend)
    assert dtype_name(got) == "float32"
    np.testing.assert_allclose(to_numpy(got), want, rtol=1e-4, atol=1e-5)


def test_float32_compiled_hessian_on_torch_has_no_float64_identity():
    """The reported failure: a float32 Hessian on torch (identities were float64)."""
    torch = _require("torch")
    A, x = ed.symbols("A[n,n] x[n]")
    H = ed.hessian(ed.sum(ed.tanh(A @ x)) + x @ x, "x")  # x @ x: a delta term in the sum
    fn = ed.compile(H, backend="torch")
    rng = np.random.default_rng(0)
    Av, xv = rng.normal(size=(4, 4)), rng.normal(size=4)
    got = fn(A=torch.tensor(Av, dtype=torch.float32), x=torch.tensor(xv, dtype=torch.float32))
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), H.evaluate({"A": Av, "x": xv}), rtol=1e-4, atol=1e-5)


def test_mixed_float32_float64_promotes_like_numpy(backend, x64):
    W, x = ed.symbols("W[n,m] x[m]")
    J = ed.diff(ed.tanh(W @ x), "W")
    values = {"W": np.ones((2, 3), dtype=np.float32), "x": np.arange(3.0)}
    got = evaluate(J, {k: native(backend, v) for k, v in values.items()}, backend=backend)
    assert dtype_name(got) == "float64"
    np.testing.assert_allclose(to_numpy(got), evaluate(J, values), rtol=1e-6)


def test_integer_inputs_become_float64(backend, x64):
    W, x = ed.symbols("W[n,m] x[m]")
    values = {"W": np.eye(2, 3, dtype=np.int64), "x": np.array([1, 2, 3])}
    got = evaluate(ed.sigmoid(W @ x), {k: native(backend, v) for k, v in values.items()},
                   backend=backend)
    assert dtype_name(got) == "float64"
    np.testing.assert_allclose(to_numpy(got), 1 / (1 + np.exp(-np.array([1.0, 2.0]))))


def test_dtype_comes_from_size_sources_when_no_symbol_is_left():
    """grad(trace(A), A) is the identity: it takes A's dtype (and size)."""
    A = ed.symbols("A[n,n]")
    got = ed.grad(ed.trace(A), "A").evaluate({"A": np.ones((3, 3), dtype=np.float32)})
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.eye(3))


def test_jax_without_x64_computes_in_float32():
    jax = _require("jax")
    loss, values = _logistic()
    with jax.enable_x64(False):
        got = evaluate(ed.hessian(loss, "w"), values, backend="jax")
        assert got.dtype == np.float32
    with jax.enable_x64(True):  # the same compiled evaluator follows the setting
        got = evaluate(ed.hessian(loss, "w"), values, backend="jax")
        assert got.dtype == np.float64


def test_jax_compiled_runs_under_jit_and_grad():
    jax = _require("jax")
    import jax.numpy as jnp

    loss, values = _logistic()
    g = ed.compile(ed.grad(loss, "w"), backend="jax")
    inputs = {k: jnp.asarray(v, dtype=jnp.float32) for k, v in values.items()}
    jitted = jax.jit(lambda X, w, y: g(X=X, w=w, y=y))(**inputs)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(g(inputs)), rtol=1e-6)
    f = ed.compile(loss, backend="jax")
    autodiff = jax.grad(lambda w: f(X=inputs["X"], w=w, y=inputs["y"]))(inputs["w"])
    np.testing.assert_allclose(np.asarray(autodiff), np.asarray(jitted), rtol=1e-5)


# -- devices: torch ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["jacobian-with-delta", "sum-with-delta", "hessian", "matfuncs", "logsumexp",
             "broadcast-bias", "size-trace", "function-of-delta"]
)
def test_torch_result_stays_on_the_inputs_device_and_data_is_never_read(name):
    """meta tensors have shapes and no data: any host copy or .item() would raise."""
    torch = _require("torch")
    expr, sizes = CASES[name]
    inputs = {k: torch.empty(v.shape, device="meta", dtype=torch.float32)
              for k, v in _values().items() if k != "S"}
    got = evaluate(expr, inputs, backend="torch", sizes=sizes)
    assert got.device.type == "meta"
    assert got.dtype == torch.float32
    assert tuple(got.shape) == evaluate(expr, _values(), sizes=sizes).shape


def test_torch_values_on_two_devices_are_refused():
    torch = _require("torch")
    W, x = ed.symbols("W[n,m] x[m]")
    with pytest.raises(ed.EvaluationError, match=r"backend 'torch'.*different devices.*'x' on"):
        evaluate(W @ x, {"W": torch.ones(2, 3), "x": torch.empty(3, device="meta")},
                 backend="torch")


def test_torch_autograd_flows_through_strided_delta_placement_and_sums():
    torch = _require("torch")
    W, x = ed.symbols("W[n,m] x[m]")
    J = ed.diff(ed.tanh(W @ x), "W") + 0  # strided placement of the delta
    rng = np.random.default_rng(4)
    Wv, xv, Cv = rng.normal(size=(3, 2)), rng.normal(size=2), rng.normal(size=(3, 3, 2))
    Wt = torch.tensor(Wv, requires_grad=True)
    out = evaluate(J, {"W": Wt, "x": torch.tensor(xv)}, backend="torch")
    (out * torch.tensor(Cv)).sum().backward()
    # d/dW_kl sum_ija C_ija (1 - tanh(Wx)_i^2) δ_ij x_a, by central differences
    def f(w):
        return np.sum(Cv * evaluate(J, {"W": w, "x": xv}))
    eps, numeric = 1e-6, np.zeros_like(Wv)
    for idx in np.ndindex(*Wv.shape):
        step = np.zeros_like(Wv)
        step[idx] = eps
        numeric[idx] = (f(Wv + step) - f(Wv - step)) / (2 * eps)
    np.testing.assert_allclose(Wt.grad.numpy(), numeric, rtol=1e-6, atol=1e-8)


def test_torch_result_is_never_the_callers_tensor():
    torch = _require("torch")
    x = ed.symbols("x[n]")
    value = torch.ones(3)
    out = ed.compile(x, backend="torch")(x=value)
    out[0] = 5.0
    assert value[0] == 1.0
    W = ed.symbols("W[n,m]")
    matrix = torch.ones(2, 3)
    transposed = ed.compile(W.T, backend="torch")(W=matrix)  # torch would return a view
    transposed[0, 0] = 5.0
    assert matrix[0, 0] == 1.0
    broadcast = evaluate(0 * ed.outer(x, x) + 1.0, {"x": value}, backend="torch")
    broadcast[0, 0] = 2.0  # writable: not an expanded (stride-0) view
    assert broadcast[1, 1] == 1.0


# -- dask --------------------------------------------------------------------------------------


def test_dask_is_lazy_and_keeps_chunks():
    da = _require("dask.array")
    W, x = ed.symbols("W[n,m] x[m]")
    Wd = da.from_array(np.arange(12.0).reshape(4, 3), chunks=(2, 3))
    got = evaluate(ed.tanh(W @ x), {"W": Wd, "x": np.ones(3)}, backend="dask")
    assert isinstance(got, da.Array)
    assert got.chunks == ((2, 2),)
    np.testing.assert_allclose(got.compute(), np.tanh(np.arange(12.0).reshape(4, 3).sum(1)))


@pytest.mark.parametrize("chunks", [(3, 3), (2, 4), (6, 6), (4, 2)])
def test_dask_matrix_functions_from_lu_any_chunks(chunks):
    """dask has no det and its LU needs equal square chunks: ours rechunk and use P L U."""
    da = _require("dask.array")
    rng = np.random.default_rng(5)
    Av = rng.normal(size=(6, 6))
    Av[:, [0, 3]] = Av[:, [3, 0]]  # a pivoting permutation
    A, b = ed.symbols("A[n,n] b[n]")
    for expr in (ed.det(A), ed.logdet(A), ed.inv(A), ed.det(-A), ed.grad(ed.logdet(A), "A")):
        got = evaluate(expr, {"A": da.from_array(Av, chunks=chunks)}, backend="dask")
        np.testing.assert_allclose(got.compute(), evaluate(expr, {"A": Av}), rtol=1e-10)


def test_dask_permutation_sign_matches_numpy():
    from einderiv.evaluate.dask_ops import permutation_sign

    rng = np.random.default_rng(6)
    for n in range(1, 7):
        perm = rng.permutation(n)
        P = np.eye(n)[perm]
        assert float(permutation_sign(perm)) == pytest.approx(np.linalg.det(P))


def test_dask_unknown_chunk_sizes_are_refused():
    da = _require("dask.array")
    x = ed.symbols("x[n]")
    values = da.from_array(np.arange(6.0), chunks=3)
    unknown = values[values > 1.0]  # boolean mask: shape (nan,)
    with pytest.raises(ed.EvaluationError, match=r"'x' has a shape that is not known yet.*"
                                                 r"compute_chunk_sizes\(\)"):
        evaluate(ed.sum(x), {"x": unknown}, backend="dask")


def test_dask_gradient_on_a_distributed_cluster_matches_numpy():
    """How a user who outgrows one machine runs einderiv: a dask graph on a cluster.

    In-process workers (``processes=False``) share this process's memory, which a full
    test process (torch, jax) exceeds on its own; the memory thresholds are turned off so
    the nominal limit cannot pause a worker -- the data here is about a megabyte.
    """
    da = _require("dask.array")
    _require("distributed")
    import dask
    from distributed import Client, LocalCluster

    rng = np.random.default_rng(7)
    n, d = 4000, 16
    Xv, wv = rng.normal(size=(n, d)), rng.normal(size=d) * 0.3
    yv = (rng.random(n) > 0.5).astype(float)
    X, w, y = ed.symbols("X[n,d] w[d] y[n]")
    z = X @ w
    loss = ed.sum(ed.softplus(z) - y * z)
    grad, hess = ed.grad(loss, "w"), ed.hessian(loss, "w")
    values = {"X": da.from_array(Xv, chunks=(250, d)), "w": wv,
              "y": da.from_array(yv, chunks=250)}
    assert values["X"].numblocks == (16, 1)
    memory = {f"distributed.worker.memory.{k}": False
              for k in ("target", "spill", "pause", "terminate")}
    with dask.config.set(memory), LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, memory_limit="256MiB",
        dashboard_address=None,
    ) as cluster, Client(cluster) as client:
        lazy_grad = ed.compile(grad, backend="dask")(values)
        lazy_hess = ed.compile(hess, backend="dask")(values)
        assert isinstance(lazy_grad, da.Array) and isinstance(lazy_hess, da.Array)
        got_grad, got_hess = client.compute([lazy_grad, lazy_hess], sync=True)
    plain = {"X": Xv, "w": wv, "y": yv}
    np.testing.assert_allclose(got_grad, grad.evaluate(plain), rtol=1e-10)
    np.testing.assert_allclose(got_hess, hess.evaluate(plain), rtol=1e-10)
    s = 1 / (1 + np.exp(-Xv @ wv))
    np.testing.assert_allclose(got_grad, Xv.T @ (s - yv), rtol=1e-10)


# -- solve (in every table, ahead of the IR's solve node) ---------------------------------------


@pytest.mark.parametrize("rhs", ["vector", "matrix"])
def test_every_backend_table_solves(backend, x64, rhs):
    rng = np.random.default_rng(8)
    Av = rng.normal(size=(5, 5)) + 4 * np.eye(5)
    Bv = rng.normal(size=5) if rhs == "vector" else rng.normal(size=(5, 2))
    table = load_backend(backend)
    got = table.linalg["solve"](native(backend, Av, chunks=3), native(backend, Bv, chunks=2))
    np.testing.assert_allclose(to_numpy(got), np.linalg.solve(Av, Bv), rtol=1e-10)


# -- refusals and errors ---------------------------------------------------------------------------


def test_backend_errors_are_the_numpy_evaluators(other_backend):
    W, x = ed.symbols("W[n,m] x[m]")
    with pytest.raises(ed.EvaluationError, match="missing value for 'x'"):
        evaluate(W @ x, {"W": np.ones((2, 3))}, backend=other_backend)
    with pytest.raises(ed.EvaluationError, match="dim 'm' has size"):
        evaluate(W @ x, {"W": native(other_backend, np.ones((2, 3))), "x": np.ones(4)},
                 backend=other_backend)
    with pytest.raises(ed.EvaluationError, match=r"rank 2\) but its value has shape \(3,\)"):
        evaluate(W @ x, {"W": native(other_backend, np.ones(3)), "x": np.ones(3)},
                 backend=other_backend)


@pytest.mark.parametrize("name", ["numpy", "jax", "torch"])
def test_asymmetric_value_of_a_symmetric_symbol_is_refused(name):
    if name != "numpy":
        _require(MODULES[name])
    S = ed.symbols("S[n,n]:sym")
    bad = native(name, np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(ed.EvaluationError, match=r"declared symmetric.*max \|A - A.T\| = 2"):
        evaluate(ed.trace(S), {"S": bad}, backend=name)


def test_singular_matrix_on_torch_is_an_evaluation_error():
    torch = _require("torch")
    A = ed.symbols("A[n,n]")
    with pytest.raises(ed.EvaluationError, match="inv of a singular matrix"):
        evaluate(ed.inv(A), {"A": torch.zeros(3, 3, dtype=torch.float64)}, backend="torch")


def test_torch_dtype_without_numpy_counterpart_is_refused():
    torch = _require("torch")
    x = ed.symbols("x[n]")
    with pytest.raises(ed.EvaluationError, match=r"'x' must be real numbers.*bfloat16"):
        evaluate(x, {"x": torch.ones(2, dtype=torch.bfloat16)}, backend="torch")


@pytest.mark.parametrize("name", ["numpy", "torch"])
def test_linear_algebra_in_float16_is_refused_with_the_fix(name):
    if name != "numpy":
        _require(MODULES[name])
    A = ed.symbols("A[n,n]")
    value = native(name, np.eye(3, dtype=np.float16))
    with pytest.raises(ed.EvaluationError, match=rf"backend '{name}' cannot compute inv in "
                                                 r".*float16.*cast the inputs to float32"):
        evaluate(ed.inv(A), {"A": value}, backend=name)
    assert dtype_name(evaluate(ed.tanh(A), {"A": value}, backend=name)) == "float16"


def test_unknown_backend_is_an_error():
    x = ed.symbols("x[n]")
    with pytest.raises(ed.EvaluationError, match="unknown backend 'tensorflow'; choose one of"):
        evaluate(x, {"x": np.ones(2)}, backend="tensorflow")
    with pytest.raises(ed.EvaluationError, match="unknown backend 'tensorflow'"):
        ed.compile(x, backend="tensorflow")


def test_missing_backend_package_is_an_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy now raises ImportError
    x = ed.symbols("x[n]")
    with pytest.raises(ed.EvaluationError, match="backend 'cupy' needs the package 'cupy'"):
        evaluate(x, {"x": np.ones(2)}, backend="cupy")


# -- cupy: the table's wiring, against a numpy-backed stand-in namespace ---------------------


class _StandInArray(np.ndarray):
    """Stands in for ``cupy.ndarray``: proves which arrays the table made, nothing about cupy."""


def _stand_in_cupy(missing: tuple[str, ...] = ()) -> types.ModuleType:
    """A module shaped like cupy whose functions are numpy's, returning stand-in arrays."""

    def wrap(fn):
        def call(*args, **kwargs):
            out = fn(*args, **kwargs)
            if isinstance(out, tuple):
                return tuple(np.asarray(o).view(_StandInArray) for o in out)
            return np.asarray(out).view(_StandInArray)

        return call

    module = types.ModuleType("cupy")
    module.ndarray = _StandInArray
    linalg = types.ModuleType("cupy.linalg")
    for name in ("inv", "det", "slogdet", "solve"):
        if name not in missing:
            setattr(linalg, name, wrap(getattr(np.linalg, name)))
    module.linalg = linalg

    def attribute(name):
        if name in missing or name.startswith("__"):
            raise AttributeError(f"module 'cupy' has no attribute '{name}'")
        return wrap(getattr(np, name))

    module.__getattr__ = attribute
    return module


@pytest.fixture
def stand_in_cupy(monkeypatch):
    """Install the stand-in as ``cupy`` (opt_einsum's backend="cupy" imports it by name)."""
    from opt_einsum.backends import dispatch

    def install(missing: tuple[str, ...] = ()):
        module = _stand_in_cupy(missing)
        monkeypatch.setitem(sys.modules, "cupy", module)
        monkeypatch.setattr(dispatch, "_cached_funcs", dict(dispatch._cached_funcs))
        monkeypatch.setattr(dispatch, "_has_einsum", {})
        monkeypatch.setattr(dispatch, "_has_tensordot", {})
        return module

    return install


@pytest.mark.parametrize("name", ["jacobian-with-delta", "sum-with-delta", "hessian", "matfuncs",
                                  "logsumexp", "broadcast-bias", "size-trace", "functions"])
def test_cupy_table_is_wired_to_its_namespace(stand_in_cupy, name):
    """Every array the cupy entry makes comes from the namespace it was built on, in float32.

    cupy needs CUDA and is not installed here; this checks the table, not cupy's results.
    """
    module = stand_in_cupy()
    expr, sizes = CASES[name]
    values = {k: v.astype(np.float32) for k, v in _values().items()}
    inputs = {k: np.asarray(v).view(_StandInArray) for k, v in values.items()}
    got = Compiled(expr, cupy_backend(module)).run(inputs, sizes)
    assert isinstance(got, _StandInArray)
    assert got.dtype == np.float32
    # the same loop on numpy's table (the generated numpy code may sum in another order)
    want = Compiled(expr).interpret(values, sizes)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)
    assert load_backend("cupy").xp is module  # the registry builds the same entry


def test_a_function_the_namespace_lacks_names_backend_and_function(stand_in_cupy):
    module = stand_in_cupy(missing=("tanh", "inv", "max"))
    x, A = ed.symbols("x[n] A[n,n]")
    table = cupy_backend(module)
    with pytest.raises(ed.EvaluationError, match=r"function 'tanh' is not available with "
                                                 r"backend 'cupy'.*backend='numpy'"):
        Compiled(ed.tanh(x), table)({"x": np.ones(2)})
    with pytest.raises(ed.EvaluationError, match=r"matrix function 'inv' is not available with "
                                                 r"backend 'cupy'"):
        Compiled(ed.inv(A), table)({"A": np.eye(2)})
    with pytest.raises(ed.EvaluationError, match=r"logsumexp is not available with backend "
                                                 r"'cupy'.*has no attribute 'max'"):
        Compiled(ed.logsumexp(x), table)({"x": np.ones(2)})
