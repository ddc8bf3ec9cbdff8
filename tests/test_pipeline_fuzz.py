"""End-to-end property: random numpy-like text goes through the whole pipeline.

A hypothesis strategy writes random well-typed text over declared symbols with distinct
sizes (n = 3, m = 4): ``@``, ``.T``, ``+ - *``, ``/`` by constants and positive
expressions, ``** 2``/``** 3``, smooth elementwise functions (``log``/``sqrt`` only of
positive forms such as ``1 + e * e``), reductions with ``axis``/``keepdims``, ``trace``,
``diag``, ``outer``, ``softmax``, ``logsumexp``, einsum strings, ``inv``/``det``/``logdet``
of ``M @ M.T + diag(1 + v * v)`` (eigenvalues >= 1), and broadcasting with ``b[n,1]``.
For each expression and each symbol it contains:

* ``ed.parse`` evaluates to what numpy gives for the same text (numpy is the oracle);
* the derivative (grad for a scalar, else vjp with a cotangent ``g`` and jvp with a tangent
  ``V``) matches central differences (``check_derivative``);
* ``to_numpy()`` evaluates with ``eval`` to ``evaluate()``, as do ``to_einsum()`` and the
  source from ``ed.codegen``; ``to_latex()`` is accepted by matplotlib's mathtext;
  ``to_index()`` renders;
* ``ed.verify`` accepts the renderer's own form and rejects twice it;
* ``ed.explain`` writes Markdown.

The number of random examples comes from the hypothesis profile of ``tests/conftest.py``
(30 in CI and locally, plus the regression examples below);
``FUZZ_EXAMPLES=5000 pytest tests/test_pipeline_fuzz.py`` runs a longer hunt.
"""

from __future__ import annotations

import inspect
import io

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import einderiv as ed
from einderiv.testing import check_derivative

mathtext = pytest.importorskip("matplotlib.mathtext")

SHAPES = "A[n,n] S[n,n]:sym B[n,m] C[m,n] x[n] z[n] y[m] b[n,1] c"
SIZES = {"n": 3, "m": 4}
SYMS = {s.name: s for s in ed.symbols(SHAPES)}
LEAVES = {
    (): ["c"],
    ("n",): ["x", "z"],
    ("m",): ["y"],
    ("n", "n"): ["A", "S"],
    ("n", "m"): ["B"],
    ("m", "n"): ["C"],
    ("n", "1"): ["b"],
}
ROUND = [(), ("n",), ("m",), ("n", "n"), ("n", "m"), ("m", "n")]


def _softmax(a, axis=-1):
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _logsumexp(a, axis=None, keepdims=False):
    mx = np.max(a, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(a - mx), axis=axis, keepdims=True)) + mx
    return out if keepdims else np.squeeze(out, axis=axis)


ORACLE = {
    "np": np, "tanh": np.tanh, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
    "sin": np.sin, "cos": np.cos, "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
    "softplus": lambda a: np.logaddexp(0, a), "sum": np.sum, "mean": np.mean,
    "trace": np.trace, "diag": np.diag, "outer": np.outer, "einsum": np.einsum,
    "softmax": _softmax, "logsumexp": _logsumexp, "inv": np.linalg.inv,
    "det": np.linalg.det, "logdet": lambda a: np.linalg.slogdet(a)[1],
    "arctan": np.arctan, "cosh": np.cosh, "logaddexp": np.logaddexp,
}

UNARY = [
    "tanh({})", "sin({})", "sigmoid({})", "softplus({})", "exp(0.5 * tanh({}))",
    "log(1 + ({0}) * ({0}))", "sqrt(1 + ({0}) * ({0}))", "({}) ** 2", "({}) ** 3",
    "exp(-({0}) ** 2)", "({}) / 2", "-({})", "1.5 * ({})",
    "arctan({})", "cosh(tanh({}))", "logaddexp({0}, 0.5 * ({0}))",
]


