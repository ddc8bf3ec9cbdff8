"""The readability measure (``size.py``) and the script that prints it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from . import size
from .cases import CASES

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "readability.py"
BY_ID = {c.id: c for c in CASES}


@pytest.mark.parametrize(("program", "nodes"), [
    ("x", 1),
    ("X.T", 2),                        # Attribute, Name
    ("-x", 3),                         # UnaryOp, USub, Name
    ("a + b", 4),                      # BinOp, Add, Name, Name
    ("np.exp(x)", 4),                  # Call, Attribute, Name np, Name x
    ("2 * x", 4),                      # BinOp, Constant, Mult, Name
    ("x.sum(axis=1)", 5),              # Call, Attribute, Name, keyword, Constant
    ("v[:, None]", 5),                 # Subscript, Name, Tuple, Slice, Constant
    ("X.T @ (s - y)", 8),
    ("s = 1 / (1 + np.exp(-(X @ w)))\nX.T @ (s - y)", 25),
    ("dW = X.T @ g", 5),               # the result's own name is free ...
    ("s = a\ns", 4),                   # ... an intermediate's is not: Assign, Name s, a, s
    ("s = a\nds = s", 4),
    ("x = a\nx += 1", 7),              # an augmented last line counts in full
    ("a\n\nb  # comment", 2),          # blank lines and comments are not nodes
])
def test_ast_size_counts_known_programs(program, nodes):
    assert size.ast_size(program) == nodes


def test_ast_size_treats_a_named_result_like_a_bare_expression():
    assert size.ast_size("dWaa = dz @ a_prev.T") == size.ast_size("dz @ a_prev.T")
    assert size.ast_size("z = W @ x\ndz = g * (1 - np.tanh(z)**2)") == (
        size.ast_size("z = W @ x\ng * (1 - np.tanh(z)**2)"))


def test_ratio_and_budget_on_a_case_that_prints_like_the_textbook():
    case = BY_ID["cb-trace-xa"]  # d tr(XA)/dX = A.T, which einderiv prints as is
    assert size.sizes(case) == (2, 2)
    assert size.ratio(case) == 1.0
    assert size.within_budget(case)
    assert not size.within_budget(case, budget=0.9)


def test_einderiv_form_prefers_to_program(monkeypatch):
    class WithProgram:
        def to_program(self, name):
            return f"s = 1 / (1 + np.exp(-(X @ w)))\n{name} = X.T @ (s - y)"

        def to_numpy(self):
            raise AssertionError("to_numpy must not be used when to_program exists")

    class WithoutProgram:
        def to_numpy(self):
            return "X.T @ (1 / (1 + np.exp(-(X @ w))) - y)"

    case = BY_ID["prml-bce-grad-inline"]
    monkeypatch.setattr(size, "derivative", lambda c: WithProgram())
    assert size.einderiv_form(case).endswith("dw = X.T @ (s - y)")
    assert size.within_budget(case)  # 25 nodes, the textbook's size exactly
    monkeypatch.setattr(size, "derivative", lambda c: WithoutProgram())
    assert size.einderiv_form(case) == "X.T @ (1 / (1 + np.exp(-(X @ w))) - y)"


def test_result_names():
    assert size.result_name(BY_ID["forum-cell-dWaa"]) == "dWaa"
    assert size.result_name(BY_ID["prml-logistic-hessian"]) == "H"


def _run_script(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_script_prints_ratios_and_summary(tmp_path):
    ids = ["cb-trace-xa", "fa-dQ", "forum-bptt3-dWaa"]
    result = _run_script("--cases", ",".join(ids), "--worst", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:1] == ["id"])
    table = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        table.append(line.split())
    assert sorted(r[0] for r in table) == sorted(ids)
    ratios = [float(r[3].rstrip("x")) for r in table]
    assert ratios == sorted(ratios)  # sorted by ratio
    for _, textbook, ours, ratio in table:
        assert int(ours) / int(textbook) == pytest.approx(float(ratio.rstrip("x")), abs=0.006)
    assert "cases: 3, measured: 3, errors: 0" in out
    assert "within 1.25x:" in out and "geometric mean ratio:" in out and "worst 2:" in out


def test_script_limit_and_unknown_ids(tmp_path):
    result = _run_script("--limit", "4", "--worst", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "cases: 4, measured: 4" in result.stdout
    bad = _run_script("--cases", "no-such-case", cwd=tmp_path)
    assert bad.returncode == 2 and "unknown case ids: no-such-case" in bad.stderr


#: Cases still over the budget, with their cause (issue 10 wants none). A RATCHET: the test
#: below fails when a case outside this list goes over budget or fewer cases are within it;
#: fix a cause, then take its cases off the list and raise :data:`WITHIN_AT_LEAST`.
OVER_BUDGET = {
    # the label's sum is 1 (one-hot / 0-1 labels, the sampler knows it, einderiv does not):
    # the textbook drops y.sum(), einderiv keeps the general form p * y.sum() - y; for the
    # smallest (15 nodes) the stable softmax's two lines alone are over the budget too
    "gf-softmax-ce": "one-hot labels", "d2l-softmax-ce": "one-hot labels",
    "d2l-softmax-ce-batch": "one-hot labels", "d2l-softmax-ce-hessian": "one-hot labels",
    "d2l-softmax-reg-W": "one-hot labels", "d2l-softmax-reg-b": "one-hot labels",
    "prml-multiclass-grad": "one-hot labels", "cs-softmax-dW": "one-hot labels",
    "cs-softmax-dW-reg": "one-hot labels",
    "cs-nn-db": "one-hot labels", "cs-nn-dW2": "one-hot labels", "cs-nn-db2": "one-hot labels",
    "gf-mlp-dW1": "one-hot labels", "gf-mlp-dW2": "one-hot labels",
    "gf-bernoulli-softplus": "0/1 labels: (1 - 2y) sigmoid((1 - 2y) z) = sigmoid(z) - y",
    # the stable softmax (shifted by its max on a line of its own) costs its lines
    "fa-std-dV": "stable softmax lines",
    # batch norm: xhat = (X - mu) / sqrt(var + eps) is not recognised as one part
    "bn-compact-dx-moments": "normalized input not named; E[x^2] - E[x]^2 not a variance",
}
WITHIN_AT_LEAST = 224
"""Cases within the budget today (of 241): the ratchet's floor."""


def test_every_case_within_budget_but_the_known_ones():
    """A ratchet (issue 10 asks for every case within 1.25x; these are not yet).

    Every case not in :data:`OVER_BUDGET` is within the budget, and at least
    :data:`WITHIN_AT_LEAST` cases are; a listed case that comes within budget is reported so
    the list shrinks.
    """
    over = {c.id for c in CASES if not size.within_budget(c)}
    assert over <= set(OVER_BUDGET), f"over budget, not known: {sorted(over - set(OVER_BUDGET))}"
    assert len(CASES) - len(over) >= WITHIN_AT_LEAST
    assert not set(OVER_BUDGET) - over, (
        f"now within budget, take off OVER_BUDGET: {sorted(set(OVER_BUDGET) - over)}")
