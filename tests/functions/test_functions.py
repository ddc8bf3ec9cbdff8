"""The function registry: every entry reaches every stage (builders, text, derivatives,
numpy and LaTeX printing, codegen, evaluation on every backend), checked per entry.

Each public entry's ``example`` (symbols, call, expected ``to_numpy()``) drives the
checks; values are drawn inside the entry's ``domain`` with distinct sizes per dim.
"""

from __future__ import annotations

import inspect
import io
import math
from pathlib import Path

import numpy as np
import pytest

import einderiv as ed
from einderiv.build import BUILDERS
from einderiv.build.registry import STRUCTURAL
from einderiv.functions import FUNCTIONS, Composite, Elementwise, Matrix, public_names
from einderiv.ir import Func, MatFunc
from einderiv.testing import check_derivative

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = public_names()
SIZES = {"n": 3, "m": 4, "k": 5}
ADDED = (
    "tan arcsin arccos arctan sinh cosh arcsinh arctanh erf logaddexp log_softmax var std "
    "maximum minimum solve norm"
).split()


def _example(name: str):
    entry = FUNCTIONS[name]
    assert entry.example is not None, f"registry entry '{name}' has no example"
    return entry.example


def _symbols(name: str) -> dict[str, ed.Expr]:
    found = ed.symbols(_example(name).shapes)
    found = found if isinstance(found, tuple) else (found,)
    return {s.name: s for s in found}


def _built(name: str) -> ed.Expr:
    """The example call made with the Python builders."""
    return eval(f"ed.{_example(name).call}", {"ed": ed, **_symbols(name)})  # noqa: S307


def _values(expr: ed.Expr, name: str, seed: int = 0) -> dict[str, np.ndarray]:
    """Values inside the entry's domain; well-conditioned square matrices."""
    rng = np.random.default_rng(seed)
    low, high = FUNCTIONS[name].domain
    low, high = max(low, -2.0), min(high, 2.0)
    margin = 0.1 * (high - low)
    values = {}
    for sym_name, sym in sorted(expr.symbols().items()):
        shape = tuple(SIZES.get(d, 1) for d in sym.dims)
        value = rng.uniform(low + margin, high - margin, size=shape)
        if len(shape) == 2 and shape[0] == shape[1]:
            value = rng.normal(size=shape) + 3 * np.eye(shape[0])
        values[sym_name] = value
    return values


def _eval_text(text: str, values: dict) -> np.ndarray:
    import scipy.special  # erf: numpy has none, to_numpy writes scipy.special.erf

    return np.asarray(eval(text, {"np": np, "scipy": scipy, **values}), dtype=float)  # noqa: S307


# -- the registry's shape ------------------------------------------------------------------


def test_the_added_functions_are_registered():
    assert set(ADDED) <= set(PUBLIC)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_entry_is_well_formed(name):
    entry = FUNCTIONS[name]
    assert entry.name == name and entry.summary and entry.arrays
    if isinstance(entry, Elementwise | Matrix):
        assert "{0}" in entry.numpy or not entry.public
    if isinstance(entry, Composite) and entry.expand is None:
        assert name in STRUCTURAL, "a structural entry needs a builder in einderiv.build"
    if entry.public:
        assert entry.example is not None
    for alias in entry.aliases:
        assert alias not in FUNCTIONS


@pytest.mark.parametrize("name", PUBLIC)
def test_builder_is_exported_with_the_entrys_signature(name):
    entry = FUNCTIONS[name]
    builder = getattr(ed, name)
    assert builder is BUILDERS[name]
    assert name in ed.__all__
    params = list(inspect.signature(builder).parameters.values())
    assert [p.name for p in params] == [*entry.arrays, *(o for o, _ in entry.options)]
    defaults = [p.default for p in params[len(entry.arrays):]]
    assert defaults == [d for _, d in entry.options]
    assert builder.__doc__


