"""Derivatives cost O(work): depth, program length, repeated derivatives (issue 13).

Every check is on structure and size (node counts, lines), never on time.
"""

from __future__ import annotations

import einderiv as ed
from einderiv.ir.nodes import topological

RNN2 = "h1 = tanh(A @ h0 + W @ x); h2 = tanh(A @ h1 + W @ x); sum(h2)"
RNN2_SHAPES = "A[n,n] W[n,k] h0[n] x[k]"


def _size(e) -> int:
    return len(topological(e))


def _rnn(steps: int):
    lines = ["h = h0"] + ["h = tanh(W @ h + U @ x)"] * steps + ["L = sum(h * y)"]
    return ed.parse("\n".join(lines), shapes="W[n,n] U[n,k] h0[n,m] x[k,m] y[n,m]")


def test_a_deep_composition_has_a_linear_gradient():
    x = ed.symbols("x[n]")

    def gradient(depth):
        h = x
        for _ in range(depth):
            h = ed.tanh(h)
        return ed.grad(ed.sum(h), "x")

    assert _size(gradient(400)) <= 2.2 * _size(gradient(200))


def test_bptt_gradient_and_its_program_are_linear():
    small, large = ed.grad(_rnn(100), "W"), ed.grad(_rnn(200), "W")
    assert _size(large) <= 2.2 * _size(small)
    lines = [g.to_program("dW").count("\n") for g in (small, large)]
    assert lines[1] <= 2.2 * lines[0]


def test_repeated_derivatives_do_not_copy_output_deltas():
    """The fourth derivative of a 2-step RNN in its square weight (297 nodes before)."""
    e = ed.grad(ed.parse(RNN2, shapes=RNN2_SHAPES), "A")
    sizes = [_size(e)]
    for _ in range(3):
        e = ed.diff(e, "A")
        sizes.append(_size(e))
    assert sizes[-1] <= 250, sizes
