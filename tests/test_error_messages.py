"""Error messages of verify, explain, codegen, the derivative arguments and the CLI: each
names what is wrong (and where) and says how to fix it.

Each row is one bad input, the EinderivError class it raises, a pattern the message must
match for the problem and one for the fix.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import einderiv as ed
from einderiv.cli import main


def _f():
    return ed.parse("W @ x", shapes="W[n,m] x[m]")


def _b():
    return ed.tanh(ed.symbols("b[n]"))


ROWS = [
    # verify: the claim and its intermediates
    ("claim of a wrong type", lambda: ed.verify(3, _f(), "x", cotangent="g"),
     ed.EinderivError, r"claim must be text .* got int", r"such as 'W\.T @ g'"),
    ("empty claim", lambda: ed.verify("  ", _f(), "x", cotangent="g"),
     ed.EinderivError, r"the claim is empty", r"write a formula such as"),
    ("f as text without shapes", lambda: ed.verify("g", "W @ x", "x", cotangent="g"),
     ed.EinderivError, r"f is text", r"pass shapes=\.\.\."),
    ("where not a dict", lambda: ed.verify("g", _f(), "x", cotangent="g", where="dz=g"),
     ed.EinderivError, r"where must be a dict .* got str", r"such as \{'dz'"),
    ("where name not an identifier", lambda: ed.verify("g", _f(), "x", "g", {"d z": "g"}),
     ed.EinderivError, r"'d z' is not a valid name", r"use identifiers such as 'dz'"),
    ("where name is a symbol", lambda: ed.verify("g", _f(), "x", "g", {"W": "g"}),
     ed.EinderivError, r"'W' is already a symbol", r"give the intermediate a new name"),
    ("where value of a wrong type", lambda: ed.verify("dz", _f(), "x", "g", {"dz": 2}),
     ed.EinderivError, r"where\['dz'\] must be text .* got int", r"such as 'da \* \(1 - a\*\*2\)'"),
    ("where circular", lambda: ed.verify("dz", _f(), "x", "g", {"dz": "u", "u": "dz"}),
     ed.EinderivError, r"circular \(dz -> u -> dz\)", r"define 'dz' from the expression's"),
    ("where uses itself", lambda: ed.verify("dz", _f(), "x", "g", {"dz": "2 * dz"}),
     ed.EinderivError, r"uses 'dz' itself", r"give the new value a new name"),
    ("where syntax error", lambda: ed.verify("dz", _f(), "x", "g", {"dz": "g +"}),
     ed.ParseError, r"^where 'dz': syntax error", r"\^"),
    ("where unknown name", lambda: ed.verify("dz", _f(), "x", "g", {"dz": "g * qq"}),
     ed.ParseError, r"where 'dz': unknown name 'qq'", r"define it in where too"),
    ("claim program line not an assignment", lambda: ed.verify("g\nW.T @ g", _f(), "x", "g"),
     ed.EinderivError, r"claim line 'g' must be an assignment", r"'name = \.\.\.'"),
    ("claim program line unreadable", lambda: ed.verify("u = (\nW.T @ g", _f(), "x", "g"),
     ed.EinderivError, r"cannot read the claim line 'u = \('",
     r"every line but the last is an assignment"),
    ("claim names an undeclared cotangent", lambda: ed.verify("W.T @ g", _f(), "x"),
     ed.ParseError, r"unknown name 'g'", r"cotangent='g' \(CLI: --cotangent g\)"),
    ("claim uses a dim as a number", lambda: ed.verify(
        "x / m", ed.parse("sum(x**2)", shapes="x[m]"), "x"),
     ed.ParseError, r"unknown name 'm'", r"x\.shape\[0\]"),
    ("cotangent is an input", lambda: ed.verify("b", _b(), "b", cotangent="b"),
     ed.DerivativeError, r"cotangent 'b' is already an input", r"pick a new name, such as 'g'"),
    ("comparison too big to sample", lambda: ed.verify(
        "2 * g", ed.parse("x", shapes="x[" + ",".join(f"d{i}" for i in range(12)) + "]"),
        "x", cotangent="g"),
     ed.EinderivError, r"entries at the small sizes verify samples",
     r"check the formula on a smaller instance"),
    # the derivatives' arguments
    ("vjp cotangent is the input", lambda: ed.vjp(_b(), "b", "b"),
     ed.DerivativeError, r"cotangent 'b' is already an input .* would be that input itself",
     r"such as 'g' or 'db'"),
    ("jvp tangent is an input", lambda: ed.jvp(_b(), "b", "b"),
     ed.DerivativeError, r"tangent 'b' is already an input", r"such as 'V'"),
    ("cotangent is a keyword", lambda: ed.vjp(_f(), "x", "import"),
     ed.DerivativeError, r"cotangent name 'import' is a Python keyword",
     r"pick another name, such as 'g'"),
    ("tangent is a keyword", lambda: ed.jvp(_f(), "x", "lambda"),
     ed.DerivativeError, r"tangent name 'lambda' is a Python keyword", r"such as 'V'"),
    ("cotangent not an identifier", lambda: ed.vjp(_f(), "x", "d z"),
     ed.DerivativeError, r"cotangent name 'd z' is not an identifier", r"such as 'g'"),
    # explain
    ("explain kind jvp", lambda: ed.explain(_f(), "x", kind="jvp"),
     ed.EinderivError, r"kind must be one of 'grad', 'vjp', 'diff', 'hessian' .* got 'jvp'",
     r"kind='diff'"),
    ("explain kind of a wrong type", lambda: ed.explain(_f(), "x", kind=3),
     ed.EinderivError, r"kind must be one of .* got 3", r"or None to choose"),
    ("explain text of a wrong type", lambda: ed.explain(_f(), "x", text=3),
     ed.EinderivError, r"text is the user's text of f", r"\(a string\), got int"),
    ("explain cotangent of a wrong type", lambda: ed.explain(_f(), "x", cotangent=["g"]),
     ed.EinderivError, r"cotangent must be a name .* got list", r"such as 'g'"),
    # codegen
    ("codegen of text", lambda: ed.codegen("W @ x"),
     ed.EinderivError, r"expected an einderiv expression, got str",
     r"codegen\(ed\.parse\(text, shapes=\.\.\.\)\)"),
    ("codegen module list", lambda: ed.codegen(_f(), module=["np"]),
     ed.EinderivError, r"array module must be one of 'np', .* got \['np'\]", r"'torch'"),
    ("codegen name of a wrong type", lambda: ed.codegen(_f(), name=3),
     ed.EinderivError, r"function name must be a Python identifier .* got 3", r"such as 'f'"),
    ("codegen name is a keyword", lambda: ed.codegen(_f(), name="def"),
     ed.EinderivError, r"'def' is a Python keyword", r"such as 'def_'"),
    ("codegen name hides the module", lambda: ed.codegen(_f(), name="np"),
     ed.EinderivError, r"function name 'np' would hide the array module", r"rename it"),
    ("codegen symbol is a keyword", lambda: ed.codegen(ed.symbols("lambda[n]") * 2),
     ed.EinderivError, r"symbol 'lambda' is a Python keyword", r"rename the symbol"),
    ("codegen symbol hides the module", lambda: ed.codegen(ed.tanh(ed.symbols("np[n]"))),
     ed.EinderivError, r"symbol 'np' would hide the array module", r"rename it \(e\.g\. 'np_'\)"),
    # constants that are not finite
    ("overflowing constant in text", lambda: ed.parse("x / 2**-1074", shapes="x[n]"),
     ed.ParseError, r"the constant inf is not finite", r"rescale the expression"),
    ("infinite constant from Python", lambda: ed.symbols("x[n]") * math.inf,
     ed.ShapeError, r"the constant inf is not finite", r"rescale the expression"),
    ("nan constant from Python", lambda: ed.symbols("x[n]") * math.nan,
     ed.ShapeError, r"the constant nan is not finite", r"as a symbol's value"),
    ("infinite exponent from Python", lambda: ed.symbols("x[n]") ** math.inf,
     ed.ShapeError, r"the constant inf is not finite \(the exponent", r"rescale"),
    # evaluate and compile: values that do not fit the declarations
    ("value of the wrong rank", lambda: _f().evaluate({"W": np.ones((2, 3)), "x": np.ones((3, 1))}),
     ed.EvaluationError, r"symbol 'x' has dims \['m'\] \(rank 1\) but its value has shape",
     r"reshape it"),
    ("value not size 1 where declared", lambda: ed.parse("x + b", shapes="x[n,m] b[n,1]").evaluate(
        {"x": np.ones((2, 3)), "b": np.ones((2, 3))}),
     ed.EvaluationError, r"axis 1 is declared size 1", r"pass a value with size 1 on that axis"),
    ("two sizes for one dim", lambda: _f().evaluate({"W": np.ones((2, 3)), "x": np.ones(4)}),
     ed.EvaluationError, r"dim 'm' has size 3 from 'W' axis 1 but size 4",
     r"pass values that agree"),
    ("compile of a non-expression", lambda: ed.compile("W @ x"),
     ed.EvaluationError, r"compile expects an einderiv expression, got str", r"ed\.parse\(text"),
]


@pytest.mark.parametrize(("call", "error", "problem", "fix"), [r[1:] for r in ROWS],
                         ids=[r[0] for r in ROWS])
def test_message_names_the_problem_and_a_fix(call, error, problem, fix):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert re.search(problem, message), message
    assert re.search(fix, message), message


CLI_ROWS = [
    ("where without =", ["verify", "g", "W @ x", "--shapes", "W[n,m] x[m]", "--wrt", "x",
                         "--cotangent", "g", "--where", "dz"],
     r"--where 'dz'", r"write NAME=EXPRESSION, e\.g\."),
    ("unknown name", ["grad", "x @ q", "--shapes", "x[n]", "--wrt", "x"],
     r"unknown name 'q'\n  x @ q\n      \^", r"declare it in shapes"),
    ("cotangent clash", ["vjp", "tanh(b)", "--shapes", "b[n]", "--wrt", "b", "--cotangent", "b"],
     r"cotangent 'b' is already an input", r"pick a new name"),
    ("past 52 indices", ["diff", "x * x", "--shapes",
                         "x[" + ",".join(f"d{i}" for i in range(60)) + "]", "--wrt", "x"],
     r"more than 52 indices", r"use to_index\(\)"),
]


@pytest.mark.parametrize(("argv", "problem", "fix"), [r[1:] for r in CLI_ROWS],
                         ids=[r[0] for r in CLI_ROWS])
def test_cli_message_names_the_problem_and_a_fix(argv, problem, fix, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("einderiv: error: ")
    assert re.search(problem, err), err
    assert re.search(fix, err), err
