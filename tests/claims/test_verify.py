"""ed.verify: verdicts and diagnoses on right and wrong claims."""

import numpy as np
import pytest

import einderiv as ed

RNN_SHAPES = "Waa[n,n] Wax[n,k] a_prev[n,m] x[k,m] ba[n,1]"
RNN = "tanh(Waa @ a_prev + Wax @ x + ba)"
WHERE = {"dz": "da * (1 - a**2)", "a": RNN}


@pytest.fixture(scope="module")
def rnn():
    return ed.parse(RNN, shapes=RNN_SHAPES)


RNN_CASES = [
    ("Waa", "dz @ a_prev.T", True, ()),
    ("Waa", "a_prev @ dz.T", False, ("transposed", "wrong order")),
    ("Waa", "a_prev.T @ dz", False, ("shape mismatch", "wrong order")),
    ("Waa", "-dz @ a_prev.T", False, ("wrong sign",)),
    ("Waa", "2 * dz @ a_prev.T", False, ("wrong factor",)),
    ("Waa", "dz @ a_prev", False, ("shape mismatch", "missing transpose")),
    ("Waa", "da @ a_prev.T", False, ()),
    ("Wax", "dz @ x.T", True, ()),
    ("Wax", "x.T @ dz", False, ("shape mismatch", "wrong order")),
    ("Wax", "dz @ x", False, ("shape mismatch", "missing transpose")),
    ("a_prev", "Waa.T @ dz", True, ()),
    ("a_prev", "Waa @ dz", False, ("missing transpose",)),
    ("a_prev", "dz.T @ Waa", False, ("shape mismatch", "wrong order")),
    ("x", "Wax.T @ dz", True, ()),
    ("x", "dz.T @ Wax", False, ("shape mismatch", "wrong order")),
    ("x", "Wax.T @ da", False, ()),
    ("ba", "dz.sum(axis=1, keepdims=True)", True, ()),
    ("ba", "np.sum(dz, axis=1, keepdims=True)", True, ()),
    ("ba", "dz.sum(axis=0, keepdims=True)", False, ("shape mismatch",)),
]


@pytest.mark.parametrize(("wrt", "claim", "ok", "mistakes"), RNN_CASES)
def test_rnn_claims(rnn, wrt, claim, ok, mistakes):
    verdict = ed.verify(claim, rnn, wrt, cotangent="da", where=WHERE)
    assert verdict.ok is ok, verdict.message
    for mistake in mistakes:
        assert mistake in verdict.mistakes, verdict.message
    if not ok:
        assert verdict.message.startswith("Wrong")
        assert "Correct:" in verdict.message


def test_rnn_verdict_explains_the_order(rnn):
    verdict = ed.verify("a_prev @ dz.T", rnn, "Waa", cotangent="da", where=WHERE)
    assert verdict.expected == "dz @ a_prev.T"
    assert verdict.fix == "dz @ a_prev.T"
    assert "Σ_i" in verdict.reason and "dz @ a_prev.T" in verdict.reason
    assert "transpose" in verdict.message


def test_multiline_claim_defines_its_own_intermediate(rnn):
    claim = "dz = da * (1 - a**2)\ndWaa = dz @ a_prev.T"
    assert ed.verify(claim, rnn, "Waa", cotangent="da", where={"a": RNN}).ok
    wrong = "dz = da * (1 - a**2)\ndWaa = a_prev @ dz.T"
    verdict = ed.verify(wrong, rnn, "Waa", cotangent="da", where={"a": RNN})
    assert not verdict.ok and "transposed" in verdict.mistakes


def test_shape_mismatch_is_a_verdict_naming_shapes(rnn):
    verdict = ed.verify("a_prev.T @ dz", rnn, "Waa", cotangent="da", where=WHERE)
    assert not verdict.ok
    assert "(m, m)" in verdict.message and "(n, n)" in verdict.message


QUADRATIC = [
    ("(A + A.T) @ x", True, ()),
    ("A @ x + A.T @ x", True, ()),
    ("x @ (A + A.T)", True, ()),
    ("x @ A + A @ x", True, ()),
    ("A @ x", False, ("missing term",)),
    ("A.T @ x", False, ("missing term",)),
    ("A @ x + A.T @ x + A @ x", False, ("extra term",)),
    ("-(A + A.T) @ x", False, ("wrong sign",)),
    ("2 * A @ x", False, ()),
]


