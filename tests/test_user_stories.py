"""Forum-style questions, asked the way students and researchers ask them.

Each test is one question: a function, a claimed gradient with a common mistake (or
none), and what einderiv must answer -- the verdict, the named mistakes, the correct
form in textbook matrix notation and a reason that reads the order off the indices.
Numeric checks use distinct sizes per dimension, so a transpose cannot hide.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import einderiv as ed

RNN = "tanh(Waa @ a_prev + Wax @ x + ba)"
RNN_SHAPES = "Waa[n,n] Wax[n,k] a_prev[n,m] x[k,m] ba[n,1]"
RNN_WHERE = {"dz": "da * (1 - a**2)", "a": RNN}


def _rnn():
    return ed.parse(RNN, shapes=RNN_SHAPES)


# -- backprop through an RNN step and an affine layer ---------------------------------


def test_rnn_dwaa_order_is_read_off_the_indices():
    """Shapes cannot tell dz @ a_prev.T from a_prev @ dz.T (Waa is square); indices can."""
    v = ed.verify("a_prev @ dz.T", _rnn(), "Waa", cotangent="da", where=RNN_WHERE)
    assert not v.ok
    assert v.mistakes == ("transposed", "wrong order")
    assert v.expected == "dz @ a_prev.T"
    assert v.fix == "dz @ a_prev.T"
    assert "summed index i is the column index of dz and the column index of a_prev" in v.reason
    assert ed.verify("dz @ a_prev.T", _rnn(), "Waa", cotangent="da", where=RNN_WHERE).ok


@pytest.mark.parametrize(
    ("wrt", "claim"),
    [("Wax", "dz @ x.T"), ("x", "Wax.T @ dz"), ("a_prev", "Waa.T @ dz"),
     ("ba", "dz.sum(axis=1, keepdims=True)")],
)
def test_rnn_all_textbook_gradients_hold(wrt, claim):
    v = ed.verify(claim, _rnn(), wrt, cotangent="da", where=RNN_WHERE)
    assert v.ok, v.message
    assert v.expected == claim


def test_rnn_dwax_wrong_order_is_a_shape_mismatch_with_a_fix():
    v = ed.verify("x.T @ dz", _rnn(), "Wax", cotangent="da", where=RNN_WHERE)
    assert not v.ok
    assert v.mistakes[:2] == ("shape mismatch", "wrong order")
    assert v.fix == "dz @ x.T"
    assert "Correct: dWax = dz @ x.T" in v.message


def test_rnn_expected_form_evaluates_like_hand_written_numpy():
    rng = np.random.default_rng(0)
    n, k, m = 3, 5, 4
    vals = dict(Waa=rng.normal(size=(n, n)), Wax=rng.normal(size=(n, k)),
                a_prev=rng.normal(size=(n, m)), x=rng.normal(size=(k, m)),
                ba=rng.normal(size=(n, 1)), da=rng.normal(size=(n, m)))
    a = np.tanh(vals["Waa"] @ vals["a_prev"] + vals["Wax"] @ vals["x"] + vals["ba"])
    dz = vals["da"] * (1 - a**2)
    hand = {"Waa": dz @ vals["a_prev"].T, "Wax": dz @ vals["x"].T,
            "a_prev": vals["Waa"].T @ dz, "x": vals["Wax"].T @ dz,
            "ba": dz.sum(axis=1, keepdims=True)}
    for wrt, want in hand.items():
        result = ed.vjp(_rnn(), wrt, "da")
        np.testing.assert_allclose(result.evaluate(vals), want, rtol=1e-10, atol=1e-12)
        shown = eval(result.to_numpy(), {"np": np, **vals})
        np.testing.assert_allclose(shown, want, rtol=1e-10, atol=1e-12)


def test_affine_layer_gradients():
    f = ed.parse("X @ W + b", shapes="X[n,d] W[d,k] b[k]")
    assert ed.verify("X.T @ g", f, "W", cotangent="g").ok
    assert ed.verify("g @ W.T", f, "X", cotangent="g").ok
    assert ed.verify("g.sum(axis=0)", f, "b", cotangent="g").ok
    v = ed.verify("g @ X.T", f, "W", cotangent="g")
    assert v.mistakes[0] == "shape mismatch" and v.fix == "X.T @ g"
    v = ed.verify("g", f, "b", cotangent="g")
    assert v.mistakes == ("shape mismatch",)
    assert "the claim has shape (n, k) but db must have shape (k,)" in v.message


def test_vector_transpose_is_explained_and_outer_suggested():
    """`dz @ x.T` for vectors: .T does nothing to a 1-D array; the answer is np.outer."""
    f = ed.parse("W @ x", shapes="W[n,m] x[m]")
    v = ed.verify("dz @ x.T", f, "W", cotangent="dz")
    assert not v.ok and v.expected == "np.outer(dz, x)"
    assert "x.T is the same vector" in v.message and "np.outer(u, v)" in v.message
    assert "outer product np.outer(dz, x)" in v.reason


def test_full_jacobians_explain_their_extra_axes():
    f = ed.parse("tanh(x)", shapes="x[n]")
    assert ed.verify("diag(1 - tanh(x)**2)", f, "x").ok
    v = ed.verify("1 - tanh(x)**2", f, "x")
    assert v.mistakes == ("shape mismatch",)
    assert "the claim is the Jacobian's diagonal" in v.message
    assert "only the diagonal survives" in v.reason
    g = ed.parse("X @ W", shapes="X[p,q] W[q,r]")
    v = ed.verify("W", g, "X")
    assert "cotangent='g'" in v.message and v.expected_shape == ("p", "r", "p", "q")


def test_elementwise_instead_of_matrix_product():
    f = ed.parse("W @ x", shapes="W[n,m] x[m]")
    v = ed.verify("W.T * g", f, "x", cotangent="g")
    assert "elementwise vs matrix product" in v.mistakes
    assert v.fix == "W.T @ g"


# -- losses ---------------------------------------------------------------------------


def test_softmax_cross_entropy_textbook_form_assumes_a_distribution():
    """softmax(z) - y is the gradient only when y sums to 1; einderiv says so."""
    f = ed.parse("-sum(y * log(softmax(z)))", shapes="z[c] y[c]")
    where = {"p": "softmax(z)"}
    v = ed.verify("softmax(z) - y", f, "z", where=where)
    assert not v.ok and v.mistakes == ("assumes normalized",)
    assert "right only when y sums to 1" in v.message
    assert v.expected == "y.sum() * p - y"
    assert ed.verify("p * y.sum() - y", f, "z", where=where).ok
    v = ed.verify("y - softmax(z)", f, "z", where=where)
    assert v.mistakes == ("wrong sign", "assumes normalized")
    g = ed.parse("-sum(y * log(softmax(W @ x)))", shapes="W[c,d] x[d] y[c]")
    v = ed.verify("outer(softmax(W @ x) - y, x)", g, "W")
    assert v.mistakes == ("assumes normalized",)


def test_quadratic_form_symmetric_or_not():
    plain = ed.parse("x @ A @ x", shapes="x[n] A[n,n]")
    v = ed.verify("2 * A @ x", plain, "x")
    assert not v.ok and v.mistakes == ("assumes symmetric",)
    assert v.expected == "(A + A.T) @ x"
    assert "A[n,n]:sym" in v.message
    sym = ed.parse("x @ A @ x", shapes="x[n] A[n,n]:sym")
    assert ed.verify("2 * A @ x", sym, "x").ok
    v = ed.verify("A @ x", sym, "x")
    assert v.mistakes == ("wrong factor",)


def test_l2_regularized_least_squares_mistakes_name_the_term():
    f = ed.parse("sum((X @ w - y)**2) + lam * sum(w**2)", shapes="X[n,d] w[d] y[n] lam")
    assert ed.verify("2 * X.T @ (X @ w - y) + 2 * lam * w", f, "w").ok
    v = ed.verify("2 * X.T @ (X @ w - y)", f, "w")
    assert v.mistakes == ("missing term",)
    assert "missing: 2 * lam * w" in v.message
    v = ed.verify("2 * X.T @ (y - X @ w) + 2 * lam * w", f, "w")
    assert v.mistakes == ("wrong sign in a term",)
    assert "2 * X.T @ (X @ w - y)" in v.message.splitlines()[0]
    v = ed.verify("X.T @ (X @ w - y) + lam * w", f, "w")
    assert v.mistakes == ("wrong factor",)
    v = ed.verify("2 * X @ (X @ w - y) + 2 * lam * w", f, "w")
    assert v.mistakes[0] == "shape mismatch"
    assert v.fix == "2 * X.T @ (X @ w - y) + 2 * lam * w"


def test_gaussian_log_likelihood_in_the_covariance():
    f = ed.parse("-0.5 * logdet(S) - 0.5 * x @ inv(S) @ x", shapes="S[n,n]:sym x[n]")
    right = "-0.5 * inv(S) + 0.5 * inv(S) @ outer(x, x) @ inv(S)"
    assert ed.verify(right, f, "S").ok
    v = ed.verify("-0.5 * inv(S) - 0.5 * inv(S) @ outer(x, x) @ inv(S)", f, "S")
    assert v.mistakes == ("wrong sign in a term",)
    v = ed.verify("-0.5 * inv(S)", f, "S")
    assert v.mistakes == ("missing term",)
    # numeric: the expected form at a symmetric positive definite S
    rng = np.random.default_rng(1)
    B = rng.normal(size=(4, 4))
    S = B @ B.T + 4 * np.eye(4)
    x = rng.normal(size=4)
    Si = np.linalg.inv(S)
    want = -0.5 * Si + 0.5 * Si @ np.outer(x, x) @ Si
    got = eval(v.expected, {"np": np, "S": S, "x": x})
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_trace_and_logdet_transposes():
    f = ed.parse("trace(A @ B @ C)", shapes="A[n,n] B[n,n] C[n,n]")
    v = ed.verify("A @ B", f, "C")
    assert v.mistakes == ("transposed", "wrong order") and v.expected == "B.T @ A.T"
    v = ed.verify("A.T @ B.T", f, "C")
    assert v.mistakes == ("wrong order",) and v.fix == "B.T @ A.T"
    assert ed.verify("(A @ B).T", f, "C").ok
    g = ed.parse("logdet(S)", shapes="S[n,n]")
    v = ed.verify("inv(S)", g, "S")
    assert "transposed" in v.mistakes and v.fix == "inv(S).T"
    assert "appear swapped" in v.reason
    h = ed.parse("trace(A @ B)", shapes="A[n,m] B[m,n]")
    assert ed.verify("B.T", h, "A").ok


def test_matrix_factorization():
    f = ed.parse("sum((M - U @ V.T)**2)", shapes="M[n,m] U[n,r] V[m,r]")
    assert ed.verify("-2 * (M - U @ V.T) @ V", f, "U").ok
    assert ed.verify("-2 * (M - U @ V.T).T @ U", f, "V").ok
    v = ed.verify("-2 * (M - U @ V.T) @ U", f, "V")
    assert v.mistakes == ("shape mismatch",)


def test_attention_scores():
    f = ed.parse("softmax(Q @ K.T)", shapes="Q[t,d] K[s,d]")
    where = {"P": "softmax(Q @ K.T)"}
    claim = "(P * (g - (g * P).sum(axis=1, keepdims=True))) @ K"
    v = ed.verify(claim, f, "Q", cotangent="g", where=where)
    assert v.ok, v.message
    assert v.expected.endswith("@ K") and "P * g" in v.expected
    scores = ed.parse("Q @ K.T", shapes="Q[t,d] K[s,d]")
    v = ed.verify("Q.T @ g", scores, "K", cotangent="g")
    assert v.mistakes == ("shape mismatch", "wrong order") and v.fix == "g.T @ Q"
    assert "transposed shape" in v.message


def test_gru_gate_outer_product_transposed():
    prog = "z = sigmoid(Wz @ x + Uz @ hp)\n(1 - z) * hp + z * hc"
    f = ed.parse(prog, shapes="Wz[h,d] Uz[h,h] x[d] hp[h] hc[h]")
    where = {"z": "sigmoid(Wz @ x + Uz @ hp)"}
    assert ed.verify("outer(dh * (hc - hp) * z * (1 - z), hp)", f, "Uz", "dh", where).ok
    v = ed.verify("outer(hp, dh * (hc - hp) * z * (1 - z))", f, "Uz", "dh", where)
    assert v.mistakes[0] == "transposed" and "wrong order" in v.mistakes
    assert v.fix == "outer(hp, dh * (hc - hp) * z * (1 - z)).T"


def test_lstm_cell_elementwise_chain():
    prog = "c = f_ * c_prev + i_ * g_\nh = o * tanh(c)"
    f = ed.parse(prog, shapes="f_[h] c_prev[h] i_[h] g_[h] o[h]")
    where = {"c": "f_ * c_prev + i_ * g_"}
    v = ed.verify("dh * o * (1 - tanh(c)**2) * f_", f, "c_prev", "dh", where)
    assert v.ok
    assert "elementwise product (*)" in v.reason
    v = ed.verify("dh * o * (1 - tanh(c)**2)", f, "f_", "dh", where)
    assert not v.ok


def test_wrong_intermediate_definition_is_pointed_out():
    v = ed.verify("dz @ a_prev.T", _rnn(), "Waa", cotangent="da",
                  where={"dz": "da * (1 + a**2)", "a": RNN})
    assert not v.ok
    assert "Note: the correct result does not contain your dz = da * (1 + a**2)" in v.message


def test_result_name_never_collides_with_the_cotangent():
    f = ed.parse("o * tanh(c)", shapes="o[h] c[h]")
    v = ed.verify("dc * o * (1 - tanh(c)**2)", f, "c", cotangent="dc")
    assert v.ok
    assert v.message.startswith("Correct: ∂L/∂c = ")


# -- error experience -----------------------------------------------------------------


def _f():
    return ed.parse("W @ x", shapes="W[n,m] x[m]")


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"where": {"dz": "dy", "dy": "dz"}}, "circular (dz -> dy -> dz)"),
        ({"where": {"dz": "2 * dz"}}, "uses 'dz' itself"),
        ({"where": {"W": "g"}}, "already a symbol"),
        ({"where": {"d z": "g"}}, "not a valid name"),
        ({"where": "dz=g"}, "where must be a dict"),
        ({"where": {"dz": "g * qq"}}, "define it in where too"),
    ],
)
def test_bad_where_is_an_einderiv_error(kwargs, needle):
    with pytest.raises(ed.EinderivError) as info:
        ed.verify("W.T @ g", _f(), "x", cotangent="g", **kwargs)
    assert needle in str(info.value)


def test_claim_syntax_error_points_into_the_claim():
    with pytest.raises(ed.ParseError) as info:
        ed.verify("W.T @ g)", _f(), "x", cotangent="g", where={"dz": "g"})
    text = str(info.value)
    assert "syntax error" in text and "W.T @ g)" in text and "line" not in text


def test_unknown_names_in_claims_say_how_to_fix():
    with pytest.raises(ed.ParseError) as info:
        ed.verify("W.T @ g", _f(), "x")
    assert "cotangent='g'" in str(info.value) and "--cotangent g" in str(info.value)
    f = ed.parse("mean((x - mean(x))**2)", shapes="x[n]")
    with pytest.raises(ed.ParseError) as info:
        ed.verify("2 * (x - mean(x)) / n", f, "x")
    assert "dimension name" in str(info.value) and "x.shape[0]" in str(info.value)
    assert ed.verify("2 * (x - mean(x)) / x.shape[0]", f, "x").mistakes != ("shape mismatch",)
    with pytest.raises(ed.ParseError) as info:
        ed.verify("W.T @ gg", _f(), "x", cotangent="g")
    assert "did you mean 'g'?" in str(info.value) and "where=" in str(info.value)


def test_mistyped_wrt_suggests_the_symbol():
    with pytest.raises(ed.DerivativeError) as info:
        ed.grad(ed.parse("x @ A @ x", shapes="x[n] A[n,n]"), "xx")
    assert "did you mean 'x'?" in str(info.value)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["grad", "x @ A @ x", "--shapes", "x[n] A[n,n]", "--wrt", "xx"], "did you mean 'x'?"),
        (["grad", "x @ A @ x", "--shapes", "x[n] A[n,n]"], "--wrt"),
        (["verify", "W.T @ g)", "W @ x", "--shapes", "W[n,m] x[m]", "--wrt", "x",
          "--cotangent", "g"], "syntax error"),
        (["verify", "W.T @ dz", "W @ x", "--shapes", "W[n,m] x[m]", "--wrt", "x",
          "--cotangent", "g", "--where", "dz=dy", "--where", "dy=dz"], "circular"),
        (["verify", "W.T @ dz", "W @ x", "--shapes", "W[n,m] x[m]", "--wrt", "x",
          "--cotangent", "g", "--where", "dz"], "NAME=EXPRESSION"),
        (["grad", "x @ A @ x", "--shapes", "x[n] A[n,m]", "--wrt", "x"], "dims differ"),
        (["vjp", "W @ x", "--shapes", "W[n,m] x[m]", "--wrt", "x", "--cotangent", "W"],
         "pick another name"),
    ],
)
def test_cli_bad_input_exits_2_without_traceback(args, needle):
    result = subprocess.run([sys.executable, "-m", "einderiv", *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_output_into_a_closed_pipe_is_not_an_internal_error():
    cmd = (f"'{sys.executable}' -m einderiv explain 'W @ x' --shapes 'W[n,m] x[m]' --wrt x "
           "| head -c 1 >/dev/null; exit ${PIPESTATUS[0]}")
    result = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


def test_explain_accepts_only_markdown():
    result = subprocess.run(
        [sys.executable, "-m", "einderiv", "explain", "W @ x", "--shapes", "W[n,m] x[m]",
         "--wrt", "x", "--format", "latex"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_explain_names_a_softmax_p_for_textbook_forms():
    f = ed.parse("softmax(Q @ K.T)", shapes="Q[t,d] K[s,d]")
    text = ed.explain(f, "Q", cotangent="g")
    # the softmax is the function itself, f, computed stably as the readable form does
    assert ("Z_exp = np.exp(Z - Z.max(axis=1, keepdims=True))\n"
            "f = Z_exp / Z_exp.sum(axis=1, keepdims=True)\n") in text
    assert "t1 = f * g\ndZ = t1 - f * t1.sum(axis=1, keepdims=True)\ndQ = dZ @ K" in text
    ce = ed.parse("-sum(y * log(softmax(z)))", shapes="z[c] y[c]")
    assert "dz = y.sum() * p - y" in ed.explain(ce, "z")
