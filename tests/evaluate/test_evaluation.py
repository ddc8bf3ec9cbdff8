"""Evaluation: opt_einsum contractions, shared work done once, no dense identities, caching."""

from __future__ import annotations

import dataclasses

import numpy as np
import opt_einsum
import pytest

import einderiv as ed
import einderiv.functions as functions
from einderiv.evaluate.compiled import Compiled
from einderiv.ir.nodes import Delta
from einderiv.ir.traversal import topological

N, K, M = 3, 4, 5


def _rnn():
    Waa, Wax, a_prev, x, ba = ed.symbols("Waa[n,n] Wax[n,k] a_prev[n,m] x[k,m] ba[n,1]")
    a = ed.tanh(Waa @ a_prev + Wax @ x + ba)
    rng = np.random.default_rng(0)
    values = {
        "Waa": rng.normal(size=(N, N)),
        "Wax": rng.normal(size=(N, K)),
        "a_prev": rng.normal(size=(N, M)),
        "x": rng.normal(size=(K, M)),
        "ba": rng.normal(size=(N, 1)),
        "da": rng.normal(size=(N, M)),
    }
    return a, values


@pytest.fixture
def count_contract_expression(monkeypatch):
    calls = []
    original = opt_einsum.contract_expression

    def counting(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(opt_einsum, "contract_expression", counting)
    return calls


@pytest.fixture
def count_tanh(monkeypatch):
    calls = []
    entry = functions.FUNCTIONS["tanh"]

    def counting(xp, x, p):
        calls.append(np.shape(x))
        return entry.array(xp, x, p)

    monkeypatch.setitem(functions.FUNCTIONS, "tanh", dataclasses.replace(entry, array=counting))
    return calls


def test_products_are_contracted_with_opt_einsum(count_contract_expression):
    a, values = _rnn()
    dW = ed.vjp(a, "Waa", "da")
    got = dW.evaluate(values)
    assert count_contract_expression, "no product went through opt_einsum.contract_expression"
    av = np.tanh(values["Waa"] @ values["a_prev"] + values["Wax"] @ values["x"] + values["ba"])
    np.testing.assert_allclose(got, (values["da"] * (1 - av**2)) @ values["a_prev"].T)


def test_compiled_cache_reused_on_second_call(count_contract_expression):
    a, values = _rnn()
    fn = ed.compile(ed.vjp(a, "Wax", "da"))
    first = fn(values)
    planned = len(count_contract_expression)
    assert planned > 0
    second = fn(**values)
    assert len(count_contract_expression) == planned, "second call with same shapes re-planned"
    np.testing.assert_array_equal(first, second)
    # compile() of the same expression returns the same compiled object
    assert ed.compile(ed.vjp(a, "Wax", "da")) is fn
    # new shapes plan again, and give the right answer
    rng = np.random.default_rng(1)
    other = {k: rng.normal(size=v.shape[:-1] + (7,)) if k in ("a_prev", "x", "da") else v
             for k, v in values.items()}
    fn(other)
    assert len(count_contract_expression) > planned


def test_shared_subexpression_computed_once(count_tanh):
    a, values = _rnn()
    # tanh(z) is used by the value and by the derivative (1 - tanh(z)^2)
    combined = ed.sum(a) + ed.sum(ed.vjp(a, "a_prev", "da")) + ed.sum(ed.vjp(a, "x", "da"))
    tanh_nodes = [n for n in topological(combined) if getattr(n, "name", None) == "tanh"]
    assert len(tanh_nodes) == 1
    fn = ed.compile(combined)
    assert len(fn.nodes) == len(topological(combined))  # one step per distinct node
    fn(values)
    assert len(count_tanh) == 1


def test_surviving_delta_not_built_dense(monkeypatch):
    X, W = ed.symbols("X[a,b] W[b,c]")
    J = ed.diff(X @ W, X)
    assert any(isinstance(n, Delta) for n in topological(J))
    Wv = np.random.default_rng(2).normal(size=(4, 5))
    ed.compile(J)  # plan before patching

    def no_eye(*args, **kwargs):
        raise AssertionError("np.eye called: a dense identity was built")

    monkeypatch.setattr(np, "eye", no_eye)
    monkeypatch.setattr(np, "identity", no_eye)
    got = J.evaluate({"W": Wv}, sizes={"a": 3})
    monkeypatch.undo()
    np.testing.assert_allclose(got, np.einsum("ad,ec->acde", np.eye(3), Wv))


def test_delta_in_a_sum_evaluates_without_dense_identity(monkeypatch):
    """diff(x + A @ x, x) = δ + A: the delta term is a diagonal write."""
    x, A = ed.symbols("x[n] A[n,n]")
    J = ed.diff(x + A @ x, x)
    Av = np.arange(9.0).reshape(3, 3)
    monkeypatch.setattr(np, "eye", lambda *a, **k: (_ for _ in ()).throw(AssertionError("eye")))
    got = J.evaluate({"A": Av, "x": np.ones(3)})
    monkeypatch.undo()
    np.testing.assert_allclose(got, np.eye(3) + Av)


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda d, A: ed.exp(d), lambda Av: np.exp(np.eye(3))),
        (lambda d, A: ed.inv(d + 0 * A), lambda Av: np.eye(3)),
        (lambda d, A: ed.logsumexp(d), lambda Av: np.log(np.exp(np.eye(3)).sum())),
        (lambda d, A: d * A, lambda Av: np.diag(np.diag(Av))),
        (lambda d, A: A @ d, lambda Av: Av),
        (lambda d, A: d - A, lambda Av: np.eye(3) - Av),
        (lambda d, A: ed.sum(d), lambda Av: 3.0),
        (lambda d, A: d, lambda Av: np.eye(3)),
    ],
)
def test_bare_delta_anywhere_evaluates(build, expected):
    A = ed.symbols("A[n,n]")
    Av = np.arange(9.0).reshape(3, 3)
    e = build(Delta.make("n"), A)
    np.testing.assert_allclose(e.evaluate({"A": Av}, sizes={"n": 3}), expected(Av))