@pytest.mark.parametrize(("claim", "ok", "mistakes"), QUADRATIC)
def test_quadratic_form(claim, ok, mistakes):
    f = ed.parse("x @ A @ x", shapes="x[n] A[n,n]")
    verdict = ed.verify(claim, f, "x")
    assert verdict.ok is ok, verdict.message
    for mistake in mistakes:
        assert mistake in verdict.mistakes


@pytest.mark.parametrize(
    ("claim", "ok"),
    [("(S + S.T) @ x", True), ("S @ x + S.T @ x", True), ("2 * S @ x", True), ("S @ x", False)],
)
def test_symmetric_quadratic_form_accepts_every_equal_form(claim, ok):
    f = ed.parse("x @ S @ x", shapes={"x": "n", "S": "n n:sym"})
    verdict = ed.verify(claim, f, "x")
    assert verdict.ok is ok
    if not ok:
        assert "wrong factor" in verdict.mistakes


MATMUL = [
    ("C @ B.T", True, ()),
    ("C * B.T", False, ("elementwise vs matrix product",)),
    ("B.T @ C", False, ("wrong order",)),
    ("C @ B", False, ("missing transpose",)),
]


@pytest.mark.parametrize(("claim", "ok", "mistakes"), MATMUL)
def test_matrix_product_claims(claim, ok, mistakes):
    f = ed.parse("sum((A @ B) * C)", shapes="A[n,n] B[n,n] C[n,n]")
    verdict = ed.verify(claim, f, "A")
    assert verdict.ok is ok, verdict.message
    for mistake in mistakes:
        assert mistake in verdict.mistakes, verdict.message


@pytest.mark.parametrize(
    ("claim", "ok", "mistake"),
    [
        ("W.T @ g", True, None),
        ("g @ W", True, None),
        ("W @ g", False, "shape mismatch"),
    ],
)
def test_vjp_of_matvec(claim, ok, mistake):
    f = ed.parse("W @ x", shapes="W[n,m] x[m]")
    verdict = ed.verify(claim, f, "x", cotangent="g")
    assert verdict.ok is ok
    if mistake:
        assert mistake in verdict.mistakes
        assert verdict.fix == "W.T @ g"


@pytest.mark.parametrize(
    ("claim", "ok"), [("inv(X).T", True), ("np.linalg.inv(X).T", True), ("inv(X)", False)]
)
def test_logdet(claim, ok):
    f = ed.parse("logdet(X)", shapes="X[n,n]")
    verdict = ed.verify(claim, f, "X")
    assert verdict.ok is ok
    if not ok:
        assert "transposed" in verdict.mistakes


def test_verify_never_accepts_a_numerically_different_claim():
    f = ed.parse("sum(tanh(W @ x))", shapes="W[n,m] x[m]")
    right = "np.outer(1 - tanh(W @ x)**2, x)"
    assert ed.verify(right, f, "W").ok
    for wrong in [
        "np.outer(1 - tanh(W @ x)**2, x) * 1.0001",
        "np.outer(1 - tanh(W @ x), x)",
        "np.outer(tanh(W @ x)**2, x)",
        "np.outer(1 - tanh(W @ x)**2, x) + 1e-6",
    ]:
        assert not ed.verify(wrong, f, "W").ok, wrong


def test_expected_matches_numbers():
    f = ed.parse("x @ A @ x", shapes="x[n] A[n,n]")
    verdict = ed.verify("A @ x", f, "x")
    rng = np.random.default_rng(0)
    A, x = rng.normal(size=(3, 3)), rng.normal(size=3)
    got = eval(verdict.expected, {"np": np, "A": A, "x": x})  # the test's own oracle
    assert np.allclose(got, (A + A.T) @ x)


def test_verify_errors_on_bad_input():
    f = ed.parse("W @ x", shapes="W[n,m] x[m]")
    with pytest.raises(ed.ParseError, match="unknown name"):
        ed.verify("Q @ g", f, "x", cotangent="g")
    with pytest.raises(ed.EinderivError, match="no symbol"):
        ed.verify("W.T @ g", f, "nope", cotangent="g")


def test_verdict_json_and_markdown():
    f = ed.parse("W @ x", shapes="W[n,m] x[m]")
    verdict = ed.verify("W @ g", f, "x", cotangent="g")
    data = verdict.to_json()
    assert data["ok"] is False and data["expected"] == "W.T @ g"
    assert "wrong" in verdict._repr_markdown_()
    assert not bool(verdict)
