"""``ed.einsum`` follows ``np.einsum``'s rules in full: ``...``, implicit output, size-1
broadcasting, and the same invalid inputs (each a clear SubscriptError or ShapeError).

Random subscripts are checked against ``np.einsum`` at random values, with distinct sizes
for distinct dims (so a transposed axis cannot pass by luck).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import einderiv as ed
from einderiv.errors import ShapeError, SubscriptError
from einderiv.testing import check_derivative

LETTERS = "abcdAB"
LETTER_SIZE = {c: s for c, s in zip(LETTERS, (2, 3, 4, 5, 6, 7), strict=True)}
BATCH_SIZE = (8, 9)


@st.composite
def einsum_cases(draw):
    """(subscripts, dims per operand, sizes per dim): a valid einsum, possibly with '...'."""
    batch_len = draw(st.integers(0, 2))
    n_ops = draw(st.integers(1, 3))
    terms, operand_dims = [], []
    for _ in range(n_ops):
        letters = draw(st.lists(st.sampled_from(LETTERS), min_size=0, max_size=3))
        has_dots = batch_len > 0 and draw(st.booleans())
        span = draw(st.integers(0, batch_len)) if has_dots else 0
        at = draw(st.integers(0, len(letters))) if has_dots else 0
        ones = {c for c in set(letters) if draw(st.integers(0, 4)) == 0}  # size-1 labels
        dims = [("1" if c in ones else f"d{c}") for c in letters]
        batch = [("1" if draw(st.integers(0, 4)) == 0 else f"e{batch_len - span + k}")
                 for k in range(span)]
        tokens = list(letters)
        if has_dots:
            tokens.insert(at, "...")
            dims[at:at] = batch
        terms.append("".join(tokens))
        operand_dims.append(tuple(dims))
    if draw(st.booleans()):
        spec = ",".join(terms)
    else:
        used = sorted({c for t in terms for c in t if c.isalpha()})
        out = draw(st.permutations(used))
        out = list(out[: draw(st.integers(0, len(out)))])
        if any("..." in t for t in terms) or draw(st.booleans()):
            out.insert(draw(st.integers(0, len(out))), "...")
        spec = ",".join(terms) + "->" + "".join(out)
    return spec, operand_dims


def _sizes():
    sizes = {f"d{c}": s for c, s in LETTER_SIZE.items()}
    sizes.update({f"e{k}": s for k, s in enumerate(BATCH_SIZE)})
    sizes["1"] = 1
    return sizes


def _operands(operand_dims, seed=0):
    rng = np.random.default_rng(seed)
    sizes = _sizes()
    symbols, values = [], {}
    for k, dims in enumerate(operand_dims):
        name = f"X{k}"
        symbols.append(ed.Symbol.make(name, dims))
        values[name] = rng.normal(size=tuple(sizes[d] for d in dims))
    return symbols, values


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(einsum_cases())
def test_einsum_matches_numpy(case):
    spec, operand_dims = case
    symbols, values = _operands(operand_dims)
    arrays = [values[s.name] for s in symbols]
    try:
        want = np.einsum(spec, *arrays)
    except ValueError as err:  # the output forgot the '...' axes: numpy refuses too
        with pytest.raises(SubscriptError, match=r"'\.\.\.'"):
            ed.einsum(spec, *symbols)
        assert "'...'" in str(err)
        return
    got = ed.einsum(spec, *symbols)
    sizes = _sizes()
    assert tuple(sizes[d] for d in got.dims) == want.shape
    np.testing.assert_allclose(got.evaluate(values), want, rtol=1e-10, atol=1e-10)


def test_the_issues_examples():
    A, B = ed.symbols("A[b,n,k] B[b,k,m]")
    assert ed.einsum("...ij,...jk->...ik", A, B) == A @ B
    assert ed.einsum("...ij,...jk", A, B) == A @ B  # implicit output: '...' first
    x, y = ed.symbols("x[c,i,j] y[c,1,k]")
    e = ed.einsum("cij,cjk->cik", x, y)
    assert e.shape == ("c", "i", "k")
    rng = np.random.default_rng(0)
    values = {"x": rng.normal(size=(2, 3, 4)), "y": rng.normal(size=(2, 1, 5))}
    np.testing.assert_allclose(e.evaluate(values), np.einsum("cij,cjk->cik", *values.values()))
    check_derivative(e, "x", values=values)
    check_derivative(e, "y", values=values)


def test_ellipsis_broadcasts_and_implicit_output_puts_it_first():
    W, v = ed.symbols("W[n,m] v[m]")
    assert ed.einsum("...j,j", W, v) == W @ v
    assert ed.einsum("i...->...i", W) == W.T
    assert ed.einsum("...", W) == W
    assert ed.einsum("ij->...ij", W) == W  # an empty '...'
    B, C = ed.symbols("B[p,1,n,k] C[q,k,m]")
    assert ed.einsum("...ij,...jk", B, C).shape == ("p", "q", "n", "m")
    assert ed.einsum("Ba,aB", ed.symbols("P[n,m]"), ed.symbols("Q[m,n]")).shape == ()


def test_text_reads_the_same_einsum():
    text = "einsum('...ij,...jk->...ik', A, B)"
    A, B = ed.symbols("A[b,n,k] B[b,k,m]")
    assert ed.parse(text, shapes="A[b,n,k] B[b,k,m]") == A @ B
    e = ed.parse("einsum('cij,cjk->cik', x, y)", shapes="x[c,i,j] y[c,1,k]")
    assert e.shape == ("c", "i", "k")


@pytest.mark.parametrize(("spec", "dims", "error", "message"), [
    ("i.j->ij", [("n", "m")], SubscriptError, r"'\.' that is not part of an ellipsis"),
    ("......->", [("n", "m")], SubscriptError, r"more than one '\.\.\.'"),
    ("i..j", [("n", "m")], SubscriptError, r"'\.' that is not part of an ellipsis"),
    ("ij->i->j", [("n", "m")], SubscriptError, r"more than one '->'"),
    ("ij-", [("n", "m")], SubscriptError, r"stray '-'"),
    ("ij->ii", [("n", "m")], SubscriptError, r"output label 'i' is repeated"),
    ("ij->k", [("n", "m")], SubscriptError, r"output label 'k' does not appear"),
    ("ij,jk->ik", [("n", "m")], SubscriptError, r"2 input term\(s\) but 1 operand"),
    ("ijk->", [("n", "m")], SubscriptError, r"has rank 2 .* name 3 axes"),
    ("i", [("n", "m")], SubscriptError, r"has rank 2 .* name 1 axes \(use '\.\.\.'"),
    ("...ij", [("n",)], SubscriptError, r"name 2 axes besides the '\.\.\.'"),
    ("...ij->ij", [("b", "n", "m")], SubscriptError, r"the output has no '\.\.\.'"),
    ("i...->", [("n", "b", "m")], SubscriptError, r"the output has no '\.\.\.'"),
    ("...ij,...jk", [("p", "n", "m"), ("q", "m", "k")], ShapeError,
     r"'\.\.\.' axes do not broadcast: operand 0 has dim 'p' where operand 1 has dim 'q'"),
    ("ii->i", [("n", "1")], ShapeError, r"label 'i' is repeated in operand 0"),
    ("ij,jk", [("n", "m"), ("k", "p")], ShapeError, r"label 'j' is dim 'm' in operand 0"),
    ("i1,j->i", [("n", "m"), ("m",)], SubscriptError, r"invalid character '1'"),
])
def test_invalid_einsums_are_refused_as_numpy_refuses_them(spec, dims, error, message):
    sizes = {"n": 2, "m": 3, "k": 4, "p": 5, "q": 6, "b": 7, "1": 1}
    arrays = [np.ones(tuple(sizes[d] for d in ds)) for ds in dims]
    if spec != "i1,j->i":
        with pytest.raises(ValueError):
            np.einsum(spec, *arrays)
    symbols = [ed.Symbol.make(f"X{k}", ds) for k, ds in enumerate(dims)]
    with pytest.raises(error, match=message):
        ed.einsum(spec, *symbols)
