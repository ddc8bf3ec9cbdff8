"""Benchmark problems: each one an einderiv derivative, its hand-written numpy formula and a loss.

Contract: importing this module needs only numpy and einderiv (peers are imported lazily
in ``benchmarks/peers.py``).  A :class:`Problem` gives

* ``build()`` -- the einderiv derivative expression, built with the Python builders;
* ``data(size, seed)`` -- float64 arrays by symbol name (cotangent ``g`` for vjps);
* ``numpy(values)`` -- the formula a person would write by hand (the speed limit);
* ``fn(ops, *args)`` -- the primal function for autodiff peers, arguments in ``args``
  order (the differentiated one first), written against a small ops table so that jax,
  torch and autograd share one definition.

``tests/test_benchmarks.py`` checks that ``build()`` evaluates to ``numpy(values)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import einderiv as ed

Values = dict[str, np.ndarray]


@dataclass(frozen=True)
class Problem:
    """One benchmark problem (see the module docstring)."""

    name: str
    family: str
    kind: str  # "gradient" | "hessian" | "vjp"
    args: tuple[str, ...]  # primal arguments; args[0] is differentiated
    dims: Callable[[int], dict[str, int]]
    shapes: dict[str, str]  # symbol name -> dims spec, e.g. "n m"
    build: Callable[[], ed.Expr]
    numpy: Callable[[Values], np.ndarray]
    fn: Callable[..., Any]
    cotangent: str | None = None  # name of the cotangent array (vjp)
    sizes_full: tuple[int, ...] = (10, 100, 250, 500, 1000, 2000)
    sizes_quick: tuple[int, ...] = (10, 64)

    def data(self, size: int, seed: int = 0) -> Values:
        """Random float64 inputs of the problem's shapes at ``size``."""
        rng = np.random.default_rng(seed)
        dims = self.dims(size)
        dims["1"] = 1
        out: Values = {}
        for name, spec in self.shapes.items():
            shape = tuple(dims[d] for d in spec.split())
            out[name] = rng.standard_normal(shape) / np.sqrt(max(shape, default=1))
        if "y" in out and self.family == "logistic":
            out["y"] = np.where(rng.standard_normal(out["y"].shape) > 0, 1.0, -1.0)
        return out

    def dim_sizes(self, values: Values) -> dict[str, int]:
        """Sizes of every dim, read off ``values`` (a derivative may lose a symbol)."""
        sizes: dict[str, int] = {}
        for name, spec in self.shapes.items():
            for dim, n in zip(spec.split(), values[name].shape, strict=True):
                if dim != "1":
                    sizes[dim] = n
        return sizes

    def einderiv(self, values: Values) -> np.ndarray:
        """Evaluate ``build()`` with einderiv's compiled evaluator."""
        return ed.compile(self.build()).run(values, self.dim_sizes(values))


def _syms(shapes: dict[str, str]) -> dict[str, ed.Expr]:
    spec = " ".join(f"{name}[{','.join(d.split())}]" if d else name for name, d in shapes.items())
    found = ed.symbols(spec)
    found = found if isinstance(found, tuple) else (found,)
    return {s.name: s for s in found}


# -- quadratic form: f = x.T A x --------------------------------------------------------

_QUAD = {"x": "n", "A": "n n"}


def _quad_expr() -> ed.Expr:
    s = _syms(_QUAD)
    return s["x"] @ s["A"] @ s["x"]


def _quad_fn(ops: Any, x: Any, A: Any) -> Any:
    return x @ A @ x


# -- logistic regression: f = sum(softplus(-y * (X w))) -----------------------------------

_LOGI = {"w": "n", "X": "m n", "y": "m"}


def _logi_expr() -> ed.Expr:
    s = _syms(_LOGI)
    return ed.sum(ed.softplus(-s["y"] * (s["X"] @ s["w"])))


def _logi_fn(ops: Any, w: Any, X: Any, y: Any) -> Any:
    return ops.sum(ops.softplus(-y * (X @ w)))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * z) + 1.0)


def _logi_grad(v: Values) -> np.ndarray:
    X, y = v["X"], v["y"]
    s = _sigmoid(-y * (X @ v["w"]))
    return -(X.T @ (y * s))


def _logi_hess(v: Values) -> np.ndarray:
    X, y = v["X"], v["y"]
    s = _sigmoid(-y * (X @ v["w"]))
    d = s * (1.0 - s) * (y * y)
    return X.T @ (d[:, None] * X)


# -- least squares: f = ||X w - y||^2 ----------------------------------------------------

_LSQ = {"w": "n", "X": "m n", "y": "m"}


def _lsq_expr() -> ed.Expr:
    s = _syms(_LSQ)
    r = s["X"] @ s["w"] - s["y"]
    return ed.sum(r * r)


def _lsq_fn(ops: Any, w: Any, X: Any, y: Any) -> Any:
    r = X @ w - y
    return ops.sum(r * r)


# -- matrix factorization: f = ||T - U V.T||_F^2, Hessian in U as a 4-D tensor ----------------

_MF = {"U": "m k", "V": "n k", "T": "m n"}


def _mf_expr() -> ed.Expr:
    s = _syms(_MF)
    r = s["T"] - s["U"] @ s["V"].T
    return ed.sum(r * r)


def _mf_fn(ops: Any, U: Any, V: Any, T: Any) -> Any:
    r = T - U @ V.T
    return ops.sum(r * r)


