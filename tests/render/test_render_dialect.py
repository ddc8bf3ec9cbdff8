"""The printer's dialect (numpy, torch, jax spellings) is a parameter, not process state.

Two threads printing the same expression in different dialects at the same time each get
their own spelling; ``codegen(module="torch")`` still spells torch's functions.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import einderiv as ed
from einderiv.codewriter import codegen
from einderiv.render import numpytext
from einderiv.render.numpytext import to_text
from einderiv.render.tree import Call, Leaf


def _sigmoid_tree():
    return Call(1, "sigmoid", (Leaf(1, "x"),))


def test_to_text_takes_the_dialect_as_an_argument():
    tree = _sigmoid_tree()
    assert to_text(tree) == "1 / (1 + np.exp(-x))"
    assert to_text(tree, "torch") == "torch.sigmoid(x)"
    assert to_text(tree, "jax") == "1 / (1 + np.exp(-x))"  # jax has no entry: numpy's text
    assert to_text(tree) == "1 / (1 + np.exp(-x))"  # the torch call left nothing behind
    with pytest.raises(ValueError, match="dialect"):
        to_text(tree, "fortran")  # type: ignore[arg-type]


def test_the_printer_keeps_no_dialect_state():
    assert not hasattr(numpytext, "dialect")
    mutable = [n for n, v in vars(numpytext).items() if isinstance(v, list | dict | set)
               and not n.startswith("__") and n not in ("_NP_CALLS", "FUNCTIONS")]
    assert mutable == []


def test_threads_printing_different_dialects_each_get_their_own_spelling():
    W, x = ed.symbols("W[n,m] x[m]")
    e = ed.grad(ed.sum(ed.sigmoid(W @ x) + ed.relu(W @ x)), "W")
    expected = {m: codegen(e, module=m) for m in ("np", "torch")}
    assert "torch.sigmoid(" in expected["torch"] and "> 0) * 1.0" in expected["torch"]
    assert "sigmoid(" not in expected["np"] and "np.heaviside(" in expected["np"]
    rounds = 60
    barrier = threading.Barrier(4)
    seen: dict[str, list[str]] = {"np": [], "torch": []}
    errors: list[BaseException] = []

    def work(module: str, tree_too: bool) -> None:
        try:
            barrier.wait()
            tree = _sigmoid_tree()
            for _ in range(rounds):
                seen[module].append(codegen(e, module=module))
                if tree_too:
                    text = to_text(tree, "torch" if module == "torch" else "np")
                    want = "torch.sigmoid(x)" if module == "torch" else "1 / (1 + np.exp(-x))"
                    assert text == want, text
        except BaseException as exc:  # reported to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(m, t))
               for m in ("np", "torch") for t in (False, True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for module, sources in seen.items():
        assert len(sources) == 2 * rounds
        assert set(sources) == {expected[module]}


def test_torch_codegen_still_runs_and_matches_numpy():
    torch = pytest.importorskip("torch")
    W, x = ed.symbols("W[n,m] x[m]")
    e = ed.grad(ed.sum(ed.sigmoid(W @ x)), "W")
    rng = np.random.default_rng(0)
    vals = {"W": rng.normal(size=(3, 4)), "x": rng.normal(size=4)}
    scope: dict = {}
    exec(compile(codegen(e, module="torch"), "<codegen>", "exec"), scope)  # noqa: S102
    got = scope["f"](**{k: torch.tensor(v) for k, v in vals.items()}).numpy()
    np.testing.assert_allclose(got, e.evaluate(vals), atol=1e-12)


@pytest.mark.parametrize("module", ["torch", "jax.numpy"])
@pytest.mark.parametrize("axis", [0, 1])
def test_softmax_lines_run_in_every_dialect(module, axis):
    """The stable softmax lines (shifted exponential, normalized) in torch's and jax's spelling."""
    f = ed.parse(f"-sum(Y * log(softmax(Z, axis={axis})))", shapes="Z[n,c] Y[n,c]")
    e = ed.grad(f, "Z")
    rng = np.random.default_rng(1)
    vals = {"Z": 500.0 + rng.normal(size=(3, 4)), "Y": rng.normal(size=(3, 4))}
    scope: dict = {}
    exec(compile(codegen(e, module=module), "<codegen>", "exec"), scope)  # noqa: S102
    if module == "torch":
        torch = pytest.importorskip("torch")
        got = scope["f"](**{k: torch.tensor(v) for k, v in vals.items()}).numpy()
    else:
        jnp = pytest.importorskip("jax.numpy")
        got = np.asarray(scope["f"](**{k: jnp.asarray(v) for k, v in vals.items()}))
    tol = 1e-9 if module == "torch" else 1e-4  # jax computes in float32 by default
    np.testing.assert_allclose(got, e.evaluate(vals), rtol=tol, atol=tol)


def test_threads_rendering_at_once_leave_the_recursion_limit_as_it_was():
    """Rendering raises the interpreter's recursion limit in a block; threads overlapping
    those blocks must restore it (else later parses no longer stop at their nesting limit)."""
    import sys

    W, x = ed.symbols("W[n,m] x[m]")
    e = ed.grad(ed.sum(ed.tanh(W @ x)), "W")
    before = sys.getrecursionlimit()
    barrier = threading.Barrier(4)

    def work() -> None:
        barrier.wait()
        for _ in range(40):
            e.to_program("dW")
            e.to_numpy()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sys.getrecursionlimit() == before
    with pytest.raises(ed.ParseError, match="nested too deeply"):
        ed.parse("+".join(["x"] * 40_000), shapes="x[n]")
