"""ed.parse: round trips against the Python builders and numpy, derivatives through every
function (finite differences), programs, symmetric symbols."""

from __future__ import annotations

import ast

import numpy as np
import pytest

import einderiv as ed
from einderiv.testing import check_derivative

SPEC = (
    "W[n,m] X[k,m] x[m] y[n] b[n] t[k] w[m] h0[n] A[n,n] B[n,n] S[n,n] M[m,m] "
    "c ba[n,1] P[n,m]"
)
W, X, x, y, b, t, w, h0, A, B, S, M, c, ba, P = ed.symbols(SPEC)
SIZES = {"n": 3, "m": 4, "k": 5}


def _spd(rng: np.random.Generator, size: int) -> np.ndarray:
    q = rng.normal(size=(size, size))
    return q @ q.T + size * np.eye(size)


def _values(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    values: dict[str, np.ndarray] = {}
    for sym in (W, X, x, y, b, t, w, h0, A, B, M, c, ba):
        shape = tuple(1 if d == "1" else SIZES[d] for d in sym.dims)
        values[sym.name] = rng.normal(size=shape)
    values["S"] = _spd(rng, SIZES["n"])
    values["P"] = rng.uniform(0.5, 2.0, size=(SIZES["n"], SIZES["m"]))
    values["c"] = np.float64(rng.uniform(0.5, 2.0))
    return values


def _softmax(z, axis=-1):
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _logsumexp(z, axis=None, keepdims=False):
    top = np.max(z, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(z - top), axis=axis, keepdims=True)) + top
    return out if keepdims else np.squeeze(out, axis=axis)


NUMPY_NAMES = {
    "np": np,
    "numpy": np,
    "tanh": np.tanh,
    "exp": np.exp,
    "log": np.log,
    "log1p": np.log1p,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "sqrt": np.sqrt,
    "abs": np.abs,
    "relu": lambda z: np.maximum(z, 0),
    "softplus": lambda z: np.logaddexp(0, z),
    "sin": np.sin,
    "cos": np.cos,
    "square": np.square,
    "sum": np.sum,
    "mean": np.mean,
    "trace": np.trace,
    "diag": np.diag,
    "outer": np.outer,
    "transpose": np.transpose,
    "norm": np.linalg.norm,
    "softmax": _softmax,
    "logsumexp": _logsumexp,
    "inv": np.linalg.inv,
    "det": np.linalg.det,
    "logdet": lambda z: np.linalg.slogdet(z)[1],
    "einsum": np.einsum,
    "dot": np.dot,
    "matmul": np.matmul,
    "jnp": np,
    "scipy": type("scipy", (), {"special": type("special", (), {"logsumexp": _logsumexp})}),
}


def numpy_value(text: str, values: dict[str, np.ndarray]) -> np.ndarray:
    """The independent oracle: run the same text with numpy (test code only)."""
    namespace = {**NUMPY_NAMES, **values}
    tree = ast.parse(text)
    *body, last = tree.body
    exec(compile(ast.Module(body=body, type_ignores=[]), "<test>", "exec"), namespace)
    node = last.value
    return eval(compile(ast.Expression(body=node), "<test>", "eval"), namespace)


def _program_rnn():
    h1 = ed.tanh(A @ h0 + W @ x)
    h2 = ed.tanh(A @ h1 + W @ x)
    return ed.sum(h2)


def _program_mlp():
    z = W @ x + b
    a = ed.tanh(z)
    return ed.sum(a * y)


