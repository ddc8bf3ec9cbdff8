"""The einderiv command line, run through a subprocess as a user would."""

import json
import subprocess
import sys

import numpy as np
import pytest

RNN_SHAPES = "Waa[n,n] Wax[n,k] a_prev[n,m] x[k,m] ba[n,1]"
RNN = "tanh(Waa @ a_prev + Wax @ x + ba)"


def run(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "einderiv", *args],
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
    )


def test_grad_prints_matrix_form():
    out = run("grad", "x @ A @ x", "--shapes", "x[n] A[n,n]", "--wrt", "x")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(A + A.T) @ x"


def test_vjp_rnn_textbook_order():
    out = run("vjp", RNN, "--shapes", RNN_SHAPES, "--wrt", "Waa", "--cotangent", "da")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("@ a_prev.T")
    assert "\x1b[" not in out.stdout  # no colour on a pipe


def test_diff_index_format():
    out = run("diff", "X @ W", "--shapes", "X[p,q] W[q,r]", "--wrt", "X", "--format", "index")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "F_abcd = δ_ac W_db"


def test_jvp_and_json_evaluates():
    out = run("jvp", "W @ x", "--shapes", "W[n,m] x[m]", "--wrt", "W", "--tangent", "V",
              "--format", "json")
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert payload["shape"] == ["n"]
    rng = np.random.default_rng(0)
    V, x = rng.normal(size=(3, 4)), rng.normal(size=4)
    got = eval(payload["numpy"], {"np": np, "V": V, "x": x})
    assert np.allclose(got, V @ x)


def test_hessian_latex():
    out = run("hessian", "x @ A @ x", "--shapes", "x[n] A[n,n]", "--wrt", "x", "--format", "latex")
    assert out.returncode == 0, out.stderr
    assert "A" in out.stdout and "top" in out.stdout


def test_einsum_format():
    out = run("vjp", "W @ x", "--shapes", "W[n,m] x[m]", "--wrt", "x", "--format", "einsum")
    assert out.returncode == 0
    assert "np.einsum" in out.stdout


def test_verify_exit_codes():
    where = ["--where", "dz=da * (1 - a**2)", "--where", f"a={RNN}"]
    good = run("verify", "dz @ a_prev.T", RNN, "--shapes", RNN_SHAPES, "--wrt", "Waa",
               "--cotangent", "da", *where)
    assert good.returncode == 0, good.stderr
    assert "correct" in good.stdout
    bad = run("verify", "a_prev @ dz.T", RNN, "--shapes", RNN_SHAPES, "--wrt", "Waa",
              "--cotangent", "da", *where)
    assert bad.returncode == 1
    assert "dz @ a_prev.T" in bad.stdout and "transpose" in bad.stdout
    as_json = run("verify", "a_prev @ dz.T", RNN, "--shapes", RNN_SHAPES, "--wrt", "Waa",
                  "--cotangent", "da", *where, "--format", "json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["fix"] == "dz @ a_prev.T"


def test_explain_markdown():
    out = run("explain", "W @ x", "--shapes", "W[n,m] x[m]", "--wrt", "x", "--cotangent", "g")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("# Derivation")
    assert "W.T @ g" in out.stdout and "## Numeric check" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("grad", "x @ q", "--shapes", "x[n]", "--wrt", "x"), "unknown name 'q'"),
        (("grad", "W @ x", "--shapes", "W[n,m] x[m]", "--wrt", "W"), "scalar"),
        (("grad", "W @ x +", "--shapes", "W[n,m] x[m]", "--wrt", "W"), "^"),
        (("vjp", "W @ x", "--shapes", "W[n,m] x[k]", "--wrt", "x"), "differ"),
        (("diff", "W @ x", "--shapes", "W[n,m] x[m]", "--wrt", "z"), "no symbol"),
        (("verify", "W.T @ g", "W @ x", "--shapes", "W[n,m] x[m]", "--wrt", "x",
          "--where", "oops"), "NAME=EXPRESSION"),
    ],
)
def test_bad_input_exits_2_with_message(args, message):
    out = run(*args)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert out.stdout == ""


