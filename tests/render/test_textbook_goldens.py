"""The famous derivatives read as the textbook prints them (issue 10's golden examples).

Each case is checked twice: the readable form's lines are the textbook's, and they
evaluate to the derivative (exec of the program against ``evaluate``, distinct sizes).
"""

from __future__ import annotations

import numpy as np
import pytest

import einderiv as ed

SIZES = {"n": 5, "d": 3, "c": 4, "m": 6, "e": 2, "k": 3}


def _values(e: ed.Expr, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for sym in ed.ir.inputs_of(e):
        shape = tuple(1 if d == "1" else SIZES[d] for d in sym.dims)
        value = rng.normal(size=shape)
        if sym.name == "X" and len(shape) == 2 and shape[0] == shape[1]:
            value = value + 3 * np.eye(shape[0])  # well conditioned for inv and det
        out[sym.name] = value
    if "d" in out and not out["d"].shape:
        out["d"] = np.asarray(4.0)  # a positive scale for sqrt(d)
    return out


def _program(e: ed.Expr, name: str) -> list[str]:
    source = e.to_program(name)
    values = _values(e)
    namespace: dict = {}
    exec(source, {"np": np, **values}, namespace)  # noqa: S102 - our own output
    np.testing.assert_allclose(namespace[name], e.evaluate(values), rtol=1e-9, atol=1e-10)
    return source.splitlines()


BCE = "-sum(y * log(sigmoid(X @ w)) + (1 - y) * log(1 - sigmoid(X @ w)))"


def test_logistic_cross_entropy_gradient_is_x_transpose_s_minus_y():
    f = ed.parse(BCE, shapes="X[n,d] w[d] y[n]")
    assert _program(ed.grad(f, "w"), "dw") == [
        "s = 1 / (1 + np.exp(-(X @ w)))",
        "dw = X.T @ (s - y)",
    ]


def test_logistic_cross_entropy_hessian_is_x_transpose_diag_x():
    f = ed.parse(BCE, shapes="X[n,d] w[d] y[n]")
    lines = _program(ed.hessian(f, "w"), "H")
    assert lines == ["s = 1 / (1 + np.exp(-(X @ w)))", "H = X.T @ (((1 - s) * s)[:, None] * X)"]


@pytest.mark.parametrize("text", [
    "-sum(y * log(exp(z) / sum(exp(z))))",
    "-sum(y * log(softmax(z)))",
])
def test_softmax_cross_entropy_gradient_is_p_times_sum_y_minus_y(text):
    f = ed.parse(text, shapes="z[c] y[c]")
    lines = _program(ed.grad(f, "z"), "dz")
    assert lines == [  # the exponential shifted by the max on a line of its own: stable
        "z_exp = np.exp(z - z.max())",
        "p = z_exp / z_exp.sum()",
        "dz = y.sum() * p - y",
    ]


@pytest.mark.parametrize(("text", "shapes", "axis"), [
    ("-sum(y * log(softmax(z)))", "z[c] y[c]", None),
    ("-sum(Y * log(softmax(Z, axis=1)))", "Z[n,c] Y[n,c]", 1),
    ("-sum(Y * log(softmax(Z, axis=0)))", "Z[n,c] Y[n,c]", 0),
])
def test_a_printed_softmax_is_as_stable_as_evaluation(text, shapes, axis):
    """Logits near 1000 overflow a bare exp; the program's softmax lines do not."""
    f = ed.parse(text, shapes=shapes)
    name = "dz" if axis is None else "dZ"
    e = ed.grad(f, name[1:])
    values = _values(e, seed=3)
    values[name[1:]] = 1000.0 + values[name[1:]]
    for source in (e.to_program(name), f"{name} = " + e.to_numpy()):
        namespace: dict = {}
        with np.errstate(over="raise", invalid="raise"):
            exec(source, {"np": np, **values}, namespace)  # noqa: S102 - our own output
        z = values[name[1:]]
        p = np.exp(z - z.max(axis=axis, keepdims=True))
        p = p / p.sum(axis=axis, keepdims=True)
        y = values["y" if axis is None else "Y"]
        want = p * y.sum(axis=axis, keepdims=True) - y
        np.testing.assert_allclose(namespace[name], want, rtol=1e-9, atol=1e-12)


def test_attention_backward_names_the_users_parts():
    f = ed.parse("S = Q @ K.T / sqrt(d)\nP = softmax(S, axis=1)\nO = P @ V",
                 shapes="Q[n,d] K[m,d] V[m,e] d")
    lines = _program(ed.vjp(f, "Q", "dO"), "dQ")
    assert "dP = dO @ V.T" in lines
    assert lines[-1] == "dQ = dS @ K / np.sqrt(d)"
    assert any(line.startswith("dS = ") for line in lines)
    assert "dV = P.T @ dO" in _program(ed.vjp(f, "V", "dO"), "dV")


def test_det_of_inverse_cancels():
    X = ed.symbols("X[k,k]")
    assert _program(ed.grad(ed.det(ed.inv(X)), X), "dX") == [
        "dX = -np.linalg.inv(X).T / np.linalg.det(X)"
    ]


def test_det_of_a_power_is_one_term():
    X = ed.symbols("X[k,k]")
    assert _program(ed.grad(ed.det(X @ X @ X @ X @ X), X), "dX") == [
        "dX = 5 * np.linalg.det(X)**5 * np.linalg.inv(X).T"
    ]


def test_column_vector_quadratic_form_factors():
    x, A = ed.symbols("x[k,1] A[k,k]")
    assert _program(ed.grad(ed.sum(x.T @ A @ x), x), "dx") == ["dx = (A + A.T) @ x"]


def test_sum_gradient_is_ones_like():
    X = ed.symbols("X[n,d]")
    assert _program(ed.grad(ed.sum(X), X), "dX") == ["dX = np.ones_like(X)"]


def test_a_sum_divided_by_its_count_is_a_mean():
    loss = ed.parse("mean((X @ w + b - y)**2) / 2", shapes="X[n,d] w[d] b y[n]")
    assert _program(ed.grad(loss, "b"), "db") == ["db = (X @ w + b - y).mean()"]
    var = ed.parse("var(X, axis=0)", shapes="X[n,d]")
    assert _program(var, "v") == ["v = ((X - X.mean(axis=0, keepdims=True))**2).mean(axis=0)"]
    # divided by the size of another dim (X.shape[0] is n, the summed axis is d): no mean
    other = ed.parse("sum(X, axis=1) / X.shape[0]", shapes="X[n,d]")
    (line,) = _program(other, "r")
    assert ".mean(" not in line and ".sum(axis=1)" in line


def test_a_mean_in_torch_codegen_keeps_its_dims():
    torch = pytest.importorskip("torch")
    f = ed.parse("sum(var(X, axis=0) * g)", shapes="X[n,d] g[d]")
    e = ed.grad(f, "X")
    source = ed.codegen(e, module="torch")
    assert ".mean(dim=0, keepdim=True)" in source
    values = _values(e)
    scope: dict = {}
    exec(compile(source, "<codegen>", "exec"), scope)  # noqa: S102 - our own output
    got = scope["f"](**{k: torch.tensor(v) for k, v in values.items()}).numpy()
    np.testing.assert_allclose(got, e.evaluate(values), rtol=1e-9, atol=1e-12)


def test_an_elementwise_reciprocal_factor_divides():
    for shapes in ("g[n] x[n] v[n]", "g[n,m] x[n,m] v[n,m]"):
        f = ed.parse("sum(g * x / sqrt(v**2 + 1))", shapes=shapes)
        (line,) = _program(ed.grad(f, "x"), "dx")  # checked against evaluate
        assert line == "dx = g / np.sqrt(1 + v**2)"


def test_a_sum_of_transposed_products_is_transposed_once():
    X, B = ed.symbols("X[k,k] B[k,k]")
    assert _program(ed.grad(ed.trace(X @ X @ B), X), "dX") == ["dX = (B @ X + X @ B).T"]
    A = ed.symbols("A[k,k]")
    (line,) = _program(ed.grad(ed.trace(A @ X @ B @ X), X), "dX")  # checked numerically
    assert line.count(".T") <= 3


def test_a_root_of_a_sum_of_squares_is_a_norm():
    x, a = ed.symbols("x[n] a[n]")
    assert _program(ed.grad(ed.norm(x - a), x), "dx") == [
        "t1 = x - a", "dx = t1 / np.linalg.norm(t1)"]
    H = _program(ed.hessian(ed.norm(x - a), x), "H")  # checked against evaluate
    assert H[-1].endswith("np.outer(t1, t1) / t2**3") and "t2 = np.linalg.norm(t1)" in H
    X = ed.symbols("X[n,k]")
    (line,) = _program(ed.parse("sqrt(sum(X**2))", shapes="X[n,k]"), "r")
    assert line == "r = np.linalg.norm(X)"  # Frobenius
    assert ed.grad(ed.norm(X), X).to_numpy() == "X / np.linalg.norm(X)"


def test_a_part_the_program_reads_once_has_no_line():
    """(X b + c) is used twice by the derivative, once by the printed (D + D.T) @ (...)."""
    f = ed.parse("sum((X @ b + c) * (D @ (X @ b + c)))", shapes="X[k,m] b[m] c[k] D[k,k]")
    assert _program(ed.grad(f, "X"), "dX") == ["dX = np.outer((D + D.T) @ (X @ b + c), b)"]
    x = ed.symbols("x[n]")
    lines = _program(ed.grad(ed.sum(ed.tanh(x) ** 3), "x"), "dx")  # read twice: kept
    assert len(lines) == 2 and lines[0].startswith("t1 = ")


def test_determinants_of_square_matrices_of_one_size_multiply_as_one():
    A, X, B = ed.symbols("A[k,k] X[k,k] B[k,k]")
    (line,) = _program(ed.grad(ed.det(A @ X @ B), X), "dX")  # checked against evaluate
    assert line.count("np.linalg.det(") == 1
    C = ed.symbols("C[m,m]")  # another size: its determinant stays apart
    (line,) = _program(ed.grad(ed.det(A @ X) * ed.det(C), X), "dX")
    assert line.count("np.linalg.det(") == 2


def test_elementwise_products_sharing_a_factor_are_factored():
    f = ed.parse("sum(y * log(softmax(z)))", shapes="z[c] y[c]")
    (*_, line) = _program(ed.hessian(f, "z"), "H")  # checked against evaluate
    assert line == "H = y.sum() * (np.outer(p, p) - np.diag(p))"


def test_rows_sharing_a_factor_with_a_matrix_term_are_factored_and_divide():
    f = ed.parse("sum(G * (X - mean(X, axis=0)) / sqrt(var(X, axis=0) + 1))",
                 shapes="X[m,d] G[m,d]")
    (*_, line) = _program(ed.grad(f, "G"), "dG")  # checked against evaluate
    assert "/ t" in line or "/ np.sqrt(" in line
    shapes = "dxhat[m,d] s[d]"
    g = ed.parse("dxhat / s - mean(dxhat, axis=0) / s", shapes=shapes)
    assert _program(g, "r") == ["r = (dxhat - dxhat.mean(axis=0)) / s"]


def test_a_gram_inverse_beside_its_matrix_is_a_pseudo_inverse():
    X = ed.symbols("X[n,d]")
    assert _program(ed.grad(ed.logdet(X.T @ X), X), "dX") == ["dX = 2 * np.linalg.pinv(X).T"]
    left = ed.parse("inv(X.T @ X) @ X.T", shapes="X[n,d]")
    assert _program(left, "P") == ["P = np.linalg.pinv(X)"]
    back = ed.parse(left.to_numpy(), shapes="X[n,d]")  # the spelling parses back
    values = _values(left)
    np.testing.assert_allclose(back.evaluate(values), left.evaluate(values), rtol=1e-9)
    # another matrix beside X's Gram inverse: no pseudo-inverse
    assert "pinv" not in ed.parse("A @ inv(X.T @ X)", shapes="X[n,d] A[n,d]").to_numpy()
