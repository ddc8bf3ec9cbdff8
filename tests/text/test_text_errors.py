"""ed.parse errors: message text, caret column and line for every kind of bad input."""

from __future__ import annotations

import pytest

import einderiv as ed
from einderiv.errors import EinderivError, ParseError, ShapeError, SubscriptError, SymbolError

SHAPES = {"W": "n m", "x": "m", "b": "n", "k": "k", "A": "n n", "c": "", "Wax": "n k"}

# (text, regex the message must match, caret column, line)
ERRORS = [
    # syntax
    ("W @", r"syntax error", 3, 1),
    ("W @ (x +", r"syntax error: '\(' was never closed", 4, 1),
    ("tanh(W @ x))", r"syntax error: unmatched '\)'", 11, 1),
    ("", r"the text is empty", None, None),
    ("   \n  ", r"the text is empty", None, None),
    ("# only a comment", r"the text is empty", None, None),
    # unknown names and functions
    ("Wx @ x", r"unknown name 'Wx'(.|\n)*did you mean 'W", 0, 1),
    ("W @ q", r"unknown name 'q'(.|\n)*declare it in shapes", 4, 1),
    ("tanh(W @ x + bb)", r"unknown name 'bb'(.|\n)*did you mean 'b'", 13, 1),
    ("tanhh(x)", r"unknown function 'tanhh'(.|\n)*did you mean 'tanh'", 0, 1),
    ("np.foo(x)", r"unknown function 'foo'", 0, 1),
    ("frobnicate(x)", r"unknown function 'frobnicate'(.|\n)*supported: abs", 0, 1),
    ("W(x)", r"'W' is a symbol, not a function", 0, 1),
    ("s = x\ns(x)", r"'s' is a symbol, not a function(.|\n)*explicitly", 0, 2),
    ("x + tanh", r"unknown name 'tanh'(.|\n)*is a function", 4, 1),
    ("np.tanh + x", r"'tanh' is a function; call it", 0, 1),
    # unsupported syntax
    ("x[0]", r"indexing and slicing", 0, 1),
    ("x.shape", r"attribute '.shape' is not supported", 2, 1),
    ("W.T.real", r"attribute '.real' is not supported", 4, 1),
    ("x.dot(x)", r"method '.dot\(...\)' is not supported", 2, 1),
    ("W.T()", r"'.T' is an attribute, not a method", 0, 1),
    ("x.sum", r"'.sum' is a method", 0, 1),
    ("lambda: x", r"lambda is not supported", 0, 1),
    ("[v for v in x]", r"comprehensions are not supported", 0, 1),
    ("x < b", r"comparisons are not supported", 0, 1),
    ("x and b", r"'and'/'or' are not supported", 0, 1),
    ("x if c else x", r"conditional expressions", 0, 1),
    ("x + 'a'", r"a string is only allowed as the first argument of einsum", 4, 1),
    ("x + True", r"'True' is not a number", 4, 1),
    ("x * 1j", r"complex numbers are not supported", 4, 1),
    ("x // 2", r"operator '//' is not supported", 2, 1),
    ("x % 2", r"operator '%' is not supported", 2, 1),
    ("~x", r"unary '~' is not supported", 0, 1),
    ("not x", r"unary 'not' is not supported", 0, 1),
    ("(x)(x)", r"'x' is a symbol, not a function", 1, 1),
    ("(W @ x)(x)", r"only named functions can be called", 0, 1),
    ("(x, x)", r"tuples are only allowed as axis", 0, 1),
    ("{x: 1}", r"dict literals are not supported", 0, 1),
    ("f'{x}'", r"f-strings are not supported", 0, 1),
    ("(y := x)", r"':=' is not supported", 1, 1),
    ("import os", r"'Import' statements are not supported", 0, 1),
    ("def f(): pass", r"'FunctionDef' statements are not supported", 0, 1),
    ("x: int = x", r"annotated assignments", 0, 1),
    ("a, d = x, x", r"only assignments to a single name", 0, 1),
    ("x.sum(**{})", r"'\*\*' unpacking is not supported", 6, 1),
    ("tanh(*x)", r"'\*' unpacking is not supported", 5, 1),
    ("__import__('os')", r"unknown function '__import__'", 0, 1),
    ("np.sum.__globals__", r"attribute '.__globals__' is not supported", 7, 1),
    # shapes
    ("W @ k", r"W @ k: '@' contracts(.|\n)*dim 'm'(.|\n)*dim 'k'(.|\n)*differ", 2, 1),
    ("tanh(W @ x) + x", r"tanh\(W @ x\) \+ x: operands of '\+' do not broadcast", 12, 1),
    ("x * b", r"x \* b: operands of '\*' do not broadcast(.|\n)*'m'(.|\n)*'n'", 2, 1),
    ("tanh(W @ x + b) @ W @ k", r"contracts(.|\n)*dim 'm'(.|\n)*dim 'k'", 20, 1),
    ("trace(W)", r"trace\(W\): trace needs a square matrix", 0, 1),
    ("inv(W)", r"inv needs a square matrix", 0, 1),
    ("det(x)", r"det needs a square matrix", 0, 1),
    ("outer(W, x)", r"outer needs two vectors", 0, 1),
    ("sum(x, axis=5)", r"axis 5 is out of range", 12, 1),
    ("sum(x, 5)", r"axis 5 is out of range", 7, 1),
    ("W.sum(axis=2)", r"axis 2 is out of range", 11, 1),
    ("W.mean(keepdims=True, axis=(0, 0))", r"repeated axis", 27, 1),
    ("W.transpose(0, 0)", r"not a permutation", 12, 1),
    ("transpose(W, (0, 2))", r"out of range", 13, 1),
    ("softmax(W, axis=-3)", r"axis -3 is out of range", 16, 1),
    ("logsumexp(x, axis=1)", r"axis 1 is out of range", 18, 1),
    ("softmax(c)", r"softmax needs an operand of rank >= 1", 0, 1),
    ("c @ x", r"'@' needs operands of rank >= 1", 2, 1),
    ("x @ 2", r"'@' needs two arrays", 2, 1),
    ("einsum('ij,j->i', W, k)", r"label 'j' is dim 'm'(.|\n)*dim 'k'", 0, 1),
    ("einsum('ij,jk->ik', W)", r"2 input term\(s\) but 1 operand", 7, 1),
    ("einsum('i....', x)", r"not part of an ellipsis", 7, 1),
    ("einsum(W, x)", r"first argument must be a string literal", 7, 1),
    ("einsum()", r"needs a subscripts string", 0, 1),
    ("einsum('i,i', x, x, out=x)", r"no keyword arguments", 20, 1),
    ("einsum('i,i', x, x, optimize=x)", r"no keyword arguments", 20, 1),
    # arity and keywords
    ("tanh(x, b)", r"tanh\(\) takes at most 1 argument", 8, 1),
    ("tanh()", r"tanh\(\) takes 1 array argument\(s\), got 0", 0, 1),
    ("outer(x)", r"outer\(\) takes 2 array argument", 0, 1),
    ("sum(W, axis=0, keepdims=True, out=W)", r"unexpected keyword argument 'out'", 30, 1),
    ("tanh(x, axis=0)", r"unexpected keyword argument 'axis'(.|\n)*none", 8, 1),
    ("sum(W, 0, axis=0)", r"got 'axis' twice", 10, 1),
    ("sum(W, axis=x)", r"axis= must be a literal integer", 12, 1),
    ("sum(W, axis=1.5)", r"axis= must be a literal integer", 12, 1),
    ("sum(W, axis=(0, (1,)))", r"nested tuples", 12, 1),
    ("sum(W, keepdims=1)", r"keepdims= must be True or False", 16, 1),
    ("softmax(W, axis='0')", r"axis= must be a literal", 16, 1),
    ("x.transpose(axes=0)", r"takes no keyword arguments", 12, 1),
    # exponents and constants
    ("x ** x", r"'\*\*' needs a constant exponent(.|\n)*exp\(y \* log\(x\)\)", 5, 1),
    ("2 ** x", r"'\*\*' needs a constant exponent(.|\n)*exp\(y \* log\(base\)\)", 5, 1),
    ("x ** sum(x)", r"constant exponent", 5, 1),
    ("x / 0", r"division by the constant 0", 2, 1),
    ("x * (1 / 0)", r"division by zero in a constant", 7, 1),
    ("x * 10.0 ** 400", r"constant is too large", 9, 1),
    ("x * (-8) ** 0.5", r"negative number to a fractional power", 9, 1),
    ("x * 1e999", r"number is not finite", 4, 1),
    # programs
    ("z = W @ x\nW = z\nW", r"cannot assign to 'W': it is declared in shapes", 0, 2),
    ("z = W @ x\nz @ k", r"z @ k: '@' contracts", 2, 2),
    ("W @ x\nL = sum(x)", r"this expression's value is not used", 0, 1),
    ("z = W @ x\n  z", r"syntax error: unexpected indent", None, 2),
    ("z = W @ x\nL = sum(tanh(zz))", r"unknown name 'zz'(.|\n)*did you mean 'z'", 13, 2),
    ("z = W @ x; L = q", r"unknown name 'q'", 15, 1),
    ("z = W @ x\nz += k", r"z \+= k|operands of '\+' do not broadcast", None, 2),
    ("z = x\nz //= 2", r"operator '//=' is not supported", 0, 2),
]