ROUND_TRIP = [
    ("W @ x", lambda: W @ x),
    ("tanh(W @ x + b)", lambda: ed.tanh(W @ x + b)),
    ("x @ W.T", lambda: x @ W.T),
    ("y @ W", lambda: y @ W),
    ("x @ x", lambda: x @ x),
    ("A @ B", lambda: A @ B),
    ("A.T @ B @ A", lambda: A.T @ B @ A),
    ("W.T @ A @ W", lambda: W.T @ A @ W),
    ("sum(exp(W), axis=0)", lambda: ed.sum(ed.exp(W), axis=0)),
    ("W.sum(axis=1, keepdims=True)", lambda: W.sum(axis=1, keepdims=True)),
    ("mean(W, axis=0)", lambda: ed.mean(W, axis=0)),
    ("W.mean()", lambda: ed.mean(W)),
    ("np.trace(A @ B)", lambda: ed.trace(A @ B)),
    ("diag(y)", lambda: ed.diag(y)),
    ("diag(A)", lambda: ed.diag(A)),
    ("outer(y, x)", lambda: ed.outer(y, x)),
    ("np.transpose(W)", lambda: ed.transpose(W)),
    ("W.transpose(1, 0)", lambda: ed.transpose(W, (1, 0))),
    ("norm(W)", lambda: ed.norm(W)),
    ("np.linalg.norm(x - w)", lambda: ed.norm(x - w)),
    ("softmax(W)", lambda: ed.softmax(W)),
    ("softmax(W, axis=0)", lambda: ed.softmax(W, axis=0)),
    ("logsumexp(W)", lambda: ed.logsumexp(W)),
    ("logsumexp(W, axis=1)", lambda: ed.logsumexp(W, axis=1)),
    ("logsumexp(W, axis=0, keepdims=True)", lambda: ed.logsumexp(W, axis=0, keepdims=True)),
    ("np.linalg.inv(A) @ y", lambda: ed.inv(A) @ y),
    ("det(A)", lambda: ed.det(A)),
    ("logdet(S)", lambda: ed.logdet(S)),
    ("np.linalg.det(A @ B)", lambda: ed.det(A @ B)),
    ("sigmoid(W @ x) * b", lambda: ed.sigmoid(W @ x) * b),
    ("relu(W) + abs(W)", lambda: ed.relu(W) + ed.abs(W)),
    ("softplus(x) - log1p(exp(x))", lambda: ed.softplus(x) - ed.log1p(ed.exp(x))),
    ("sin(x) ** 2 + cos(x) ** 2", lambda: ed.sin(x) ** 2 + ed.cos(x) ** 2),
    ("square(W) / 2", lambda: ed.square(W) / 2),
    ("sqrt(x * x + 1)", lambda: ed.sqrt(x * x + 1)),
    ("log(P) + sqrt(P)", lambda: ed.log(P) + ed.sqrt(P)),
    ("sum(log(1 + exp(-t * (X @ w))))", lambda: ed.sum(ed.log(1 + ed.exp(-t * (X @ w))))),
    ("einsum('ij,j->i', W, x)", lambda: ed.einsum("ij,j->i", W, x)),
    ("np.einsum('ij,ik->jk', W, W)", lambda: ed.einsum("ij,ik->jk", W, W)),
    ("einsum('ii', A)", lambda: ed.trace(A)),
    ("W + ba", lambda: W + ba),
    ("tanh(A @ W + W + ba)", lambda: ed.tanh(A @ W + W + ba)),
    ("2 * A @ y", lambda: 2 * A @ y),
    ("(A + A.T) / 2", lambda: (A + A.T) / 2),
    ("-W.T @ y", lambda: -W.T @ y),
    ("W ** 3 - 2 ** -1 * W", lambda: W**3 - 0.5 * W),
    ("-(1) * W + -(-(2.5)) * W", lambda: 1.5 * W),
    ("c * W", lambda: c * W),
    ("x / c", lambda: x / c),
    ("1 / (1 + exp(-x))", lambda: 1 / (1 + ed.exp(-x))),
    ("P ** -1.5 + P ** 0.5", lambda: P**-1.5 + P**0.5),
    ("x @ W.T @ A @ W @ x", lambda: x @ W.T @ A @ W @ x),
    ("trace(inv(S) @ A) - logdet(S)", lambda: ed.trace(ed.inv(S) @ A) - ed.logdet(S)),
    ("np.exp(np.log(x * x + 1)).sum()", lambda: ed.sum(ed.exp(ed.log(x * x + 1)))),
    ("mean(W * W, axis=(0, 1))", lambda: ed.mean(W * W, axis=(0, 1))),
    ("dot(W, x) + matmul(y, W).sum() * b", lambda: W @ x + ed.sum(y @ W) * b),
    ("x.T @ M @ x", lambda: x @ M @ x),
    ("jnp.tanh(x) + scipy.special.logsumexp(W) * numpy.pi",
     lambda: ed.tanh(x) + ed.logsumexp(W) * np.pi),
    ("W.T.sum(0) + x.mean(axis=0, keepdims=True)", lambda: W.T.sum(0) + ed.mean(x, 0, True)),
    ("z = W @ x + b\na = tanh(z)\nL = sum(a * y)", _program_mlp),
    ("h1 = tanh(A @ h0 + W @ x); h2 = tanh(A @ h1 + W @ x); sum(h2)", _program_rnn),
    ("u = x; u = u * u; u += 1; u", lambda: x * x + 1),
    ("A - B - A + B + 2 * A", lambda: 2 * A),
]


