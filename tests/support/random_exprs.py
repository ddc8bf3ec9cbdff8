"""Seeded random expressions shared by the property tests.

``random_expr`` draws an einsum network over matrices and vectors with distinct sizes per
dim (n, m, k), sometimes under tanh or as a difference of two networks; ``random_network``
draws one with rank-3 stacks (dims a..e), returning it with its shapes text.

>>> import random
>>> e = random_expr(random.Random(0))
>>> set(e.symbols()) <= {s.name for s in ALL}
True
"""

from __future__ import annotations

import random

import einderiv as ed

A, B, C, u, v, w, s = ed.symbols("A[n,n] B[n,m] C[m,k] u[n] v[m] w[k] s")
OPERANDS = [A, B, C, u, v, w, s, A.T, ed.tanh(B), ed.exp(u), B @ v, u @ B, A @ B, C.T @ v]
ALL = [A, B, C, u, v, w, s]
LETTERS = {"n": "abg", "m": "cd", "k": "ef"}


def random_einsum(rng: random.Random) -> ed.Expr:
    ops = [rng.choice(OPERANDS) for _ in range(rng.randint(1, 4))]
    subs = ["".join(rng.choice(LETTERS[d]) for d in op.dims) for op in ops]
    used = sorted({c for sub in subs for c in sub})
    rng.shuffle(used)
    out = "".join(used[: rng.randint(0, min(2, len(used)))])
    return ed.einsum(",".join(subs) + "->" + out, *ops)


def random_expr(rng: random.Random) -> ed.Expr:
    e = random_einsum(rng)
    roll = rng.random()
    if roll < 0.2:
        e = ed.tanh(e)
    elif roll < 0.4:
        other = random_einsum(rng)
        for _ in range(20):
            if other.dims == e.dims:
                return e - 2 * other
            other = random_einsum(rng)
    return e


STACK_OPERANDS = {"T": "abc", "U": "abc", "R": "cab", "M": "bc", "N": "cd", "v": "c", "w": "a"}


def random_network(rng: random.Random) -> tuple[ed.Expr, str]:
    shapes = "T[a,b,c] U[a,b,c] R[c,a,b] M[b,c] N[c,d] v[c] w[a]"
    syms = {s.name: s for s in ed.symbols(shapes)}
    names = [rng.choice(sorted(STACK_OPERANDS)) for _ in range(rng.randint(1, 3))]
    if not any(len(STACK_OPERANDS[n]) == 3 for n in names):
        names[0] = rng.choice(["T", "U", "R"])
    subs = [STACK_OPERANDS[n] for n in names]
    used = sorted({c for sub in subs for c in sub})
    rng.shuffle(used)
    out = "".join(used[: rng.randint(0, min(3, len(used)))])
    return ed.einsum(",".join(subs) + "->" + out, *(syms[n] for n in names)), shapes
