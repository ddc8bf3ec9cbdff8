"""einderiv.testing: check_derivative (order 2, points outside a domain) and check_render."""

from __future__ import annotations

import numpy as np
import pytest

import einderiv as ed
from einderiv.testing import check_derivative, check_render


@pytest.mark.parametrize(("text", "shapes", "wrt"), [
    ("sum(softplus(-y * (X @ w)))", "X[n,d] w[d] y[n]", "w"),
    ("tanh(W @ x)", "W[n,m] x[m]", "W"),
    ("x @ A @ x", "x[n] A[n,n]", "x"),
    ("logsumexp(z)", "z[c]", "z"),
])
def test_order_2_checks_second_derivatives(text, shapes, wrt):
    f = ed.parse(text, shapes=shapes)
    report = check_derivative(f, wrt, order=2)
    assert {"forward 2", "reverse 2", "full 2"} <= set(report)
    for symbolic, numeric in report.values():
        assert abs(symbolic - numeric) <= 1e-4 * max(1.0, abs(numeric))
    # the second-order forward check is the Hessian along the direction, twice
    if not f.dims:
        assert report["forward 2"] != report["forward"]


def test_order_must_be_1_or_2():
    x = ed.symbols("x[n]")
    with pytest.raises(ed.EinderivError, match="order is 1 .* or 2"):
        check_derivative(ed.sum(x), "x", order=3)


def test_a_point_outside_the_domain_is_never_a_pass():
    x = ed.symbols("x[n]")
    with pytest.raises(AssertionError, match=r"the function is not finite at the point checked "
                                             r"\(2 of 3 entries .*outside the domain of log; "
                                             r"nothing was checked"):
        check_derivative(ed.log(x), "x", values={"x": [-1.0, -2.0, 3.0]})
    # finite at the point, but a central difference steps over the edge of sqrt's domain
    with pytest.raises(AssertionError, match="the central difference is not finite.*sqrt"):
        check_derivative(ed.sum(ed.sqrt(x)), "x", values={"x": [1e-9, 1.0, 2.0]}, step=1e-6)
    with pytest.raises(AssertionError, match="overflows or divides by zero"):
        check_derivative(ed.sum(1 / x), "x", values={"x": [0.0, 1.0, 2.0]})
    report = check_derivative(ed.sum(ed.log(x)), "x", values={"x": [1.0, 2.0, 3.0]})
    assert np.isfinite(report["forward"]).all()


def test_check_render_on_readable_forms():
    f = ed.parse("z = W @ x + b; a = tanh(z); L = sum(a * a)", shapes="W[n,m] x[m] b[n]")
    for e in (ed.grad(f, "W"), ed.hessian(ed.parse("sum(softplus(-y * (X @ w)))",
                                                   shapes="X[n,d] w[d] y[n]"), "w"),
              ed.diff(ed.parse("X @ W", shapes="X[p,q] W[q,r]"), "X")):
        errors = check_render(e)
        assert set(errors) == {"numpy", "program", "einsum"}
        assert max(errors.values()) < 1e-9


def test_check_render_catches_a_wrong_printer(monkeypatch):
    W, x = ed.symbols("W[n,m] x[m]")
    e = ed.vjp(W @ x, "x", "g")
    monkeypatch.setattr(ed.Expr, "to_numpy", lambda self: "W.T @ (2 * g)")
    with pytest.raises(AssertionError, match=r"to_numpy\(\) of .* disagrees with evaluate"):
        check_render(e)