def test_round_trip_count():
    assert len(ROUND_TRIP) >= 40


@pytest.mark.parametrize(("text", "build"), ROUND_TRIP, ids=[t for t, _ in ROUND_TRIP])
def test_round_trip(text, build):
    parsed = ed.parse(text, shapes=SPEC)
    built = build()
    assert parsed == built, f"{text}: parsed {parsed!r} != built {built!r}"
    values = _values(seed=len(text))
    expected = numpy_value(text, values)
    got = parsed.evaluate(values)
    assert np.shape(got) == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-10)


def test_shape_forms_agree():
    as_dict = ed.parse("tanh(W @ x + b)", shapes={"W": "n m", "x": "m", "b": "n"})
    as_tuples = ed.parse("tanh(W @ x + b)", shapes={"W": ("n", "m"), "x": ["m"], "b": "n"})
    as_spec = ed.parse("tanh(W @ x + b)", shapes="W[n,m] x[m] b[n]")
    as_symbols = ed.parse("tanh(W @ x + b)", shapes={"W": W, "x": x, "b": b})
    assert as_dict == as_tuples == as_spec == as_symbols == ed.tanh(W @ x + b)


def test_scalar_and_broadcast_declarations():
    f = ed.parse("s * W + ba", shapes={"s": "", "W": "n m", "ba": "n 1"})
    s = ed.symbols("s")
    assert f == s * W + ba
    assert f.shape == ("n", "m")


def test_design_examples():
    f = ed.parse("einsum('ij,j->i', W, x)", shapes="W[n,m] x[m]")
    assert f == W @ x
    f = ed.parse("x @ A @ x", shapes={"A": "n n:sym", "x": "n"})
    assert f.shape == ()


def test_rnn_cell_from_design():
    spec = {"Waa": "n n", "Wax": "n k", "a_prev": "n m", "x": "k m", "ba": "n 1"}
    a = ed.parse("tanh(Waa @ a_prev + Wax @ x + ba)", shapes=spec)
    assert a.shape == ("n", "m")
    check_derivative(a, "Wax")
    check_derivative(a, "ba")


def test_program_shares_nodes():
    f = ed.parse("z = W @ x\nL = sum(tanh(z) * tanh(z))", shapes=SPEC)
    z = W @ x
    assert f == ed.sum(ed.tanh(z) * ed.tanh(z))


def test_result_picks_an_assignment():
    text = "z = W @ x + b\na = tanh(z)\nL = sum(a * y)"
    assert ed.parse(text, shapes=SPEC, result="z") == W @ x + b
    assert ed.parse(text, shapes=SPEC, result="a") == ed.tanh(W @ x + b)


def test_reassignment_sees_previous_value():
    text = "h = h0\nh = tanh(A @ h)\nh = tanh(A @ h)\nh"
    assert ed.parse(text, shapes=SPEC) == ed.tanh(A @ ed.tanh(A @ h0))


def test_indented_program_and_comments():
    text = """
        z = W @ x   # pre-activation
        L = sum(tanh(z))
    """
    assert ed.parse(text, shapes=SPEC) == ed.sum(ed.tanh(W @ x))