@pytest.mark.parametrize(("text", "pattern", "column", "line"), ERRORS, ids=[e[0] for e in ERRORS])
def test_error_table(text, pattern, column, line):
    with pytest.raises(ParseError, match=pattern) as info:
        ed.parse(text, shapes=SHAPES)
    err = info.value
    if column is not None:
        assert err.column == column, str(err)
        assert err.line == line, str(err)
        rendered = str(err).splitlines()
        source_line = text.splitlines()[line - 1]
        index = next(i for i, r in enumerate(rendered) if r.startswith("  " + source_line))
        assert rendered[index + 1] == "  " + " " * column + "^", str(err)


def test_error_count():
    assert len(ERRORS) >= 80


def test_caret_is_under_the_operator_and_message_names_dims():
    with pytest.raises(ParseError) as info:
        ed.parse("W @ x", shapes={"W": "n m", "x": "k"})
    text = str(info.value)
    assert text.splitlines()[0].startswith("W @ x: ")
    assert "dim 'm'" in text and "dim 'k'" in text
    assert text.splitlines()[1:3] == ["  W @ x", "    ^"]
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_shape_conflicts_keep_the_builder_error_as_context():
    # ed.verify tells shape conflicts (a verdict) from other parse errors (raised) this way
    with pytest.raises(ParseError) as info:
        ed.parse("W @ k", shapes=SHAPES)
    assert isinstance(info.value.__context__, ShapeError)
    with pytest.raises(ParseError) as info:
        ed.parse("einsum('ij,jk->ik', W)", shapes=SHAPES)
    assert isinstance(info.value.__context__, SubscriptError)
    with pytest.raises(ParseError) as info:
        ed.parse("W @ q", shapes=SHAPES)
    assert info.value.__context__ is None