def test_scalar_sum_of_many_terms():
    xs = ed.symbols("p q r s")
    total = xs[0] * xs[1] + ed.exp(xs[2]) + ed.sin(xs[3]) + xs[0]
    got = total.evaluate({"p": 1.0, "q": 2.0, "r": 0.0, "s": 0.0})
    assert got == pytest.approx(4.0)


def test_result_is_a_fresh_writable_array():
    W = ed.symbols("W[n,m]")
    e = ed.sum(W, axis=0, keepdims=True) + 0 * W  # broadcast result
    out = e.evaluate({"W": np.ones((2, 3))})
    out[0, 0] = 5.0  # must not raise (not a read-only broadcast view)
    assert out.shape == (2, 3)


def test_evaluate_accepts_keywords_and_ints():
    W, x = ed.symbols("W[n,m] x[m]")
    got = (W @ x).evaluate(W=np.eye(2, 3, dtype=int), x=[1, 2, 3])
    np.testing.assert_allclose(got, [1.0, 2.0])
    assert got.dtype == np.float64


def test_numerical_stability_of_logsumexp_and_sigmoid():
    x = ed.symbols("x[n]")
    big = np.array([1000.0, 1000.0, -1000.0])
    assert ed.logsumexp(x).evaluate({"x": big}) == pytest.approx(1000.0 + np.log(2.0))
    np.testing.assert_allclose(ed.sigmoid(x).evaluate({"x": big}), [1.0, 1.0, 0.0])
    np.testing.assert_allclose(ed.softmax(x).evaluate({"x": big}), [0.5, 0.5, 0.0])


def test_product_with_more_than_52_indices():
    """A long matmul chain inlines into one product with 61 labels (beyond a-zA-Z)."""
    mats = [ed.symbols(f"A{i}[n,n]") for i in range(60)]
    chain = mats[0]
    for m in mats[1:]:
        chain = chain @ m
    rng = np.random.default_rng(0)
    values = {f"A{i}": rng.normal(size=(3, 3)) / 2 for i in range(60)}
    expected = values["A0"]
    for i in range(1, 60):
        expected = expected @ values[f"A{i}"]
    np.testing.assert_allclose(chain.evaluate(values), expected)


