"""Numbers print exactly and short: fractions, multiples of pi, square roots (issue 10.3).

Properties over random exact values (``p/q * sqrt(s)**±1 * pi**k``): the printed numpy text
evaluates to the value, parses back (``ed.parse`` reads ``np.pi``, ``np.sqrt(8)``) to the
same expression, is no longer than the float's ``repr``, and the LaTeX typesets in mathtext;
any other float keeps its exact ``repr``.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import einderiv as ed
from einderiv.render.numbers import exact, number_latex, number_plain, number_text

mathtext = pytest.importorskip("matplotlib.mathtext")

x = ed.symbols("x[n]")
VALUES = {"x": np.array([0.5, -1.25, 2.0])}


def _typesets(latex: str) -> None:
    mathtext.math_to_image(f"${latex}$", io.BytesIO(), format="png")


@pytest.mark.parametrize(("text", "numpy", "latex"), [
    ("x / np.sqrt(8)", "x / np.sqrt(8)", r"\frac{1}{\sqrt{8}} x"),
    ("x * np.sqrt(2) / 4", "x / np.sqrt(8)", r"\frac{1}{\sqrt{8}} x"),  # the same number
    ("np.pi * x", "np.pi * x", r"\pi x"),
    ("x / 3", "x / 3", r"\frac{1}{3} x"),
    ("2 * x / 3", "2 * x / 3", r"\frac{2}{3} x"),
    ("-x / 3", "-x / 3", r"-\frac{1}{3} x"),
    ("x / (2 * np.pi)", "x / (2 * np.pi)", r"\frac{1}{2 \pi} x"),
    ("x * np.pi / 4", "np.pi * x / 4", r"\frac{\pi}{4} x"),
    ("x - np.pi", "x - np.pi", r"x - \pi"),
    ("0.5 * x", "0.5 * x", "0.5 x"),
    ("0.1 * x", "0.1 * x", "0.1 x"),
    ("x ** (1 / 3)", "x**(1 / 3)", r"x^{\frac{1}{3}}"),
])
def test_known_numbers(text, numpy, latex):
    e = ed.parse(text, shapes="x[n]")
    assert e.to_numpy() == numpy
    assert e.to_latex() == latex
    _typesets(latex)


def test_attention_scale_prints_as_one_over_sqrt():
    Q, K = ed.symbols("Q[n,d] K[m,d]")
    s = Q @ K.T / math.sqrt(8)
    assert s.to_numpy() == "Q @ K.T / np.sqrt(8)"
    assert s.to_latex() == r"\frac{1}{\sqrt{8}} Q K^\top"


def test_index_form_numbers():
    e = ed.parse("x / 3 + np.pi * x * x", shapes="x[n]")
    assert "(1/3) x_a" in e.to_index() and "π " in e.to_index()
    assert number_plain(1 / (2 * math.pi)) == "1/(2·π)"


_ROOTS = [1, 2, 3, 5, 8, 12]


@st.composite
def exact_values(draw):
    p = draw(st.integers(1, 40))
    q = draw(st.integers(1, 40))
    root = draw(st.sampled_from(_ROOTS))
    up = draw(st.booleans())
    k = draw(st.sampled_from([0, 1, -1]))
    sign = draw(st.sampled_from([1, -1]))
    value = p / q * math.pi**k
    value = value * math.sqrt(root) if up else value / math.sqrt(root)
    return sign * value


def _check_number(value: float) -> None:
    e = value * x
    text = e.to_numpy()
    np.testing.assert_allclose(eval(text, {"np": np, **VALUES}), value * VALUES["x"],  # noqa: S307
                               rtol=1e-14)
    back = ed.parse(text, shapes="x[n]")
    np.testing.assert_allclose(back.evaluate(VALUES), e.evaluate(VALUES), rtol=1e-14)
    _typesets(e.to_latex())
    _typesets(number_latex(value))
    lone = ed.parse(f"x + {number_text(value)}", shapes="x[n]")
    np.testing.assert_allclose(lone.evaluate(VALUES), VALUES["x"] + value, rtol=1e-14)


@settings(max_examples=120, deadline=None)
@given(exact_values())
def test_exact_values_print_exactly(value):
    _check_number(value)
    assert exact(value) is not None or len(repr(abs(value))) <= 6 or value == int(value)


@settings(max_examples=120, deadline=None)
@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).filter(lambda v: v != 0))
def test_any_float_prints_to_its_value(value):
    _check_number(value)