def test_internal_functions_are_not_exported():
    assert not hasattr(ed, "pow") and not hasattr(ed, "step")
    with pytest.raises(ed.ParseError, match="unknown function 'step'"):
        ed.parse("step(x)", shapes="x[n]")


# -- every stage, per entry ----------------------------------------------------------------


@pytest.mark.parametrize("name", PUBLIC)
def test_parse_is_the_builder(name):
    example = _example(name)
    built = _built(name)
    assert ed.parse(example.call, shapes=example.shapes) == built
    for prefix in ("np.", "numpy.", "jnp."):
        assert ed.parse(prefix + example.call, shapes=example.shapes) == built
    for alias in FUNCTIONS[name].aliases:
        assert ed.parse(alias + example.call[len(name):], shapes=example.shapes) == built


@pytest.mark.parametrize("name", [n for n in PUBLIC if FUNCTIONS[n].method])
def test_method_spelling(name):
    example = _example(name)
    receiver, _, rest = example.call[len(name) + 1:].partition(",")
    receiver = receiver.rstrip(")")
    text = f"{receiver}.{name}({rest.strip().rstrip(')')})"
    assert ed.parse(text, shapes=example.shapes) == _built(name)


@pytest.mark.parametrize("name", PUBLIC)
def test_to_numpy_is_the_example_and_evaluates_equal(name):
    expr = _built(name)
    text = expr.to_numpy()
    assert text == _example(name).numpy
    values = _values(expr, name)
    want = expr.evaluate(values)
    np.testing.assert_allclose(_eval_text(text, values), want, rtol=1e-10, atol=1e-12)
    assert ed.parse(text, shapes=_example(name).shapes) is not None  # reads back


@pytest.mark.parametrize("name", PUBLIC)
def test_gradient_against_central_differences(name):
    expr = _built(name)
    values = _values(expr, name)
    for wrt in sorted(expr.symbols()):
        check_derivative(expr, wrt, values=values, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["tan", "arcsin", "arctanh", "erf", "logaddexp", "solve",
                                  "std", "log_softmax", "norm"])
def test_second_derivative_against_central_differences(name):
    expr = ed.sum(_built(name))
    values = _values(expr, name)
    for sym in expr.symbols().values():  # a symbol: the gradient may have lost it (linear)
        check_derivative(ed.grad(expr, sym), sym, values=values, rtol=1e-5, atol=1e-6)


def _latex_ok(text: str) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib import mathtext

    mathtext.math_to_image(f"${text}$", io.BytesIO(), format="png")


@pytest.mark.parametrize("name", PUBLIC)
def test_latex_of_the_function_and_its_gradient_parses(name):
    expr = _built(name)
    _latex_ok(expr.to_latex())
    for wrt in sorted(expr.symbols()):
        _latex_ok(ed.vjp(expr, wrt, "g").to_latex())


def test_latex_spellings_come_from_the_registry():
    x, a, b = ed.symbols("x[n] a[n] b[n]")
    A, B = ed.symbols("A[n,n] B[n,k]")
    assert ed.arctan(x).to_latex() == r"\arctan\left(x\right)"
    assert ed.erf(x).to_latex() == r"\mathrm{erf}\left(x\right)"
    assert ed.maximum(a, b).to_latex() == r"\max\left(a, b\right)"
    assert ed.logaddexp(a, b).to_latex() == r"\log\left(e^{a} + e^{b}\right)"
    assert ed.solve(A, B).to_latex() == r"A^{-1} B"
    assert ed.solve(A.T, B).to_latex() == r"A^{-\top} B"
    assert ed.sqrt(x).to_latex() == r"\sqrt{x}"