def test_caret_column_counts_characters_not_bytes():
    # the full-width letter is 3 bytes in UTF-8 (ast's columns) and Python reads it as x
    with pytest.raises(ParseError, match="unknown name 'q'") as info:
        ed.parse("\uff58 + q", shapes=SHAPES)
    assert info.value.column == 4


def test_multiline_error_shows_the_line():
    text = "z = W @ x\na = tanh(z)\nL = sum(a * k)"
    with pytest.raises(ParseError, match="do not broadcast") as info:
        ed.parse(text, shapes=SHAPES)
    assert info.value.line == 3
    assert "  L = sum(a * k) (line 3)" in str(info.value)
    assert info.value.column == 10


def test_indented_program_columns_point_into_the_original_text():
    text = "\n    z = W @ x\n    L = sum(q)\n"
    with pytest.raises(ParseError, match="unknown name 'q'") as info:
        ed.parse(text, shapes=SHAPES)
    assert info.value.line == 3 and info.value.column == 12


def test_symbol_named_like_a_function():
    with pytest.raises(ParseError, match="rename the symbol to call it"):
        ed.parse("sum(x)", shapes={"sum": "n", "x": "n"})
    assert ed.parse("sum + x", shapes={"sum": "n", "x": "n"}).shape == ("n",)