def test_constant_text():
    assert ed.parse("2 ** -1 + 1").evaluate({}) == 1.5


def test_long_sum_chain_is_fast_and_equal():
    text = " + ".join(f"{i} * tanh({i} * x)" for i in range(1, 301))
    built = 1 * ed.tanh(1 * x)
    for i in range(2, 301):
        built = built + i * ed.tanh(i * x)
    assert ed.parse(text, shapes=SPEC) == built


def test_unrolled_rnn_program_backprop_through_time():
    steps = 25
    lines = ["h = h0"] + ["h = tanh(A @ h + W @ x)"] * steps + ["L = sum(h * b)"]
    f = ed.parse("\n".join(lines), shapes=SPEC)
    g = ed.grad(f, "A")
    values = _values(1)
    h = values["h0"]
    hs = [h]
    for _ in range(steps):
        h = np.tanh(values["A"] @ h + values["W"] @ values["x"])
        hs.append(h)
    # backpropagation through time by hand
    dh = values["b"]
    expected = np.zeros((3, 3))
    for k in range(steps, 0, -1):
        dz = dh * (1 - hs[k] ** 2)
        expected += np.outer(dz, hs[k - 1])
        dh = values["A"].T @ dz
    np.testing.assert_allclose(g.evaluate(values), expected, rtol=1e-9, atol=1e-12)


# -- derivatives through every function --------------------------------------------------

_rng = np.random.default_rng(7)
POS = {"P": _rng.uniform(0.5, 2.0, size=(3, 4))}
SPD = {"S": _spd(_rng, 3)}

DERIVATIVES = [
    ("tanh(W @ x + b)", "W", None),
    ("tanh(W @ x + b)", "x", None),
    ("exp(W) * P", "W", POS),
    ("log(P)", "P", POS),
    ("log1p(P)", "P", POS),
    ("sigmoid(W)", "W", None),
    ("sqrt(P)", "P", POS),
    ("abs(W)", "W", None),
    ("relu(W)", "W", None),
    ("softplus(W)", "W", None),
    ("sin(W) + cos(W)", "W", None),
    ("square(W @ x)", "x", None),
    ("P ** -1.5 / 3", "P", POS),
    ("W / P", "P", POS),
    ("sum(W * W, axis=0)", "W", None),
    ("mean(W, axis=1, keepdims=True) * W", "W", None),
    ("W.sum() * x", "W", None),
    ("trace(A @ B)", "A", None),
    ("trace(A @ A @ B)", "A", None),
    ("diag(y) @ W", "y", None),
    ("diag(A) * y", "A", None),
    ("outer(y, x) * W", "x", None),
    ("transpose(W) @ A", "A", None),
    ("W.transpose(1, 0) @ y", "W", None),
    ("norm(W)", "W", None),
    ("softmax(W)", "W", None),
    ("softmax(W, axis=0)", "W", None),
    ("softmax(A @ y)", "y", None),
    ("logsumexp(W)", "W", None),
    ("logsumexp(W, axis=1)", "W", None),
    ("logsumexp(W, axis=0, keepdims=True) - W", "W", None),
    ("inv(S)", "S", SPD),
    ("inv(S) @ y", "S", SPD),
    ("det(A)", "A", None),
    ("det(S) * y", "S", SPD),
    ("logdet(S)", "S", SPD),
    ("logdet(A @ A.T + S)", "A", SPD),
    ("einsum('ij,kj->ik', W, W)", "W", None),
    ("sum(log(1 + exp(-t * (X @ w))))", "w", None),
    ("z = W @ x + b\na = tanh(z)\nL = sum(a * y)", "W", None),
    ("h1 = tanh(A @ h0 + W @ x); h2 = tanh(A @ h1 + W @ x); sum(h2 * h2)", "A", None),
]


@pytest.mark.parametrize(
    ("text", "wrt", "values"), DERIVATIVES, ids=[f"{t}|{v}" for t, v, _ in DERIVATIVES]
)
def test_derivative_through_function(text, wrt, values):
    f = ed.parse(text, shapes=SPEC)
    check_derivative(f, wrt, sizes=SIZES, values=values, seed=3)