# -- dtype policy and the numpy table's fast paths --------------------------------------------


def _float32_expressions():
    W, x, A, b = ed.symbols("W[n,m] x[m] A[n,n] b[n]")
    s = ed.sum(ed.softplus(W @ x) * b)
    return {
        "blas-gradient": ed.grad(s, "W"),
        "hessian": ed.hessian(s, "x"),
        "strided-delta": ed.diff(ed.tanh(W @ x), "W"),
        "sum-with-delta": ed.diff(x @ x + ed.sum(W.T @ ed.exp(W @ x)), "x"),
        "power-of-two-fold": 4.0 * (W.T @ A @ W),
        "size-and-mean": ed.mean(W, axis=0) * ed.trace(ed.hessian(ed.sum(b * b), "b")),
        "logsumexp": ed.logsumexp(W, axis=0) + ed.sum(ed.softmax(W)),
        "matfuncs": ed.logdet(A @ A.T + 1.0 * ed.diag(b * b + 1.0)) * ed.inv(A) + ed.det(A),
        "bare-delta": ed.exp(Delta.make("n")) + 0 * A,
    }


@pytest.mark.parametrize("name", list(_float32_expressions()))
def test_float32_stays_float32_through_every_numpy_path(name):
    expr = _float32_expressions()[name]
    rng = np.random.default_rng(9)
    values = {"W": rng.normal(size=(4, 3)), "x": rng.normal(size=3),
              "A": rng.normal(size=(4, 4)) + 3 * np.eye(4), "b": rng.normal(size=4)}
    want = expr.evaluate(values)
    got = expr.evaluate({k: v.astype(np.float32) for k, v in values.items()})
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize(
    ("dtypes", "expected"),
    [
        (("float32", "float64"), "float64"),
        (("float16", "float32"), "float32"),
        (("float16", "float16"), "float16"),
        (("int32", "float32"), "float64"),  # an integer array counts as float64, as numpy
        (("bool", "int64"), "float64"),
    ],
)
def test_mixed_inputs_promote_like_numpy(dtypes, expected):
    W, x = ed.symbols("W[n,m] x[m]")
    values = {"W": np.ones((2, 3), dtype=dtypes[0]), "x": np.ones(3, dtype=dtypes[1])}
    assert ed.compile(W @ x)(values).dtype == np.dtype(expected)


def test_numpy_fast_paths_are_the_numpy_tables_operations():
    from einderiv.evaluate import numpy_ops

    table = ed.compile(ed.symbols("x[n]")).backend
    assert table.name == "numpy"
    assert table.contraction is numpy_ops.BlasContraction
    assert table.diagonal_placer is numpy_ops.strided_placer
    assert table.add_terms is numpy_ops.add_terms
    assert table.add_diagonal is numpy_ops.add_diagonal


def test_sum_accumulates_into_a_fresh_single_use_product(monkeypatch):
    """The interpreter tells the backend which terms it may write into."""
    from einderiv.evaluate import numpy_ops

    seen = []
    original = numpy_ops.add_terms

    def recording(values, reusable, shape, placement):
        seen.append(list(reusable))
        return original(values, reusable, shape, placement)

    monkeypatch.setattr(numpy_ops, "add_terms", recording)
    A, B, x = ed.symbols("A[n,n] B[n,n] x[n]")
    fresh = Compiled(A @ x + B @ x)  # a new evaluator builds its table now, with the patch
    rng = np.random.default_rng(0)
    Av, Bv, xv = rng.normal(size=(3, 3)), rng.normal(size=(3, 3)), rng.normal(size=3)
    np.testing.assert_allclose(fresh.interpret({"A": Av, "B": Bv, "x": xv}),
                               Av @ xv + Bv @ xv)
    assert seen and any(seen[0]), "a fresh, single-use product term was not offered for reuse"