@pytest.mark.parametrize("module", ["np", "jax.numpy", "torch"])
def test_codegen_spells_every_function_for_its_module(module):
    pytest.importorskip({"np": "numpy", "jax.numpy": "jax", "torch": "torch"}[module])
    convert = {"np": np.asarray, "jax.numpy": _jax_array, "torch": _torch_tensor}[module]
    for name in PUBLIC:
        expr = _built(name)
        g = ed.symbols("g" + "".join(f"[{','.join(expr.dims)}]" if expr.dims else ""))
        for e in (expr, ed.vjp(expr, sorted(expr.symbols())[0], g)):
            values = _values(expr, name)
            values["g"] = np.random.default_rng(2).normal(size=np.shape(expr.evaluate(values)))
            namespace: dict = {}
            exec(ed.codegen(e, module=module), namespace)  # noqa: S102 - generated source
            fn = namespace["f"]
            args = inspect.signature(fn).parameters
            got = _to_numpy(fn(**{k: convert(values[k]) for k in args}))
            tol = 1e-4 if got.dtype == np.float32 else 1e-9  # jax's default, torch.eye
            np.testing.assert_allclose(got, e.evaluate(values), rtol=tol, atol=tol,
                                       err_msg=f"{name}: {ed.codegen(e, module=module)}")
    assert "import scipy.special" in ed.codegen(ed.erf(ed.symbols("x[n]")))


def _jax_array(value):
    import jax.numpy as jnp

    return jnp.asarray(value)  # float32 unless jax_enable_x64


def _torch_tensor(value):
    import torch

    return torch.as_tensor(np.asarray(value, dtype=np.float64))


# -- backends --------------------------------------------------------------------------------


def _to_numpy(value):
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if hasattr(value, "compute"):
        value = value.compute()
    return np.asarray(value)


@pytest.fixture(params=["jax", "torch", "dask"])
def backend(request):
    module = {"jax": "jax", "torch": "torch", "dask": "dask.array"}[request.param]
    pytest.importorskip(module)
    return request.param


@pytest.mark.parametrize("name", PUBLIC)
def test_backends_agree_with_numpy(backend, name):
    expr = _built(name)
    wrt = sorted(expr.symbols())[0]
    values = _values(expr, name)
    sizes = {d: SIZES[d] for d in SIZES}
    cotangent = np.random.default_rng(1).normal(size=np.shape(expr.evaluate(values)))
    vals = {**values, "g": cotangent}
    for e in (expr, ed.vjp(expr, wrt, "g")):
        want = e.evaluate(vals, sizes=sizes)
        got = _to_numpy(e.evaluate(vals, backend=backend, sizes=sizes))
        tol = 1e-4 if got.dtype == np.float32 else 1e-9
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


# -- binary functions: broadcasting and ties --------------------------------------------------


def test_binary_functions_are_one_node_and_broadcast():
    W, b = ed.symbols("W[n,m] b[m]")
    for name in ("maximum", "minimum", "logaddexp"):
        e = getattr(ed, name)(W, b)
        assert isinstance(e, Func) and e.name == name and e.shape == ("n", "m")
        assert e.to_numpy() == f"np.{name}(W, b)" or name == "logaddexp"
    rng = np.random.default_rng(0)
    values = {"W": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}
    for name in ("maximum", "minimum", "logaddexp"):
        e = getattr(ed, name)(W, b)
        want = getattr(np, name)(values["W"], values["b"])
        np.testing.assert_allclose(e.evaluate(values), want)
        np.testing.assert_allclose(_eval_text(e.to_numpy(), values), want)
        check_derivative(e, "b", values=values)


def test_binary_functions_are_exact_where_compositions_cancel():
    a, b = ed.symbols("a[n] b[n]")
    values = {"a": np.array([0.1, 3.0]), "b": np.array([-1e20, 1e20])}
    np.testing.assert_array_equal(ed.maximum(a, b).evaluate(values), [0.1, 1e20])
    np.testing.assert_array_equal(ed.minimum(a, b).evaluate(values), [-1e20, 3.0])
    np.testing.assert_array_equal(ed.logaddexp(a, b).evaluate(values), [0.1, 1e20])


