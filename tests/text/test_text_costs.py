"""Parsing programs costs O(length), and names used more than once stay nodes (issue 13).

Every check is on structure and size (node counts, lines), never on time.
"""

from __future__ import annotations

import ast

import numpy as np
import pytest

import einderiv as ed
from einderiv.ir.nodes import topological
from einderiv.text.parser import shared_bindings


def _size(e) -> int:
    return len(topological(e))


def _program(line: str, steps: int, first: str = "h = x", last: str = "sum(h)") -> str:
    return "\n".join([first] + [line] * steps + [last])


def test_a_thousand_line_program_is_linear():
    shapes = "W[n,n] x[n]"
    small = ed.parse(_program("h = W @ h", 500, last="h"), shapes=shapes)
    large = ed.parse(_program("h = W @ h", 1000, last="h"), shapes=shapes)
    assert _size(large) <= 2.2 * _size(small)


def test_a_name_used_twice_is_one_node():
    """``h = (W @ h) * h`` used to copy h twice per line (exponential, then budgeted)."""
    shapes = "W[n,n] x[n]"
    small = ed.parse(_program("h = (W @ h) * h", 20), shapes=shapes)
    large = ed.parse(_program("h = (W @ h) * h", 40), shapes=shapes)
    assert _size(large) <= 2.2 * _size(small)
    assert large.to_program("L").count("\n") <= 2.2 * small.to_program("L").count("\n")
    g_small, g_large = ed.grad(small, "x"), ed.grad(large, "x")
    assert _size(g_large) <= 2.2 * _size(g_small)


def test_a_name_used_twice_evaluates_like_numpy():
    rng = np.random.default_rng(1)
    W, x = rng.normal(size=(3, 3)) / 3, rng.normal(size=3)
    h = x
    for _ in range(6):
        h = (W @ h) * h
    f = ed.parse(_program("h = (W @ h) * h", 6), shapes="W[n,n] x[n]")
    np.testing.assert_allclose(f.evaluate({"W": W, "x": x}), h.sum(), rtol=1e-10)


def test_a_small_product_used_twice_is_still_inlined():
    """``mu = mean(X)`` stays visible to the algebra: ``sum(X - mu)`` is zero."""
    f = ed.parse("mu = mean(x); d = x - mu; sum(d) + sum(d * mu)", shapes="x[n]")
    assert ed.simplify(f) == ed.simplify(ed.parse("sum((x - mean(x)) * mean(x))",
                                                  shapes="x[n]"))


@pytest.mark.parametrize("text, result, expected", [
    ("h = x; h = h * h; h", None, {(0, "h")}),
    ("z = x; y = z; z", None, {(0, "z")}),
    ("z = x; y = z; y", "z", {(0, "z")}),
    ("h = x; h += h; h", None, {(0, "h")}),
    ("h = x; h = W @ h; h", None, set()),
    ("z = tanh(x); sum(z)", None, set()),
    ("A: 0", None, set()),
])
def test_shared_bindings(text, result, expected):
    body = ast.parse(text.replace("; ", "\n")).body
    assert shared_bindings(body, result, set()) == expected


def test_shared_bindings_of_given_names():
    body = ast.parse("sum(z * z)").body
    assert shared_bindings(body, None, {"z"}) == {(-1, "z")}