@st.composite
def expressions(draw, dims, depth):
    """Text of an expression of ``dims`` with at most ``depth`` nested operations."""
    if depth == 0 or draw(st.integers(0, 5)) == 0:
        return draw(st.sampled_from(LEAVES[dims]))

    def sub(d=dims):
        return draw(expressions(d, depth - 1))

    def pd():  # well-conditioned symmetric positive definite n x n
        kind = draw(st.sampled_from(["nn", "nm"]))
        m = draw(expressions(("n", "n") if kind == "nn" else ("n", "m"), min(depth - 1, 1)))
        v = draw(expressions(("n",), min(depth - 1, 1)))
        return f"({m}) @ ({m}).T + diag(1 + ({v}) * ({v}))"

    options = ["unary", "add", "sub", "mul", "divpos"]
    if dims == ():
        options += ["trace", "sumall", "meanall", "dot", "quad", "det", "logdet", "lse",
                    "einsum-frob", "norm2"]
    if dims == ("n",):
        options += ["matvec", "matvec2", "rowsum", "diag", "softmax", "lse-axis", "einsum-mv",
                    "solve", "vecmat"]
    if dims == ("m",):
        options += ["matvec-m", "colsum", "vecmat-m"]
    if dims == ("n", "m"):
        options += ["matmul", "transpose", "bias", "rowvec", "outer", "softmax-ax",
                    "keepdims", "einsum-mm", "scale-vec"]
    if dims == ("m", "n"):
        options += ["transpose", "matmul-mn", "keepdims-col"]
    if dims == ("n", "n"):
        options += ["matmul-nn", "gram", "transpose", "outer-nn", "diag-mat", "inv",
                    "bias-nn", "einsum-nn"]
    op = draw(st.sampled_from(options))
    if op == "unary":
        return draw(st.sampled_from(UNARY)).format(sub())
    if op == "add":
        return f"{sub()} + {sub()}"
    if op == "sub":
        return f"{sub()} - ({sub()})"
    if op == "mul":
        return f"({sub()}) * ({sub()})"
    if op == "divpos":
        return f"({sub()}) / (2 + sin({sub()}))"
    if op == "trace":
        return f"trace({sub(('n', 'n'))})"
    if op == "sumall":
        return f"sum({sub(draw(st.sampled_from(ROUND)))})"
    if op == "meanall":
        return f"mean({sub(draw(st.sampled_from(ROUND)))})"
    if op == "dot":
        d = draw(st.sampled_from([("n",), ("m",)]))
        return f"({sub(d)}) @ ({sub(d)})"
    if op == "quad":
        return f"({sub(('n',))}) @ ({sub(('n', 'n'))}) @ ({sub(('n',))})"
    if op == "det":
        return f"det({pd()}) / 10"
    if op == "logdet":
        return f"logdet({pd()})"
    if op == "lse":
        return f"logsumexp({sub(draw(st.sampled_from(ROUND[1:])))})"
    if op == "einsum-frob":
        return f"einsum('ij,ij->', {sub(('n', 'm'))}, {sub(('n', 'm'))})"
    if op == "norm2":
        return f"sum(({sub(('n', 'm'))}) ** 2)"
    if op == "matvec":
        return f"({sub(('n', 'n'))}) @ ({sub(('n',))})"
    if op == "matvec2":
        return f"({sub(('n', 'm'))}) @ ({sub(('m',))})"
    if op == "vecmat":
        return f"({sub(('m',))}) @ ({sub(('m', 'n'))})"
    if op == "rowsum":
        return draw(st.sampled_from([
            "sum({}, axis=1)", "mean({}, axis=1)", "({}).sum(axis=1)", "sum({}, axis=-1)",
        ])).format(sub(("n", "m")))
    if op == "diag":
        return f"diag({sub(('n', 'n'))})"
    if op == "softmax":
        return f"softmax({sub()})"
    if op == "lse-axis":
        return f"logsumexp({sub(('n', 'm'))}, axis=1)"
    if op == "einsum-mv":
        return f"einsum('ij,j->i', {sub(('n', 'm'))}, {sub(('m',))})"
    if op == "solve":
        return f"inv({pd()}) @ ({sub()})"
    if op == "matvec-m":
        return f"({sub(('m', 'n'))}) @ ({sub(('n',))})"
    if op == "colsum":
        return draw(st.sampled_from(["sum({}, axis=0)", "mean({}, axis=0)"])).format(
            sub(("n", "m")))
    if op == "vecmat-m":
        return f"({sub(('n',))}) @ ({sub(('n', 'm'))})"
    if op == "matmul":
        return f"({sub(('n', 'n'))}) @ ({sub(('n', 'm'))})"
    if op == "transpose":
        return f"({sub(tuple(reversed(dims)))}).T"
    if op == "bias":
        return f"({sub()}) + b"
    if op == "rowvec":
        return f"({sub()}) * ({sub(('m',))})"
    if op == "outer":
        return f"outer({sub(('n',))}, {sub(('m',))})"
    if op == "softmax-ax":
        return draw(st.sampled_from(["softmax({})", "softmax({}, axis=0)"])).format(sub())
    if op == "keepdims":
        return draw(st.sampled_from([
            "({0}) - sum({0}, axis=0, keepdims=True)",
            "({0}) - mean({0}, axis=1, keepdims=True)",
            "({0}) - logsumexp({0}, axis=1, keepdims=True)",
        ])).format(sub())
    if op == "einsum-mm":
        return f"einsum('ik,kj->ij', {sub(('n', 'n'))}, {sub(('n', 'm'))})"
    if op == "scale-vec":
        return f"({sub()}) / 3"
    if op == "matmul-mn":
        return f"({sub(('m', 'n'))}) @ ({sub(('n', 'n'))})"
    if op == "keepdims-col":
        return f"({sub()}) * sum({sub(('m', 'n'))}, axis=1, keepdims=True)"
    if op == "matmul-nn":
        return f"({sub(('n', 'n'))}) @ ({sub(('n', 'n'))})"
    if op == "gram":
        return f"({sub(('n', 'm'))}) @ ({sub(('m', 'n'))})"
    if op == "outer-nn":
        return f"outer({sub(('n',))}, {sub(('n',))})"
    if op == "diag-mat":
        return f"diag({sub(('n',))})"
    if op == "inv":
        return f"inv({pd()})"
    if op == "bias-nn":
        return f"({sub()}) - b"
    if op == "einsum-nn":
        return f"einsum('ij,kj->ik', {sub(('n', 'm'))}, {sub(('n', 'm'))})"
    raise AssertionError(op)


