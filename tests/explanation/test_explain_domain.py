"""explain's numeric check where the function is not finite at standard-normal values:
it samples inside the domain, or says in the output why the check was not completed --
never an AssertionError (issue 13)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import einderiv as ed
from einderiv.sampling import domain_ranges, numeric_check, ranges_note

ROOT = Path(__file__).resolve().parents[2]


def _check_section(markdown: str) -> str:
    return markdown.split("## Numeric check", 1)[1]


@pytest.mark.parametrize(("text", "drawn"), [
    ("sum(sqrt(x))", "x uniform in [0.3, 2.7]"),  # directly: inside the registry's domain
    ("sum(log(x) * y)", "x uniform in [0.3, 2.7]"),
    ("sum(x ** 1.5) + sum(y)", "x uniform in [0.3, 2.7]"),
    ("sum(sqrt(x + y))", "x and y uniform in [0.5, 1.5]"),  # deeper: small and positive
    ("sum(log1p(W @ x))", "W and x uniform in [0.5, 1.5]"),
])
def test_explain_samples_inside_the_domain(text, drawn):
    f = ed.parse(text, shapes="x[n] y[n] W[n,n]")
    section = _check_section(ed.explain(f, "x"))
    assert f"{drawn}, inside the domain of" in section
    assert "symbolically and" in section and "nan" not in section


def test_finite_functions_keep_their_standard_normal_check():
    f = ed.parse("sum(tanh(W @ x))", shapes="W[n,m] x[m]")
    section = _check_section(ed.explain(f, "W"))
    assert "uniform" not in section and "At random values (sizes n=3, m=4)" in section


def test_a_check_that_cannot_pass_is_a_note_not_an_exception():
    f = ed.parse("sum(log(x - 5))", shapes="x[n]")
    section = _check_section(ed.explain(f, "x"))
    assert section.strip().startswith("Not completed: the numeric check did not pass")
    assert "x uniform in [0.5, 1.5], inside the domain of log" in section


def test_domain_ranges_follow_the_restricted_arguments():
    f = ed.parse("sum(sqrt(W @ x)) + sum(tanh(y))", shapes="W[n,m] x[m] y[n]")
    assert domain_ranges(f) == {"W": (0.5, 1.5), "x": (0.5, 1.5)}
    assert ranges_note(f) == "W and x uniform in [0.5, 1.5], inside the domain of sqrt"
    assert domain_ranges(ed.parse("sum(x ** 2)", shapes="x[n]")) == {}


def test_numeric_check_reports_instead_of_raising():
    result = numeric_check(ed.parse("sum(sqrt(x))", shapes="x[n]"), "x")
    assert result.ok and result.report["forward"][0] == pytest.approx(result.report["forward"][1])
    bad = numeric_check(ed.parse("sum(log(x - 5))", shapes="x[n]"), "x")
    assert not bad.ok and bad.report is None and "not finite" in bad.note


def test_cli_explain_of_sqrt_exits_0():
    out = subprocess.run(
        [sys.executable, "-m", "einderiv", "explain", "sum(sqrt(x))", "--shapes", "x[n]",
         "--wrt", "x"], capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert "## Numeric check" in out.stdout and out.stderr == ""