def test_maximum_with_zero_is_relu_and_logaddexp_with_zero_is_softplus():
    x = ed.symbols("x[n]")
    assert ed.maximum(x, 0) == ed.relu(x) == ed.maximum(0, x)
    assert ed.logaddexp(0, x) == ed.softplus(x) == ed.logaddexp(x, 0.0)
    assert ed.parse("np.maximum(x, 0)", shapes="x[n]") == ed.relu(x)
    assert ed.parse("np.logaddexp(0, x)", shapes="x[n]") == ed.softplus(x)
    assert float(ed.maximum(2.0, 3.0).evaluate({})) == 3.0


def test_ties_go_to_the_second_argument():
    a, b, x = ed.symbols("a[n] b[n] x[n]")
    values = {"a": np.array([1.0, 2.0, 3.0]), "b": np.array([1.0, 0.0, 5.0])}
    for name, wins in (("maximum", [0.0, 1.0, 0.0]), ("minimum", [0.0, 0.0, 1.0])):
        e = ed.sum(getattr(ed, name)(a, b))
        np.testing.assert_array_equal(ed.grad(e, "a").evaluate(values), wins)
        np.testing.assert_array_equal(ed.grad(e, "b").evaluate(values), 1 - np.array(wins))
    same = ed.sum(ed.maximum(x, x))
    np.testing.assert_array_equal(ed.grad(same, "x").evaluate({"x": np.zeros(3)}), np.ones(3))
    relu_like = ed.grad(ed.sum(ed.maximum(x, 0 * x + 0)), "x").evaluate({"x": np.zeros(3)})
    np.testing.assert_array_equal(relu_like, np.zeros(3))  # relu'(0) = 0


# -- solve ---------------------------------------------------------------------------------


def _has_inverse(expr: ed.Expr) -> bool:
    return any(isinstance(n, MatFunc) and n.name == "inv" for n in expr.walk())


def test_solve_derivatives_form_no_inverse():
    A, b, B, x = ed.symbols("A[n,n] b[n] B[n,k] x[n]")
    for e in (ed.solve(A, b) @ x, ed.sum(ed.solve(A, B) ** 2)):
        for wrt in ("A", "b" if "b" in e.symbols() else "B"):
            assert not _has_inverse(ed.grad(e, wrt))
            assert not _has_inverse(ed.jvp(e, wrt, "V"))
            assert not _has_inverse(ed.diff(e, wrt))
            assert not _has_inverse(ed.hessian(e, wrt))


def test_solve_gradient_in_matrix_form():
    A, b, x = ed.symbols("A[n,n] b[n] x[n]")
    e = ed.solve(A, b) @ x
    assert ed.grad(e, "b").to_numpy() == "np.linalg.solve(A.T, x)"
    want = "-np.outer(np.linalg.solve(A.T, x), np.linalg.solve(A, b))"
    assert ed.grad(e, "A").to_numpy() == want
    S = ed.symbols("S[n,n]:sym")
    assert ed.grad(ed.solve(S, b) @ x, "b").to_numpy() == "np.linalg.solve(S, x)"


def test_solve_of_higher_rank_right_hand_sides_evaluates_and_prints():
    A, B = ed.symbols("A[n,n] B[n,k]")
    jac = ed.diff(ed.solve(A, B), "A")  # rank 4: solves along the first axis of a 4-D tensor
    assert jac.shape == ("n", "k", "n", "n")
    rng = np.random.default_rng(0)
    values = {"A": rng.normal(size=(3, 3)) + 3 * np.eye(3), "B": rng.normal(size=(3, 5))}
    want = -np.einsum("ia,bk->kiab", np.linalg.inv(values["A"]),
                      np.linalg.solve(values["A"], values["B"])).transpose(1, 0, 2, 3)
    np.testing.assert_allclose(jac.evaluate(values), want, atol=1e-12)
    np.testing.assert_allclose(_eval_text(jac.to_numpy(), values), want, atol=1e-12)
    np.testing.assert_allclose(_eval_text(jac.to_einsum(), values), want, atol=1e-12)


