"""The textbook suite (issue 10): every case's derivative, checked three ways.

For every case in ``cases.py``, at seeded random float64 values with a distinct size per
dim (so a transposed formula cannot pass by luck):

* einderiv's derivative (built with the public API, ``.evaluate``) equals the textbook's
  numpy program;
* the textbook's program agrees with central finite differences of the case's ``f``,
  evaluated by numpy alone (``harness.forward``), so the case data is checked too, and
  einderiv's derivative agrees with the same finite differences;
* einderiv's printed form (``size.einderiv_form``: ``to_program`` once it exists, else
  ``to_numpy``) evaluates to the textbook's value.

Plus the suite's shape: at least 150 cases from at least 8 references, unique ids, a
source for each.

The readability budget (einderiv's form at most 1.25x the textbook's size in AST nodes) is
NOT asserted here yet: ``to_program`` does not exist today, so most ratios are large. The
threshold lives in ``size.within_budget(case)`` for the test that will assert it, and
``benchmarks/readability.py`` prints every ratio.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from .cases import CASES, KINDS, REFERENCES, Case
from .harness import declared, derivative, expression, forward, run_program, sample
from .size import einderiv_form

SEED = 20240610
RTOL = 1e-8
FD_RTOL = 1e-5
H_FIRST = 1e-6
H_SECOND = 1e-4
DIRECTIONS = 2

ids = [c.id for c in CASES]


# -- finite differences ------------------------------------------------------------------


def _direction(case: Case, rng: np.random.Generator) -> np.ndarray | float:
    """A random direction for ``wrt`` (symmetric when the symbol is declared symmetric)."""
    sym = declared(case)[case.wrt]
    value = sample(case, SEED)[case.wrt]
    if np.ndim(value) == 0:
        return float(rng.normal())
    v = rng.normal(size=np.shape(value))
    return (v + v.T) / 2 if sym.symmetric else v


def _moved(values: dict, name: str, step) -> dict:
    out = dict(values)
    out[name] = values[name] + step
    return out


def directional(case: Case, values: dict, v, h: float = H_FIRST) -> np.ndarray:
    """Central difference of ``f`` along ``v`` in ``wrt``: (f(x + hv) - f(x - hv)) / 2h."""
    plus = forward(case, _moved(values, case.wrt, h * v))
    minus = forward(case, _moved(values, case.wrt, -h * v))
    return (plus - minus) / (2 * h)


def second_directional(case: Case, values: dict, u, v, h: float = H_SECOND) -> float:
    """Mixed central difference of a scalar ``f``: u^T (d^2 f) v."""
    def at(a, b):
        return forward(case, _moved(values, case.wrt, a * h * u + b * h * v))

    return float((at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) / (4 * h * h))


def _contract(tensor: np.ndarray, v, ndim: int) -> np.ndarray:
    return np.tensordot(tensor, v, axes=ndim) if ndim else tensor * v


def finite_difference_checks(case: Case, candidate: np.ndarray) -> list[tuple[str, float, float]]:
    """(what, value implied by ``candidate``, finite difference) pairs for one case."""
    values = sample(case, SEED)
    rng = np.random.default_rng(SEED + 1)
    ndim = np.ndim(values[case.wrt])
    out: list[tuple[str, float, float]] = []
    if case.kind == "jvp":
        fd = directional(case, values, values[case.tangent])
        out.extend((f"jvp[{i}]", float(a), float(b))
                   for i, (a, b) in enumerate(zip(np.ravel(candidate), np.ravel(fd))))
        return out
    for k in range(DIRECTIONS):
        v = _direction(case, rng)
        if case.kind == "grad":
            out.append((f"<grad, v{k}>", float(np.sum(candidate * v)),
                        float(np.sum(directional(case, values, v)))))
        elif case.kind == "vjp":
            g = values[case.cotangent]
            out.append((f"<vjp, v{k}>", float(np.sum(candidate * v)),
                        float(np.sum(g * directional(case, values, v)))))
        elif case.kind == "diff":
            implied = _contract(candidate, v, ndim)
            fd = directional(case, values, v)
            out.extend((f"J v{k} [{i}]", float(a), float(b))
                       for i, (a, b) in enumerate(zip(np.ravel(implied), np.ravel(fd))))
        elif case.kind == "hessian":
            u = _direction(case, rng)
            out.append((f"u{k}^T H v{k}", float(np.sum(u * _contract(candidate, v, ndim))),
                        second_directional(case, values, u, v)))
    return out


def expected_shape(case: Case) -> tuple[int, ...]:
    """The numeric shape of the derivative the case asks for."""
    values = sample(case, SEED)
    wrt = np.shape(values[case.wrt])
    f = np.shape(forward(case, values))
    return {"grad": wrt, "vjp": wrt, "jvp": f, "diff": f + wrt, "hessian": wrt + wrt}[case.kind]


def assert_matches_finite_differences(case: Case, candidate: np.ndarray, who: str) -> None:
    """Every directional check of ``candidate`` agrees with finite differences."""
    assert candidate.shape == expected_shape(case), (
        f"{case.id}: {who} has shape {candidate.shape}, expected {expected_shape(case)}")
    checks = finite_difference_checks(case, candidate)
    assert checks, case.id
    scale = max(1.0, max(abs(b) for _, _, b in checks))
    bad = [(what, a, b) for what, a, b in checks if abs(a - b) > FD_RTOL * scale]
    assert not bad, f"{case.id}: {who} disagrees with finite differences: {bad[:4]}"


# -- evaluations (cached: each test reads them) ------------------------------------------


@functools.cache
def einderiv_value(case: Case) -> np.ndarray:
    return np.asarray(derivative(case).evaluate(sample(case, SEED)), dtype=float)


@functools.cache
def textbook_value(case: Case) -> np.ndarray:
    return run_program(case.textbook, sample(case, SEED))


def _assert_close(got: np.ndarray, want: np.ndarray, what: str) -> None:
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=RTOL * scale, err_msg=what)


# -- the suite's shape --------------------------------------------------------------------


def test_suite_size_and_references():
    assert len(CASES) >= 150
    assert len({c.ref for c in CASES}) >= 8
    assert {c.ref for c in CASES} <= set(REFERENCES)


def test_case_data_is_well_formed():
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    for c in CASES:
        assert c.source.strip(), c.id
        assert c.kind in KINDS, c.id
        assert c.f.strip() and c.textbook.strip(), c.id
        assert c.wrt in declared(c), c.id
        assert (c.cotangent is not None) == (c.kind == "vjp"), c.id
        assert (c.tangent is not None) == (c.kind == "jvp"), c.id
        if c.kind in ("grad", "hessian"):
            assert expression(c).shape == (), f"{c.id}: {c.kind} needs a scalar f"
        hinted = {*c.positive, *c.spd, *c.invertible, *c.onehot, *c.binary}
        assert hinted <= set(declared(c)), f"{c.id}: hints name undeclared {hinted}"


def test_sizes_are_distinct_per_dim():
    from .harness import sizes_of

    for c in CASES:
        sizes = sizes_of(c)
        assert len(set(sizes.values())) == len(sizes), (c.id, sizes)


# -- every case, numerically --------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_einderiv_equals_textbook(case: Case):
    _assert_close(einderiv_value(case), textbook_value(case), f"{case.id} ({case.source})")


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_textbook_matches_finite_differences(case: Case):
    assert_matches_finite_differences(case, textbook_value(case), "the textbook form")


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_einderiv_matches_finite_differences(case: Case):
    assert_matches_finite_differences(case, einderiv_value(case), "einderiv")


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_printed_form_evaluates_to_textbook(case: Case):
    printed = run_program(einderiv_form(case), sample(case, SEED))
    _assert_close(printed, textbook_value(case), f"{case.id}: einderiv's printed form")