def _mf_grad(v: Values) -> np.ndarray:
    U, V = v["U"], v["V"]
    return -2.0 * ((v["T"] - U @ V.T) @ V)


def _mf_hess(v: Values) -> np.ndarray:
    U, V = v["U"], v["V"]
    m, k = U.shape
    H = np.zeros((m, k, m, k))
    np.einsum("aiaj->aij", H)[...] = 2.0 * (V.T @ V)  # H[a,i,a,j] = 2 (V.T V)_ij
    return H


# -- RNN step: a = tanh(Waa a_prev + Wax x + ba), vjp in Waa -----------------------------------

_RNN = {
    "Waa": "n n",
    "Wax": "n k",
    "a_prev": "n b",
    "x": "k b",
    "ba": "n 1",
    "g": "n b",
}


def _rnn_expr() -> ed.Expr:
    s = _syms(_RNN)
    a = ed.tanh(s["Waa"] @ s["a_prev"] + s["Wax"] @ s["x"] + s["ba"])
    return ed.vjp(a, "Waa", s["g"])


def _rnn_fn(ops: Any, Waa: Any, Wax: Any, a_prev: Any, x: Any, ba: Any) -> Any:
    return ops.tanh(Waa @ a_prev + Wax @ x + ba)


def _rnn_vjp(v: Values) -> np.ndarray:
    a = np.tanh(v["Waa"] @ v["a_prev"] + v["Wax"] @ v["x"] + v["ba"])
    dz = v["g"] * (1.0 - a * a)
    return dz @ v["a_prev"].T


# -- MLP layer: h = tanh(X W + b), vjp in W ------------------------------------------------------

_MLP = {"W": "k n", "X": "b k", "bias": "n", "g": "b n"}


def _mlp_expr() -> ed.Expr:
    s = _syms(_MLP)
    h = ed.tanh(s["X"] @ s["W"] + s["bias"])
    return ed.vjp(h, "W", s["g"])


def _mlp_fn(ops: Any, W: Any, X: Any, bias: Any) -> Any:
    return ops.tanh(X @ W + bias)


def _mlp_vjp(v: Values) -> np.ndarray:
    h = np.tanh(v["X"] @ v["W"] + v["bias"])
    return v["X"].T @ (v["g"] * (1.0 - h * h))


def _square(size: int) -> dict[str, int]:
    return {"n": size, "m": size}


PROBLEMS: tuple[Problem, ...] = (
    Problem(
        "quadratic-grad", "quadratic", "gradient", ("x", "A"),
        lambda n: {"n": n}, _QUAD,
        lambda: ed.grad(_quad_expr(), "x"),
        lambda v: v["A"] @ v["x"] + v["x"] @ v["A"],
        _quad_fn,
    ),
    Problem(
        "quadratic-hessian", "quadratic", "hessian", ("x", "A"),
        lambda n: {"n": n}, _QUAD,
        lambda: ed.hessian(_quad_expr(), "x"),
        lambda v: v["A"] + v["A"].T,
        _quad_fn,
    ),
    Problem(
        "logistic-grad", "logistic", "gradient", ("w", "X", "y"),
        _square, _LOGI,
        lambda: ed.grad(_logi_expr(), "w"),
        _logi_grad,
        _logi_fn,
    ),
    Problem(
        "logistic-hessian", "logistic", "hessian", ("w", "X", "y"),
        _square, _LOGI,
        lambda: ed.hessian(_logi_expr(), "w"),
        _logi_hess,
        _logi_fn,
    ),
    Problem(
        "lsq-grad", "lsq", "gradient", ("w", "X", "y"),
        _square, _LSQ,
        lambda: ed.grad(_lsq_expr(), "w"),
        lambda v: 2.0 * (v["X"].T @ (v["X"] @ v["w"] - v["y"])),
        _lsq_fn,
    ),
    Problem(
        "lsq-hessian", "lsq", "hessian", ("w", "X", "y"),
        _square, _LSQ,
        lambda: ed.hessian(_lsq_expr(), "w"),
        lambda v: 2.0 * (v["X"].T @ v["X"]),
        _lsq_fn,
    ),
    Problem(
        "mf-grad", "mf", "gradient", ("U", "V", "T"),
        lambda n: {"m": n, "n": n, "k": 8}, _MF,
        lambda: ed.grad(_mf_expr(), "U"),
        _mf_grad,
        _mf_fn,
    ),
    Problem(
        "mf-hessian", "mf", "hessian", ("U", "V", "T"),
        lambda n: {"m": n, "n": n, "k": 4}, _MF,
        lambda: ed.hessian(_mf_expr(), "U"),
        _mf_hess,
        _mf_fn,
        sizes_full=(10, 100, 250, 500, 1000),
    ),
    Problem(
        "rnn-vjp", "rnn", "vjp", ("Waa", "Wax", "a_prev", "x", "ba"),
        lambda n: {"n": n, "k": n // 2, "b": 32}, _RNN,
        _rnn_expr,
        _rnn_vjp,
        _rnn_fn,
        cotangent="g",
    ),
    Problem(
        "mlp-vjp", "mlp", "vjp", ("W", "X", "bias"),
        lambda n: {"k": n, "n": n, "b": 64}, _MLP,
        _mlp_expr,
        _mlp_vjp,
        _mlp_fn,
        cotangent="g",
    ),
)

BY_NAME: dict[str, Problem] = {p.name: p for p in PROBLEMS}
