"""Bad input: each malformed call raises a specific EinderivError naming problem and place.

Nothing else may escape -- no KeyError, IndexError, TypeError or numpy error from
user input.
"""

from __future__ import annotations

import numpy as np
import pytest

import einderiv as ed
from einderiv.errors import (
    DerivativeError,
    EinderivError,
    EvaluationError,
    ParseError,
    ShapeError,
    SubscriptError,
    SymbolError,
)

W, x, A, X, b, c, ba = ed.symbols("W[n,m] x[m] A[n,n] X[n,m] b[n] c ba[n,1]")
V23, V3 = np.zeros((2, 3)), np.zeros(3)

# (id, call, error class, regex the message must match)
BAD = [
    # einsum subscripts
    ("bad-char", lambda: ed.einsum("i1,j->i", W, x), SubscriptError,
     r"invalid character '1' at column 1"),
    ("ellipsis-not-in-output", lambda: ed.einsum("...j,j->", W, x), SubscriptError,
     r"the output has no '\.\.\.'"),
    ("two-arrows", lambda: ed.einsum("ij,j->i->i", W, x), SubscriptError, r"more than one '->'"),
    ("stray-dash", lambda: ed.einsum("ij,j-i", W, x), SubscriptError, r"stray '-'"),
    ("operand-count", lambda: ed.einsum("ij,j->i", W), SubscriptError,
     r"'ij,j->i': 2 input term\(s\) but 1 operand"),
    ("rank-mismatch", lambda: ed.einsum("ijk,j->i", W, x), SubscriptError,
     r"operand 0 has rank 2 \(dims \['n', 'm'\]\) but its subscripts 'ijk' name 3 axes"),
    ("label-dim-conflict", lambda: ed.einsum("ij,i->j", W, x), ShapeError,
     r"label 'i' is dim 'n' in operand 0 \(axis 0\) but dim 'm' in operand 1 \(axis 0\)"),
    ("output-label-missing", lambda: ed.einsum("ij,j->k", W, x), SubscriptError,
     r"output label 'k' does not appear in any input"),
    ("output-label-repeated", lambda: ed.einsum("ij,j->ii", W, x), SubscriptError,
     r"output label 'i' is repeated"),
    ("comma-in-output", lambda: ed.einsum("ij,j->i,", W, x), SubscriptError,
     r"the output \(after '->'\) has a ','"),
    ("subscripts-not-str", lambda: ed.einsum(3, W), SubscriptError, r"must be a string"),
    ("einsum-numpy-operand", lambda: ed.einsum("ij->i", np.zeros((2, 2))), ShapeError,
     r"einsum operand 0: expected an einderiv expression or a number, got ndarray"),
    # derivatives
    ("grad-non-scalar", lambda: ed.grad(W @ x, "x"), DerivativeError,
     r"grad needs a scalar expression, but this one has dims \['n'\]"),
    ("hessian-non-scalar", lambda: ed.hessian(W @ x, "x"), DerivativeError,
     r"hessian needs a scalar expression.*dims \['n'\]"),
    ("unknown-wrt", lambda: ed.diff(W @ x, "q"), DerivativeError,
     r"with respect to 'q'.*its symbols: W, x"),
    ("wrt-wrong-type", lambda: ed.vjp(W @ x, 3, "g"), DerivativeError,
     r"wrt must be a symbol or a symbol's name, got int"),
    ("wrt-symbol-dims-clash", lambda: ed.diff(W @ x, ed.ir.Symbol.make("x", ("k",))),
     DerivativeError, r"wrt symbol 'x' has dims \['k'\] but the expression's 'x' has dims \['m'\]"),
    ("cotangent-name-clash", lambda: ed.vjp(W @ x, "x", "W"), DerivativeError,
     r"cotangent 'W' must have dims \['n'\].*already has a symbol 'W' with dims \['n', 'm'\]"),
    ("tangent-name-clash", lambda: ed.jvp(W @ x, "x", "W"), DerivativeError,
     r"tangent 'W' must have dims \['m'\].*symbol 'W' with dims \['n', 'm'\]"),
    ("cotangent-bad-name", lambda: ed.vjp(W @ x, "x", "1g"), DerivativeError,
     r"cotangent name '1g' is not an identifier"),
    ("cotangent-expr-dims", lambda: ed.vjp(W @ x, "x", x), DerivativeError,
     r"cotangent has dims \['m'\] but must have dims \['n'\]"),
    ("cotangent-wrong-type", lambda: ed.vjp(W @ x, "x", 3), DerivativeError,
     r"cotangent must be a name or an expression, got int"),
    ("diff-of-array", lambda: ed.diff(np.zeros(3), "x"), DerivativeError,
     r"expected an einderiv expression.*got ndarray"),
    ("grad-of-int", lambda: ed.grad(3, "x"), DerivativeError, r"got int"),
    # values at evaluation
    ("value-wrong-rank", lambda: (W @ x).evaluate({"W": V23, "x": np.zeros((3, 1))}),
     EvaluationError, r"symbol 'x' has dims \['m'\] \(rank 1\) but its value has shape \(3, 1\)"),
    ("value-missing", lambda: (W @ x).evaluate({"W": V23}), EvaluationError,
     r"missing value for 'x' \(dims \['m'\]\)"),
    ("dim-size-disagrees", lambda: (X + W).evaluate({"W": V23, "X": np.zeros((2, 4))}),
     EvaluationError, r"dim 'm' has size 3 from 'W' axis 1 but size 4 from 'X' axis 1"),
    ("matmul-values-disagree", lambda: (W @ x).evaluate({"W": V23, "x": np.zeros(4)}),
     EvaluationError, r"dim 'm' has size 3 from 'W' axis 1 but size 4 from 'x' axis 0"),
    ("size-one-axis-wrong", lambda: (X + ba).evaluate({"X": V23, "ba": np.zeros((2, 2))}),
     EvaluationError, r"symbol 'ba' axis 1 is declared size 1 but the value has size 2"),
    ("value-strings", lambda: (W @ x).evaluate({"W": [["a", "b", "c"]], "x": V3}),
     EvaluationError, r"value for 'W' must be real numbers"),
    ("value-complex", lambda: (W @ x).evaluate({"W": V23 + 1j, "x": V3}), EvaluationError,
     r"value for 'W' must be real numbers, got dtype complex"),
    ("value-none", lambda: (W @ x).evaluate({"W": None, "x": V3}), EvaluationError,
     r"value for 'W' must be real numbers"),
    ("value-ragged", lambda: (W @ x).evaluate({"W": [[1, 2], [3]], "x": V3}), EvaluationError,
     r"value for 'W' is not an array"),
    ("values-not-a-dict", lambda: (W @ x).evaluate([1, 2]), EvaluationError,
     r"values must be a dict.*got list"),
    ("compiled-values-not-a-dict", lambda: ed.compile(W @ x)([1, 2]), EvaluationError,
     r"values must be a dict.*got list"),
    ("sizes-not-int", lambda: (W @ x).evaluate({"W": V23, "x": V3}, sizes={"n": "a"}),
     EvaluationError, r"sizes=\{'n': 'a'\}: a dim size must be a non-negative integer"),
    ("sizes-conflict", lambda: (W @ x).evaluate({"W": V23, "x": V3}, sizes={"n": 5}),
     EvaluationError, r"dim 'n' has size 5 from sizes= but size 2 from 'W' axis 0"),
    ("size-unknown", lambda: ed.sum(ed.ir.Delta.make("q")).evaluate({}), EvaluationError,
     r"size of dim 'q' is unknown.*sizes=\{'q'"),
    ("symmetric-value-not-symmetric",
     lambda: ed.symbols("S[n,n]:sym").evaluate({"S": np.arange(4.0).reshape(2, 2)}),
     EvaluationError, r"symbol 'S' is declared symmetric but its value is not"),
    ("singular-inverse", lambda: ed.inv(A).evaluate({"A": np.zeros((2, 2))}), EvaluationError,
     r"inv of a singular matrix"),
    ("compile-non-expr", lambda: ed.compile(3), EvaluationError,
     r"compile expects an einderiv expression, got int"),
    # operators and builders
    ("matmul-dim-mismatch", lambda: W @ W, ShapeError,
     r"'@' contracts the left operand's last axis \(dim 'm'.*second-to-last axis \(dim 'n'"),
    ("matmul-scalar", lambda: W @ c, ShapeError, r"'@' needs operands of rank >= 1"),
    ("broadcast-failure", lambda: W + b, ShapeError,
     r"operands of '\+' do not broadcast: axis -1 is dim 'm' on the left.*dim 'n' on the right"),
    ("broadcast-failure-mul", lambda: W * ba.T, ShapeError,
     r"operands of '\*' do not broadcast: axis -1 is dim 'm'.*dims \['1', 'n'\]"),
    ("non-constant-exponent", lambda: W**x, ShapeError, r"'\*\*' needs a constant exponent"),
    ("complex-exponent", lambda: W**1j, ShapeError, r"real number exponent, got complex"),
    ("string-operand", lambda: W + "x", ShapeError,
     r"right operand of '\+': expected an einderiv expression or a number, got str"),
    ("array-operand", lambda: W * np.zeros((2, 3)), ShapeError,
     r"right operand of '\*'.*got ndarray"),
    ("division-by-zero", lambda: W / 0, ShapeError, r"division by the constant 0"),
    ("inv-non-square", lambda: ed.inv(W), ShapeError,
     r"inv needs a square matrix.*got dims \['n', 'm'\]"),
    ("det-non-square", lambda: ed.det(W), ShapeError, r"det needs a square matrix"),
    ("logdet-vector", lambda: ed.logdet(x), ShapeError, r"logdet needs a square matrix"),
    ("trace-non-square", lambda: ed.trace(W), ShapeError,
     r"trace needs a square matrix.*\['n', 'm'\]"),
    ("diag-rank-3", lambda: ed.diag(ed.einsum("ij,k->ijk", W, x)), ShapeError,
     r"diag needs a square matrix"),
    ("outer-of-matrix", lambda: ed.outer(W, x), ShapeError, r"outer needs two vectors"),
    ("softmax-scalar", lambda: ed.softmax(c), ShapeError, r"softmax needs an operand of rank"),
    ("sum-axis-out-of-range", lambda: ed.sum(W, axis=2), ShapeError,
     r"sum: axis 2 is out of range for an operand of rank 2"),
    ("sum-axis-float", lambda: ed.sum(W, axis=1.5), ShapeError,
     r"sum: axis must be an integer"),
    ("sum-axis-repeated", lambda: ed.sum(W, axis=(0, 0)), ShapeError, r"sum: repeated axis"),
    ("mean-axis-out-of-range", lambda: ed.mean(W, axis=-3), ShapeError, r"mean: axis -3"),
    ("logsumexp-axis", lambda: ed.logsumexp(W, axis=5), ShapeError, r"logsumexp: axis 5"),
    ("transpose-not-permutation", lambda: ed.transpose(W, (0, 0)), ShapeError,
     r"transpose: axes \[0, 0\] are not a permutation of 2 axes"),
    ("tanh-of-list", lambda: ed.tanh([1, 2]), ShapeError, r"tanh operand: expected"),
    # symbol declarations
    ("symbols-unclosed", lambda: ed.symbols("W[n,m"), ParseError,
     r"cannot read symbol declaration"),
    ("symbols-empty-dim", lambda: ed.symbols("W[n,,m]"), SymbolError,
     r"symbol 'W': empty dimension name"),
    ("symbols-numeric-dim", lambda: ed.symbols("W[n,2]"), SymbolError,
     r"symbol 'W': dimension name '2' is not an identifier or 1"),
    ("symbols-declared-twice", lambda: ed.symbols("W[n] W[m]"), SymbolError,
     r"symbol 'W' is declared twice"),
    ("symbols-sym-not-square", lambda: ed.symbols("A[n,m]:sym"), SymbolError,
     r"symbol 'A': ':sym' needs a square matrix"),
    ("symbols-empty", lambda: ed.symbols(""), SymbolError, r"symbols\(\) got no names"),
    ("symbols-not-str", lambda: ed.symbols(3), SymbolError, r"takes a string.*got int"),
    ("symbols-junk", lambda: ed.symbols("W[n] + x"), ParseError,
     r"cannot read symbol declaration\n  W\[n\] \+ x\n       \^"),
]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [pytest.param(call, err, msg, id=name) for name, call, err, msg in BAD],
)
def test_bad_input_raises_specific_error(call, error, message):
    assert issubclass(error, EinderivError) and error is not EinderivError
    with pytest.raises(error, match=message):
        call()


def test_table_is_large_enough():
    assert len(BAD) >= 20


def test_parse_error_shows_caret():
    with pytest.raises(ParseError) as info:
        ed.symbols("W[n,m] x[m] ?")
    assert info.value.column == 12
    assert str(info.value).splitlines()[2] == "  " + " " * 12 + "^"
