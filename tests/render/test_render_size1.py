"""Size-1 axes in print: ``eval(to_numpy())`` keeps every declared ``1`` axis and keepdims result.

A hypothesis strategy writes random text over symbols with size-1 axes (a row ``r[1,n]``, a
column ``k[n,1]``, ``q[1,1]``, ``o[1]``) and the operations that make or remove them
(keepdims reductions, broadcasting, matmuls of rows and columns, transposes, sums over a
size-1 axis); for a derivative of it in a random symbol (diff, grad, vjp, jvp), the printed
forms -- ``to_numpy()``, ``to_program()`` -- evaluate to an array of the same shape and values
as ``evaluate()``.  The issue's reproductions (issue 13) run as examples.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import einderiv as ed

SHAPES = "c x[n] y[m] M[n,m] A[n,n] r[1,n] k[n,1] w[1,m] t[m,1] q[1,1] o[1]"
SIZES = {"n": 3, "m": 4}
SYMS = {s.name: s for s in ed.symbols(SHAPES)}
LEAVES: dict[tuple[str, ...], list[str]] = {}
for _sym in SYMS.values():
    LEAVES.setdefault(tuple(_sym.dims), []).append(_sym.name)
DIMS = sorted(LEAVES)

#: dims that broadcast to the key (numpy's rules), besides the key itself
BROADCAST = {
    ("1", "n"): [("n",), (), ("1", "1"), ("1",)],
    ("n", "1"): [(), ("1", "1"), ("1",)],
    ("1", "m"): [("m",), (), ("1", "1"), ("1",)],
    ("m", "1"): [(), ("1", "1")],
    ("n", "m"): [("m",), ("1", "m"), ("n", "1"), ()],
    ("n", "n"): [("n",), ("1", "n"), ("n", "1"), ()],
    ("1", "1"): [(), ("1",)],
    ("1",): [()],
    ("n",): [(), ("1",)],
    ("m",): [(), ("1",)],
    (): [],
}

#: (text template, argument dims) by result dims: each makes or removes a size-1 axis
MAKERS: dict[tuple[str, ...], list[tuple[str, tuple]]] = {
    (): [("sum({})", ("1", "n")), ("sum({})", ("n", "1")), ("sum({})", ("1",)),
         ("sum({})", ("1", "1")), ("({}) @ ({})", (("1",), ("1",)))],
    ("n",): [("sum({}, axis=0)", ("1", "n")), ("sum({}, axis=1)", ("n", "1")),
             ("mean({}, axis=-1)", ("n", "1")), ("({}) @ ({})", (("n", "1"), ("1",)))],
    ("m",): [("sum({}, axis=0)", ("1", "m")), ("({}) @ ({})", (("m", "1"), ("1",)))],
    ("1",): [("({}) @ ({})", (("1", "n"), ("n",))), ("({}) @ ({})", (("n",), ("n", "1"))),
             ("sum({}, axis=1)", ("1", "1")), ("sum({}, keepdims=True)", ("n",))],
    ("1", "n"): [("sum({}, axis=0, keepdims=True)", ("n", "n")), ("({}).T", ("n", "1")),
                 ("mean({}, axis=0, keepdims=True)", ("n", "n")),
                 ("logsumexp({}, axis=0, keepdims=True)", ("n", "n")),
                 ("({}) @ ({})", (("1", "n"), ("n", "n"))),
                 ("outer({}, {})", (("1",), ("n",))),
                 ("softmax({})", ("1", "n"))],
    ("n", "1"): [("sum({}, axis=1, keepdims=True)", ("n", "m")), ("({}).T", ("1", "n")),
                 ("({}) @ ({})", (("n", "m"), ("m", "1"))),
                 ("({}) @ ({})", (("n", "1"), ("1", "1"))),
                 ("logsumexp({}, axis=1, keepdims=True)", ("n", "m")),
                 ("softmax({}, axis=0)", ("n", "1"))],
    ("1", "m"): [("sum({}, axis=0, keepdims=True)", ("n", "m")), ("({}).T", ("m", "1")),
                 ("({}) @ ({})", (("1", "n"), ("n", "m")))],
    ("m", "1"): [("({}).T", ("1", "m")), ("({}) @ ({})", (("m", "1"), ("1", "1")))],
    ("1", "1"): [("sum({}, keepdims=True)", ("n", "m")), ("({}) @ ({})", (("1", "n"), ("n", "1"))),
                 ("sum({}, axis=1, keepdims=True)", ("1", "n")),
                 ("sum({}, axis=0, keepdims=True)", ("n", "1"))],
    ("n", "n"): [("({}) + ({})", (("n", "1"), ("1", "n"))),
                 ("({}) @ ({})", (("n", "1"), ("1", "n")))],
    ("n", "m"): [("({}) * ({})", (("n", "1"), ("1", "m"))),
                 ("({}) @ ({})", (("n", "1"), ("1", "m")))],
}

UNARY = ["tanh({})", "exp(0.5 * tanh({}))", "({}) ** 2", "sigmoid({})", "-({})", "({}) / 3",
         "sin({})"]


@st.composite
def expressions(draw, dims, depth):
    """Text of an expression of ``dims``, at most ``depth`` operations deep."""
    if depth == 0 or draw(st.integers(0, 4)) == 0:
        return draw(st.sampled_from(LEAVES[dims]))

    def sub(d=dims):
        return draw(expressions(d, depth - 1))

    options = ["unary", "add", "mul"] + (["make"] * 3 if dims in MAKERS else [])
    op = draw(st.sampled_from(options))
    if op == "unary":
        return draw(st.sampled_from(UNARY)).format(sub())
    if op in ("add", "mul"):
        other = draw(st.sampled_from([dims, *BROADCAST[dims]]))
        pair = [sub(), sub(other)]
        if draw(st.booleans()):
            pair.reverse()
        return f"({pair[0]}) {'+' if op == 'add' else '*'} ({pair[1]})"
    template, arg_dims = draw(st.sampled_from(MAKERS[dims]))
    if arg_dims and isinstance(arg_dims[0], tuple):
        return template.format(*(sub(d) for d in arg_dims))
    return template.format(sub(arg_dims))


def _shape(dims):
    return tuple(1 if d == "1" else SIZES[d] for d in dims)


def _values(seed: int, extra: dict[str, tuple[str, ...]]):
    rng = np.random.default_rng(seed)
    out = {name: rng.normal(size=_shape(sym.dims)) for name, sym in sorted(SYMS.items())}
    for name, dims in extra.items():
        out[name] = rng.normal(size=_shape(dims))
    return out


def _same(got, want, text):
    got = np.asarray(got, dtype=float)
    assert got.shape == want.shape, (got.shape, want.shape, text)
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-9, err_msg=text)


def check_printed(d: ed.Expr, values: dict) -> None:
    """``to_numpy`` and ``to_program`` evaluate like ``evaluate``: same shape, same values."""
    want = np.asarray(d.evaluate(values), dtype=float)
    assert want.shape == _shape(d.dims)
    text = d.to_numpy()
    _same(eval(text, {"np": np, **values}), want, text)  # noqa: S307 - the library's own text
    program = d.to_program("result")
    namespace: dict = {"np": np, **values}
    exec(program, namespace)  # noqa: S102 - the library's own text
    _same(namespace["result"], want, program)


def derivatives(f: ed.Expr, wrt: str):
    """(derivative, extra symbols' dims) for every kind that fits ``f``."""
    found = []
    if not f.dims:
        found.append((ed.grad(f, wrt), {}))
    else:
        found.append((ed.vjp(f, wrt, "g"), {"g": tuple(f.dims)}))
        found.append((ed.jvp(f, wrt, "V"), {"V": tuple(SYMS[wrt].dims)}))
    if len(f.dims) + len(SYMS[wrt].dims) <= 4:
        found.append((ed.diff(f, wrt), {}))
    return found


def check_text(text: str, wrt_index: int, seed: int = 0) -> None:
    f = ed.parse(text, shapes=SHAPES)
    names = sorted(f.symbols())
    check_printed(f, _values(seed, {}))
    if not names:
        return
    wrt = names[wrt_index % len(names)]
    for d, extra in derivatives(f, wrt):
        check_printed(d, _values(seed, extra))


ISSUE_13 = [
    # a sum of terms or a scalar factor lost the size-1 axis of a ('1', 'n') result
    ("sum(exp(S) * sum(exp(S)), axis=0, keepdims=True)", "S[n]", "diff", "S"),
    ("sum(b @ W * a)", "b[1,n] W[n,n] a", "grad", "b"),
    # `@` on a 0-d array
    ("sum(exp(sum(theta @ S, axis=0, keepdims=True) * M))", "theta[q,1] S[1,N] M", "grad", "M"),
    # .max(axis=1) on a 1-D array
    ("softmax(outer(A.sum(axis=0, keepdims=True), B))", "A[N] B[N]", "jvp", "B"),
]


@pytest.mark.parametrize(("text", "shapes", "kind", "wrt"), ISSUE_13)
def test_issue_13_size1_cases(text, shapes, kind, wrt):
    f = ed.parse(text, shapes=shapes)
    sizes = {"n": 3, "q": 5, "N": 4}
    syms = {s.name: s for s in ed.ir.inputs_of(f)}
    extra = {}
    if kind == "grad":
        d = ed.grad(f, wrt)
    elif kind == "diff":
        d = ed.diff(f, wrt)
    else:
        d = ed.jvp(f, wrt, "V")
        extra = {"V": tuple(syms[wrt].dims)}
    rng = np.random.default_rng(0)
    dims = {name: tuple(s.dims) for name, s in syms.items()} | extra
    values = {name: rng.normal(size=tuple(1 if x == "1" else sizes[x] for x in ds))
              for name, ds in dims.items()}
    want = np.asarray(d.evaluate(values), dtype=float)
    text = d.to_numpy()
    _same(eval(text, {"np": np, **values}), want, text)  # noqa: S307


@settings(deadline=None)
@example("sum(r, axis=0, keepdims=True) * sum(r)", 0)
@example("(x) * (r)", 0)
@example("sum((r) @ (A) * c)", 0)
@example("sum(k, axis=1)", 0)
@example("(q) * (c)", 0)
@given(st.sampled_from(DIMS).flatmap(lambda dims: expressions(dims, 3)), st.integers(0, 9))
def test_size1_axes_survive_printing(text, wrt_index):
    check_text(text, wrt_index)