def test_usage_errors_and_help():
    assert run().returncode == 2
    assert run("grad", "x").returncode == 2  # missing --shapes/--wrt
    helped = run("--help")
    assert helped.returncode == 0 and "examples:" in helped.stdout
    assert run("verify", "--help").returncode == 0


BPTT3 = ("a1 = tanh(Waa @ a0 + Wax @ x1 + ba); a2 = tanh(Waa @ a1 + Wax @ x2 + ba); "
         "a3 = tanh(Waa @ a2 + Wax @ x3 + ba)")
BPTT3_SHAPES = "Waa[n,n] Wax[n,k] ba[n,1] a0[n,m] x1[k,m] x2[k,m] x3[k,m]"


def _bptt3_values(rng):
    n, k, m = 3, 4, 5
    return {"Waa": rng.normal(size=(n, n)) / 2, "Wax": rng.normal(size=(n, k)) / 2,
            "ba": rng.normal(size=(n, 1)), "a0": rng.normal(size=(n, m)),
            "x1": rng.normal(size=(k, m)), "x2": rng.normal(size=(k, m)),
            "x3": rng.normal(size=(k, m)), "da3": rng.normal(size=(n, m))}


def _bptt3_forward(v, Waa):
    a = v["a0"]
    for x in (v["x1"], v["x2"], v["x3"]):
        a = np.tanh(Waa @ a + v["Wax"] @ x + v["ba"])
    return a


def test_program_format_is_the_readable_bptt_program_and_runs():
    out = run("vjp", BPTT3, "--shapes", BPTT3_SHAPES, "--wrt", "Waa", "--cotangent", "da3",
              "--format", "program")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    targets = [line.split(" = ", 1)[0] for line in lines]
    assert targets[-1] == "dWaa"
    assert {"a1", "a2", "a3", "dz3", "dz2", "dz1"} <= set(targets)  # one dz line per step
    assert len(lines) == len(set(targets))  # each part rendered once
    assert "np.tanh" not in lines[-1]  # the result reads in the names above it
    rng = np.random.default_rng(3)
    values = _bptt3_values(rng)
    namespace: dict = {}
    exec(out.stdout, {"np": np, **values}, namespace)  # noqa: S102 - our own CLI's output
    got = namespace["dWaa"]
    # oracle: central differences of <da3, a3(Waa)> along random directions, float64
    for _ in range(3):
        direction = rng.normal(size=values["Waa"].shape)
        eps = 1e-6
        plus = _bptt3_forward(values, values["Waa"] + eps * direction)
        minus = _bptt3_forward(values, values["Waa"] - eps * direction)
        numeric = np.sum(values["da3"] * (plus - minus)) / (2 * eps)
        assert np.isclose(np.sum(got * direction), numeric, rtol=1e-6, atol=1e-8)


def test_program_format_names_the_result_by_command_and_json_carries_it():
    hess = run("hessian", "-sum(y * log(sigmoid(X @ w)) + (1 - y) * log(1 - sigmoid(X @ w)))",
               "--shapes", "X[n,d] w[d] y[n]", "--wrt", "w", "--format", "json")
    assert hess.returncode == 0, hess.stderr
    payload = json.loads(hess.stdout)
    lines = payload["program"].splitlines()
    assert lines[-1].startswith("H = ") and lines[0].startswith("s = ")
    assert payload["latex_where"].startswith("H = ") and r"\text{where}" in payload["latex_where"]
    rng = np.random.default_rng(4)
    X, w = rng.normal(size=(6, 3)), rng.normal(size=3)
    namespace: dict = {}
    exec(payload["program"], {"np": np, "X": X, "w": w, "y": rng.random(6)}, namespace)  # noqa: S102
    s = 1 / (1 + np.exp(-(X @ w)))
    assert np.allclose(namespace["H"], X.T @ np.diag(s * (1 - s)) @ X)  # PRML eq. 4.97
    diff = run("diff", "X @ W", "--shapes", "X[p,q] W[q,r]", "--wrt", "X", "--format", "program")
    assert diff.returncode == 0 and diff.stdout.startswith("F = ")