@pytest.mark.parametrize(("text", "message"), [
    ("solve(W, b)", r"solve needs a square matrix"),
    ("solve(A, T)", r"solve\(A, B\) needs B to be a vector or a matrix"),
    ("solve(A, c)", r"B's first axis is dim 'm'"),
    ("inv(W)", r"inv needs a square matrix"),
])
def test_solve_shape_errors(text, message):
    with pytest.raises(ed.ParseError, match=message):
        ed.parse(text, shapes="A[n,n] W[n,m] b[n] c[m] T[n,n,n]")


def test_np_linalg_solve_parses():
    A, b = ed.symbols("A[n,n] b[n]")
    assert ed.parse("np.linalg.solve(A, b)", shapes="A[n,n] b[n]") == ed.solve(A, b)


# -- composites ----------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1), -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_numpy(axis, keepdims):
    X = ed.symbols("X[n,m]")
    value = np.random.default_rng(0).normal(size=(3, 4))
    for name, reference in (("var", np.var), ("std", np.std),
                            ("norm", np.linalg.norm)):
        e = getattr(ed, name)(X, axis=axis, keepdims=keepdims)
        want = reference(value, axis=axis, keepdims=keepdims)
        np.testing.assert_allclose(e.evaluate({"X": value}), want)
        np.testing.assert_allclose(_eval_text(e.to_numpy(), {"X": value}), want)
        check_derivative(e, "X", values={"X": value})


def test_log_softmax_is_the_simplified_log_of_softmax():
    Z = ed.symbols("Z[n,m]")
    for axis in (-1, 0):
        assert ed.log_softmax(Z, axis=axis) == ed.log(ed.softmax(Z, axis=axis))
    value = np.random.default_rng(0).normal(size=(3, 4)) * 30
    got = ed.log_softmax(Z).evaluate({"Z": value})
    want = value - np.log(np.exp(value - value.max(1, keepdims=True)).sum(1, keepdims=True)) \
        - value.max(1, keepdims=True)
    np.testing.assert_allclose(got, want)


def test_erf_matches_math():
    x = ed.symbols("x[n]")
    value = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(ed.erf(x).evaluate({"x": value}), [math.erf(v) for v in value],
                               rtol=1e-15, atol=1e-16)
    np.testing.assert_allclose(
        ed.grad(ed.sum(ed.erf(x)), "x").evaluate({"x": value}),
        2 / math.sqrt(math.pi) * np.exp(-value**2),
    )


def test_float32_stays_float32():
    x, a, b = ed.symbols("x[n] a[n] b[n]")
    for e in (ed.erf(x), ed.arctan(x), ed.maximum(a, b)):
        values = {s: np.linspace(-0.5, 0.5, 3, dtype=np.float32) for s in e.symbols()}
        assert FUNCTIONS[e.name].array(np, *values.values(), None).dtype == np.float32


# -- docs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["docs/text.md", "docs/api.md"])
def test_docs_list_every_registry_function(page):
    text = (ROOT / page).read_text()
    missing = [name for name in PUBLIC if f"`{name}" not in text and f" {name} " not in text
               and f" {name}`" not in text and f"`ed.{name}" not in text]
    assert not missing, f"{page} does not mention {missing}"


# -- samplers draw inside the registry's domains -------------------------------------------


def test_random_values_respect_domains():
    x = ed.symbols("x[n]")
    for name in ("arcsin", "arccos", "arctanh", "log", "sqrt", "log1p"):
        check_derivative(getattr(ed, name)(x), "x")  # no values: drawn inside the domain


def test_verify_samples_inside_domains():
    x = ed.symbols("x[n]")
    assert ed.verify("1 / np.sqrt(1 - x**2) * g", ed.arcsin(x), "x", cotangent="g").ok
    wrong = ed.verify("2 / np.sqrt(1 - x**2) * g", ed.arcsin(x), "x", cotangent="g")
    assert not wrong.ok and "constant factor" in wrong.message