def _values(names, seed):
    rng = np.random.default_rng(seed)
    out = {}
    for name in sorted(names):
        sym = SYMS[name] if name in SYMS else None
        dims = sym.dims
        value = rng.normal(size=tuple(1 if d == "1" else SIZES[d] for d in dims))
        if sym.symmetric:
            value = (value + value.T) / 2
        out[name] = value
    return out


def _close(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)


def _check_rendering(d: ed.Expr, values: dict) -> None:
    want = d.evaluate(values)
    text = d.to_numpy()
    _close(eval(text, {"np": np, **values}), want)  # noqa: S307 - the test's own oracle
    einsum_text = d.to_einsum()
    _close(eval(einsum_text, {"np": np, **values}), want)  # noqa: S307
    d.to_index()
    latex = d.to_latex()
    mathtext.math_to_image(f"${latex}$", io.BytesIO(), format="png")
    source = ed.codegen(d)
    namespace: dict = {}
    exec(source, namespace)  # noqa: S102 - generated by the library under test
    fn = next(v for k, v in namespace.items() if k == "f")
    params = inspect.signature(fn).parameters
    _close(fn(**{k: values[k] for k in params}), want)


def check_pipeline(text: str, wrt_index: int, seed: int = 0) -> None:
    f = ed.parse(text, shapes=SHAPES)
    values = _values(SYMS, seed)
    _close(f.evaluate(values), eval(text, {**ORACLE, **values}))  # noqa: S307
    names = sorted(f.symbols())
    if not names:  # simplified to a constant, e.g. "c - (c)"
        return
    wrt = names[wrt_index % len(names)]
    check_derivative(f, wrt, sizes=SIZES, seed=seed)
    rng = np.random.default_rng(seed + 1)
    fshape = tuple(1 if d == "1" else SIZES[d] for d in f.dims)
    wshape = tuple(1 if d == "1" else SIZES[d] for d in SYMS[wrt].dims)
    g = rng.normal(size=fshape)
    tangent = rng.normal(size=wshape)
    if SYMS[wrt].symmetric:
        tangent = (tangent + tangent.T) / 2
    point = {**values, "g": g, "V": tangent}
    if f.dims:
        cotangent = "g"
        d = ed.vjp(f, wrt, "g")
        _check_rendering(ed.jvp(f, wrt, "V"), point)
    else:
        cotangent = None
        d = ed.grad(f, wrt)
    _check_rendering(d, point)
    claim = d.to_numpy()
    verdict = ed.verify(claim, f, wrt, cotangent)
    assert verdict.ok, (claim, verdict.message)
    if np.max(np.abs(d.evaluate(point))) > 1e-6:
        wrong = ed.verify(f"2 * ({claim})", f, wrt, cotangent)
        assert not wrong.ok, (claim, wrong.message)
    md = ed.explain(f, wrt, cotangent)
    assert isinstance(md, str) and md.strip()


# the number of examples comes from the hypothesis profile (tests/conftest.py): bounded in
# CI and locally, FUZZ_EXAMPLES=5000 (the "hunt" profile) for a long search
@settings(deadline=None)
# regressions found by this fuzzer
@example("sum(y)", 0)  # codegen: the function takes y for y.shape[0]
@example("sum(B / (2 + sin(B)) + b, axis=-1)", 7)  # evaluate: a Size node's dim m
@example("((A - S) - b) @ ((B * B) / 3)", 4)  # LaTeX: {B^\top}^{2}
@example("diag(softmax(x))", 6)  # verify: the stable logsumexp form reads back
@example("tanh(diag(B @ C))", 6)  # verify: g[:, None] reads back
@example("sum(B, axis=-1)", 7)  # verify: np.ones(y.shape[0]) reads back
@example("sum(A)", 0)  # verify: sizes may name a declared symbol outside f
@example("c - (c)", 0)  # simplifies to a constant
@given(
    st.sampled_from(ROUND).flatmap(lambda dims: expressions(dims, 3)),
    st.integers(0, 7),
)
def test_pipeline_end_to_end(text, wrt_index):
    check_pipeline(text, wrt_index)