@pytest.mark.parametrize(
    ("text", "wrt", "values"),
    [
        ("logdet(S)", "S", SPD),
        ("logdet(S) - trace(inv(S) @ A)", "S", SPD),
        ("det(A)", "A", None),
        ("sum(inv(S) @ y)", "S", SPD),
        ("logsumexp(W)", "W", None),
        ("sum(softmax(W) * P)", "W", POS),
    ],
)
def test_second_derivatives(text, wrt, values):
    f = ed.parse(text, shapes=SPEC)
    g = ed.grad(f, wrt)
    check_derivative(g, wrt, sizes=SIZES, values=values, seed=5)


def test_logdet_hessian_is_minus_inverse_kronecker():
    f = ed.parse("logdet(S)", shapes=SPEC)
    hess = ed.hessian(f, "S").evaluate({"S": SPD["S"]})
    inv = np.linalg.inv(SPD["S"])
    # d/dS_kl of inv(S).T_ij = -inv_ik inv_lj transposed: H_ijkl = -inv_lj... = -inv_jk inv_li
    expected = -np.einsum("jk,li->ijkl", inv, inv)
    np.testing.assert_allclose(hess, expected, rtol=1e-10, atol=1e-12)


# -- symmetric symbols ------------------------------------------------------------------


def test_symmetric_simplifies_transpose():
    f = ed.parse("(Q + Q.T) @ v", shapes={"Q": "n n:sym", "v": "n"})
    Q, v = ed.symbols("Q[n,n]:sym v[n]")
    assert f == 2 * Q @ v
    assert ed.parse("Q.T @ v", shapes="Q[n,n]:sym v[n]") == Q @ v
    assert ed.parse("Q.T + Q", shapes="Q[n,n]:sym") == 2 * Q


def test_symmetric_gradient_is_symmetric_part():
    text = "v @ Q @ u + trace(Q @ B)"
    f = ed.parse(text, shapes={"Q": "n n:sym", "v": "n", "u": "n", "B": "n n"})
    g = ed.grad(f, "Q")
    rng = np.random.default_rng(11)
    q = rng.normal(size=(3, 3))
    vals = {"Q": q + q.T, "v": rng.normal(size=3), "u": rng.normal(size=3),
            "B": rng.normal(size=(3, 3))}
    got = g.evaluate(vals)
    unconstrained = np.outer(vals["v"], vals["u"]) + vals["B"].T
    np.testing.assert_allclose(got, (unconstrained + unconstrained.T) / 2, rtol=1e-12)
    assert np.allclose(got, got.T)
    # finite difference along symmetric perturbations E: <G, E> = df(Q + hE)/dh
    fvalue = ed.compile(f)
    for _ in range(3):
        e = rng.normal(size=(3, 3))
        e = e + e.T
        h = 1e-6
        up = fvalue({**vals, "Q": vals["Q"] + h * e})
        down = fvalue({**vals, "Q": vals["Q"] - h * e})
        numeric = (up - down) / (2 * h)
        assert np.isclose(np.sum(got * e), numeric, rtol=1e-6, atol=1e-8)
    # the cookbook's G + G.T - G*I disagrees with the finite difference
    cookbook = unconstrained + unconstrained.T - np.diag(np.diag(unconstrained))
    e = np.zeros((3, 3))
    e[0, 1] = e[1, 0] = 1.0
    numeric = float(np.sum(got * e))
    assert not np.isclose(np.sum(cookbook * e), numeric)
    check_derivative(f, "Q", seed=2)


def test_symmetric_logdet_gradient():
    f = ed.parse("logdet(Q) - trace(inv(Q) @ C)", shapes="Q[n,n]:sym C[n,n]")
    check_derivative(f, "Q", values={"Q": SPD["S"]}, seed=4)
    g = ed.grad(f, "Q").evaluate({"Q": SPD["S"], "C": np.eye(3)})
    np.testing.assert_allclose(g, g.T, atol=1e-12)