def test_result_name_unknown():
    with pytest.raises(ParseError, match=r"result='zz' is not assigned(.|\n)*did you mean 'z'"):
        ed.parse("z = W @ x\nL = sum(z)", shapes=SHAPES, result="zz")


def test_non_string_inputs():
    with pytest.raises(ParseError, match="takes the expression as a string"):
        ed.parse(3)
    with pytest.raises(ParseError, match="result= must be a name"):
        ed.parse("x", shapes=SHAPES, result=3)


@pytest.mark.parametrize(
    ("shapes", "pattern"),
    [
        ({"W": "n m!"}, r"dimension name 'm!' is not an identifier"),
        ({"A": "n m:sym"}, r"':sym' needs a square matrix"),
        ({"2W": "n"}, r"symbol name '2W' is not an identifier"),
        ({"W": 3}, r"dims must be a string"),
        ({"W": ed.symbols("V[n]")}, r"key 'W' holds the symbol 'V'"),
        (["W"], r"shapes must be a dict"),
    ],
)
def test_bad_shapes(shapes, pattern):
    with pytest.raises(SymbolError, match=pattern):
        ed.parse("W", shapes=shapes)


def test_bad_spec_string():
    with pytest.raises(ParseError, match="cannot read symbol declaration"):
        ed.parse("W", shapes="W[n,m] !x")


def test_unknown_name_without_shapes():
    with pytest.raises(ParseError, match="unknown name 'W'"):
        ed.parse("W @ x")


# -- resource limits ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("x+" * 500_000 + "x", r"text is too long \(1000001 characters"),
        ("(" * 10_000 + "x" + ")" * 10_000, r"nested too deeply"),
        ("-" * 10_000 + "x", r"nested too deeply"),
        ("x" + ".T" * 10_000, r"nested too deeply"),
        ("tanh(" * 10_000 + "x" + ")" * 10_000, r"nested too deeply"),
        ("tanh(" * 150 + "x" + ")" * 150, r"nested too deeply"),
        ("[" * 10_000 + "]" * 10_000, r"nested too deeply"),
        ("x" + " ** 2" * 10_000, r"nested too deeply"),
        ("not " * 10_000 + "x", r"nested too deeply"),
        ("+".join(["x"] * 40_000), r"nested too deeply or is too long"),
        ("x\0", r"null bytes"),
        ("1" * 5000 + " * x", r"syntax error|cannot read"),
    ],
    ids=["1MB", "parens", "unary", "attribute", "calls", "calls150", "lists", "powers", "not",
         "sum40k", "null", "bigint"],
)
def test_resource_limits_fail_fast(text, pattern):
    """A clear error, not a crash (no timing asserted: the fuzz suite's workers bound time)."""
    with pytest.raises(EinderivError, match=pattern):
        ed.parse(text, shapes=SHAPES)


def test_deep_caller_stack_gives_parse_error():
    def nest(depth):
        return nest(depth - 1) if depth else ed.parse("tanh(" * 90 + "x" + ")" * 90, SHAPES)

    with pytest.raises(ParseError, match="nested too deeply"):
        nest(900)
