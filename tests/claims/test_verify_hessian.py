"""verify of a claimed Hessian: the derivative of the gradient, mistakes named."""

from __future__ import annotations

import subprocess
import sys

import pytest

import einderiv as ed


def test_a_right_hessian_holds():
    f = ed.parse("sum(softplus(-y * (X @ w)))", shapes="X[n,d] w[d] y[n]")
    v = ed.verify("X.T @ ((s * (1 - s) * y**2)[:, None] * X)", f, "w", hessian=True,
                  where={"s": "sigmoid(-y * (X @ w))"})
    assert v.ok and v.expected_shape == ("d", "d")
    assert v.message.startswith("Correct: H = ")


def test_a_wrong_hessian_names_its_mistake():
    f = ed.parse("x @ A @ x", shapes="x[n] A[n,n]")
    v = ed.verify("2 * A", f, "x", hessian=True)
    assert not v.ok and v.mistakes == ("assumes symmetric",)
    assert "Correct: H = A + A.T" in v.message
    v = ed.verify("-(A + A.T)", f, "x", hessian=True)
    assert not v.ok and "wrong sign" in v.mistakes
    v = ed.verify("A @ x", f, "x", hessian=True)  # the gradient's shape, not the Hessian's
    assert not v.ok and v.mistakes[0] == "shape mismatch" and "(n, n)" in v.message


def test_a_hessian_takes_no_cotangent_and_needs_a_scalar():
    f = ed.parse("x @ A @ x", shapes="x[n] A[n,n]")
    with pytest.raises(ed.EinderivError, match="takes no cotangent"):
        ed.verify("A + A.T", f, "x", cotangent="g", hessian=True)
    with pytest.raises(ed.EinderivError, match="scalar"):
        ed.verify("A", ed.parse("A @ x", shapes="x[n] A[n,n]"), "x", hessian=True)


def test_cli_verify_hessian():
    out = subprocess.run(
        [sys.executable, "-m", "einderiv", "verify", "2 * A", "x @ A @ x", "--shapes",
         "x[n] A[n,n]", "--wrt", "x", "--hessian"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stderr
    assert "Correct: H = A + A.T" in out.stdout and "symmetric" in out.stdout
    good = subprocess.run(
        [sys.executable, "-m", "einderiv", "verify", "A + A.T", "x @ A @ x", "--shapes",
         "x[n] A[n,n]", "--wrt", "x", "--hessian"], capture_output=True, text=True, timeout=120)
    assert good.returncode == 0, good.stderr
