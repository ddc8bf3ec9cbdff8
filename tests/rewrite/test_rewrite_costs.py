"""Products of products stay a DAG: building a chain costs O(length) (issue 13).

Every check is on structure and size (node counts, factors per product), never on time.
"""

from __future__ import annotations

import numpy as np

import einderiv as ed
from einderiv.ir.nodes import Delta, Product, topological
from einderiv.rewrite.terms import MAX_FACTORS, make_product


def _size(e) -> int:
    return len(topological(e))


def _widest(e) -> int:
    return max((len(n.factors) for n in topological(e) if isinstance(n, Product)), default=0)


def _chain(links: int):
    return ed.parse("x" + " @ W.T @ W" * links, shapes={"x": "m", "W": "n m"})


def test_a_long_matmul_chain_is_a_product_of_products():
    small, large = _chain(100), _chain(200)
    assert _widest(large) <= MAX_FACTORS
    assert _size(large) <= 2.2 * _size(small)
    assert len(repr(large)) <= 2.2 * len(repr(small))


def test_a_chain_evaluates_like_numpy():
    rng = np.random.default_rng(0)
    W, x = rng.normal(size=(3, 4)) / 2, rng.normal(size=4)
    expected = x
    for _ in range(30):
        expected = expected @ W.T @ W
    got = _chain(30).evaluate({"W": W, "x": x})
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_short_chains_are_still_one_term():
    A, B, C, x = ed.symbols("A[n,n] B[n,n] C[n,n] x[n]")
    chain = (A @ B) @ (C @ x)
    assert isinstance(chain, Product) and len(chain.factors) == 4
    assert chain == A @ (B @ (C @ x))


def test_a_delta_meets_its_contraction_past_the_budget():
    """Over the budget the deltas of a product factor are still inlined (and eliminated)."""
    x = ed.symbols("x[n]")
    d = Delta.make("n")
    labels = [(x, (0,)) for _ in range(MAX_FACTORS + 2)]
    wide = make_product(1.0, [*labels, (d, (0, 1))], (0, 1), ("n", "n"))
    assert any(isinstance(f, Delta) for f, _ in wide.factors)
    contracted = make_product(1.0, [(wide, (0, 1)), (x, (1,))], (0,), ("n", "n"))
    assert not any(isinstance(n, Delta) for n in topological(contracted))
    values = np.arange(1.0, 4.0)
    np.testing.assert_allclose(
        contracted.evaluate({"x": values}), values ** (MAX_FACTORS + 3))


def test_the_only_factor_of_a_product_is_inlined_whatever_its_width():
    """A scaled wide product is one product, not a product of a product."""
    x = ed.symbols("x[n]")
    wide = make_product(1.0, [(x, (0,))] * 3 + [(ed.exp(x), (0,))] * (MAX_FACTORS + 1),
                        (0,), ("n",))
    scaled = 2 * wide
    assert isinstance(scaled, Product)
    assert not any(isinstance(f, Product) for f, _ in scaled.factors)


def test_a_long_hadamard_chain_of_adjoints_grows_linearly():
    x = ed.symbols("x[n]")

    def gradient(depth):
        h = x
        for _ in range(depth):
            h = ed.tanh(h)
        return ed.grad(ed.sum(h), "x")

    small, large = gradient(100), gradient(200)
    assert _widest(large) <= MAX_FACTORS
    assert _size(large) <= 2.2 * _size(small)


def test_a_sum_whose_deltas_join_outputs_stays_whole_in_a_wide_product():
    """Distributing it would copy every other factor into each term, for nothing."""
    W, x, y, z = ed.symbols("W[n,n] x[n] y[n] z[n]")
    d = Delta.make("n")
    both = ed.ir.Sum.make([d, W], ("n", "n"))
    factors = [(both, (0, 1)), (x, (0,)), (y, (1,)), (z, (0,)), (ed.exp(x), (1,))]
    wide = make_product(1.0, factors, (0, 1), ("n", "n"))
    assert isinstance(wide, Product)
    assert any(f is both for f, _ in wide.factors)
    # contracted, the delta meets its sum and is distributed (and eliminated)
    summed = make_product(1.0, factors, (0,), ("n", "n"))
    assert not any(isinstance(n, Delta) for n in topological(summed))


def test_a_narrow_product_distributes_for_the_reading():
    """``p_i (δ_ij - p_j)`` is ``diag(p) - outer(p, p)``."""
    p = ed.symbols("p[n]")
    d = Delta.make("n")
    jac = make_product(1.0, [(p, (0,)), (d - p, (0, 1))], (0, 1), ("n", "n"))
    assert isinstance(jac, ed.ir.Sum)
    assert jac.to_numpy() == "np.diag(p) - np.outer(p, p)"
