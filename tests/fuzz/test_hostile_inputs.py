"""Hostile input at every entry point: only EinderivError escapes, nothing hangs, memory
stays bounded, and no user text is ever executed.

Each input runs in a worker process (``fuzz_worker.py``) whose address space is limited
with ``resource.setrlimit(RLIMIT_AS)``, with a timeout per input; the inputs are drawn
from a seeded generator (``fuzz_inputs.py``, reusing ``tests/text/test_text_fuzz.py``'s seeds
and tokens) for a time budget per entry point, and the terminal summary prints the seed
and the counts.  Escapes that belong to other areas are listed in :data:`KNOWN`: the random
run tolerates them (counted as ``known``), and each has an exact reproduction below as a
strict xfail, so the list shrinks as they are fixed.
"""

from __future__ import annotations

import os
import random
import re
import reprlib
import time
from dataclasses import dataclass, field

import numpy as np
import pytest
from fuzz_harness import SEED, Outcome, record
from fuzz_inputs import CANARIES, ENTRIES, SHAPES, SPEC, generate
from fuzz_worker import CANARY_FILE

_short = reprlib.Repr()
_short.maxstring, _short.maxother, _short.maxdict, _short.maxlist = 200, 80, 12, 8

#: seconds of inputs per entry point
ENTRY_SECONDS = float(os.environ.get("EINDERIV_FUZZ_SECONDS", "1.5"))

#: most inputs per entry point
MAX_INPUTS = int(os.environ.get("EINDERIV_FUZZ_INPUTS", "500"))


@dataclass(frozen=True)
class Known:
    """An escape owned by another area: how to recognise it, and one exact reproduction."""

    id: str
    entry: str
    kind: str  # the outcome it has today: escape, memory or hang
    pattern: str  # matched against "Type: message" of the outcome
    args: dict = field(hash=False)
    why: str = ""


def _ones(*shape):
    return np.ones(shape)


_X = {"x": "n"}
_RANK = {n: "x[" + ",".join(f"d{i}" for i in range(n)) + "]" for n in (35, 53)}

#: escapes in other engineers' areas (issue 13), by owner; each runs below as a strict xfail
KNOWN: list[Known] = []


#: escapes that were fixed: each must stay an EinderivError (or a result), never an escape
FIXED: list[Known] = [
    # the evaluator (einderiv/evaluate/), issue 13: each a clear EvaluationError now, or a
    # result (more than 52 labels: indices that travel together are fused)
    Known("evaluate-sizes-not-a-dict", "evaluate", "escape",
          r"^AttributeError: '\w+' object has no attribute 'items' \[compiled",
          {"text": "x", "shapes": _X, "values": {"x": _ones(3)}, "kw": {"sizes": "n=2"}}),
    Known("evaluate-sizes-key-not-a-dim", "evaluate", "escape",
          r"^TypeError: '<' not supported .* \[compiled",
          {"text": "x", "shapes": _X, "values": {"x": _ones(3)}, "kw": {"sizes": {3: 3}}}),
    Known("evaluate-ragged-value-size-lookup", "evaluate", "escape",
          r"^ValueError: setting an array element with a sequence",
          {"text": "sum(x)", "shapes": _X, "derive": ("grad", "x"),
           "values": {"x": [1.0, [2.0, 3.0]]}}),
    Known("compile-ragged-value-size-lookup", "compile", "escape",
          r"^ValueError: setting an array element with a sequence",
          {"text": "sum(x)", "shapes": _X, "derive": ("grad", "x"),
           "values": {"x": [1.0, [2.0, 3.0]]}}),
    Known("evaluate-more-than-52-labels", "evaluate", "escape", r"^UnicodeEncodeError",
          {"text": "sum(x * x)", "shapes": _RANK[53], "values": {"x": _ones(*[1] * 53)}}),
    Known("evaluate-more-than-64-dims", "evaluate", "escape",
          r"^ValueError: maximum supported dimension",
          {"text": "x * 2", "shapes": _RANK[35], "derive": ("diff", "x"),
           "values": {"x": _ones(*[1] * 35)}}),
    Known("evaluate-huge-jacobian", "evaluate", "memory", r"MemoryError",
          {"text": "tanh(x)", "shapes": _X, "derive": ("diff", "x"),
           "values": {"x": _ones(200_000)}}),
    Known("evaluate-backend-not-text", "evaluate", "escape", r"^TypeError: unhashable",
          {"text": "x", "shapes": _X, "values": {"x": _ones(3)}, "kw": {"backend": ["jax"]}}),
    Known("compile-backend-argument", "compile", "escape",
          r"^TypeError: compile\(\) got an unexpected keyword argument 'backend'",
          {"text": "x", "shapes": _X, "values": {"x": _ones(3)}, "kw": {"backend": "torch"}}),
    # explain past 8 output letters (einderiv/explanation/: letters a..h, then a8, a9, ...)
    Known("explain-more-than-8-output-letters", "explain", "escape",
          r"^IndexError: string index out of range \[explanation",
          {"text": "x * 2", "shapes": "x[a,b,c,d,e,f,g,h,i]", "wrt": "x"}),
    Known("cli-explain-more-than-8-output-letters", "cli", "escape",
          r"internal error \(IndexError: string index out of range\)",
          {"argv": ["explain", "x * 2", "--shapes", "x[a,b,c,d,e,f,g,h,i]", "--wrt", "x"]}),
    # the printers (einderiv/render/): numpy, LaTeX and einsum text warm their caches
    # children first, so a 5,000-deep composition never recurses; logsumexp over no axis
    Known("codegen-deep-composition", "codegen", "escape", r"^RecursionError",
          {"text": "\n".join(["h = tanh(x)"] + ["h = tanh(h)"] * 4999 + ["h"]),
           "shapes": _X}),
    Known("codegen-torch-logsumexp-of-a-scalar", "codegen", "escape",
          r"^IndexError: tuple index out of range \[numpytext",
          {"text": "logsumexp(c)", "shapes": {"c": ""}, "kw": {"module": "torch"}}),
    # matmul chains were flattened into one growing term (quadratic); a product now
    # absorbs product operands only up to rewrite.terms.MAX_FACTORS factors
    Known("parse-long-matmul-chain", "parse", "hang", r"(?!)",
          {"text": "x" + " @ W.T @ W" * 1000, "shapes": {"x": "m", "W": "n m"}}),
]


def _known(entry: str, outcome: Outcome) -> Known | None:
    text = f"{outcome.type}: {outcome.message}"
    return next((k for k in KNOWN if k.entry == entry and k.kind == outcome.kind
                 and re.search(k.pattern, text)), None)


def _judge(entry: str, outcome: Outcome) -> str:
    if outcome.kind in ("ok", "error"):
        return outcome.kind
    return "known" if _known(entry, outcome) else outcome.kind


@pytest.mark.parametrize("entry", ENTRIES)
def test_only_einderiv_errors_escape(entry, worker, fuzz_dir):
    rng = random.Random(f"{SEED}:{entry}")
    deadline = time.monotonic() + ENTRY_SECONDS
    failures: list[str] = []
    tried = 0
    while tried < MAX_INPUTS and time.monotonic() < deadline:
        args = generate(entry, rng)
        outcome = worker.run(entry, args)
        tried += 1
        verdict = _judge(entry, outcome)
        record(entry, verdict)
        if outcome.canary:
            failures.append(f"CODE EXECUTED from user text: {args!r}")
        if verdict not in ("ok", "error", "known"):
            failures.append(f"{outcome.describe()}\n    input: {_short.repr(args)}")
    assert not (fuzz_dir / CANARY_FILE).exists(), "a canary file appeared: user text ran"
    assert tried > 0
    assert not failures, (
        f"{len(failures)} of {tried} inputs of {entry} (seed {SEED}) did not end in a "
        "result or an EinderivError:\n" + "\n".join(failures[:10])
    )


# -- no code execution from user text --------------------------------------------------


def _canary_calls():
    """Every canary in every place a user's text or name goes."""
    for canary in CANARIES:
        yield "parse", {"text": canary, "shapes": SHAPES}
        yield "parse", {"text": "x", "shapes": canary}
        yield "symbols", {"spec": canary}
        yield "einsum", {"subscripts": canary, "operands": ["x[m]"]}
        yield "diff", {"text": "W @ x", "shapes": SHAPES, "wrt": canary}
        yield "vjp", {"text": "W @ x", "shapes": SHAPES, "wrt": "x", "other": canary}
        yield "verify", {"claim": canary, "text": "W @ x", "shapes": SHAPES, "wrt": "x",
                         "cotangent": "g"}
        yield "verify", {"claim": "dz", "text": "W @ x", "shapes": SHAPES, "wrt": "x",
                         "cotangent": "g", "where": {"dz": canary}}
        yield "verify", {"claim": "W.T @ g", "text": canary, "shapes": SHAPES, "wrt": "x"}
        yield "explain", {"text": "W @ x", "shapes": SHAPES, "wrt": "x", "cotangent": canary}
        yield "codegen", {"text": "W @ x", "shapes": SHAPES, "kw": {"name": canary}}
        yield "cli", {"argv": ["verify", canary, "W @ x", "--shapes", SPEC, "--wrt", "x",
                               "--cotangent", "g", "--where", f"dz={canary}"]}


def test_no_user_text_is_ever_executed(worker, fuzz_dir):
    ran = 0
    for entry, args in _canary_calls():
        outcome = worker.run(entry, args)
        record("canaries", "executed" if outcome.canary else "not executed")
        ran += 1
        assert not outcome.canary, f"code from user text ran: {entry} {args!r}"
        assert outcome.kind in ("ok", "error"), f"{outcome.describe()} for {entry} {args!r}"
    assert ran >= 12 * len(CANARIES)
    assert not (fuzz_dir / CANARY_FILE).exists()


def test_the_canaries_would_fire_if_executed(worker, fuzz_dir):
    """The canaries are live: executed as Python they set the marker."""
    import subprocess
    import sys

    code = CANARIES[1]
    subprocess.run([sys.executable, "-c", code], cwd=fuzz_dir, check=True, timeout=60)
    assert (fuzz_dir / CANARY_FILE).exists()
    (fuzz_dir / CANARY_FILE).unlink()


# -- limits of the harness itself --------------------------------------------------------


def test_a_hang_is_caught_by_the_timeout(worker):
    outcome = worker.run("cli", {"argv": ["grad", "x", "--shapes", "x[n]", "--wrt", "x"]},
                         timeout=30)
    assert outcome.kind == "ok"
    slow = worker.run("parse", {"text": "x" + " @ W.T @ W" * 1400, "shapes": SHAPES},
                      timeout=0.05)
    assert slow.kind == "hang"
    assert worker.run("symbols", {"spec": "x[n]"}).kind == "ok"  # restarted


def test_memory_is_bounded(worker):
    """An allocation past the worker's limit fails inside it instead of taking the machine."""
    outcome = worker.run("evaluate", {"text": "x", "shapes": {"x": "n"},
                                      "values": {"x": [0.0] * 10}, "kw": {}})
    assert outcome.kind == "ok"
    big = worker.run("evaluate", {"text": "outer(x, x)", "shapes": {"x": "n"},
                                  "values": {"x": __import__("numpy").zeros(60_000)},
                                  "kw": {}})
    assert big.kind in ("memory", "error"), big.describe()


# -- known escapes in other areas, each an exact reproduction --------------------------


# (every escape of issue 13 is fixed: KNOWN is empty, so no reproduction runs; an entry
# added for a new escape gets its strict xfail here)
if KNOWN:

    @pytest.mark.parametrize("known", KNOWN, ids=lambda k: k.id)
    @pytest.mark.xfail(strict=True, reason="a known escape of another area (issue 13)")
    def test_known_escape_is_fixed(known, worker):
        """Fails while the escape is there; passes (XPASS: strict, so a failure to look at)
        once it is fixed or fails in another way."""
        outcome = worker.run(known.entry, known.args, timeout=4 if known.kind == "hang" else 30)
        still = outcome.kind == known.kind and (
            known.kind == "hang" or re.search(known.pattern, f"{outcome.type}: {outcome.message}"))
        assert not still, f"{known.id}: still {outcome.describe()}"


@pytest.mark.parametrize("fixed", FIXED, ids=lambda k: k.id)
def test_fixed_escape_stays_fixed(fixed, worker):
    """A former escape now gives a result or a clear EinderivError, in a bounded worker."""
    outcome = worker.run(fixed.entry, fixed.args, timeout=30)
    assert outcome.kind in ("ok", "error"), f"{fixed.id}: {outcome.describe()}"


@pytest.mark.parametrize("processes", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_the_summary_shows_the_seed_and_the_counts(fuzz_dir, processes):
    """``python -m pytest`` prints the seed and the inputs tried per entry point, also when
    the suite runs on several processes (the workers hand their counts to the controller)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "EINDERIV_FUZZ_SECONDS": "0.2", "EINDERIV_FUZZ_SEED": "7",
           "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
         *processes, str(Path(__file__)), "-k", "test_only_einderiv_errors_escape and symbols"],
        capture_output=True, text=True, timeout=300, cwd=root, env=env)
    assert out.returncode == 0, out.stdout[-2000:]
    assert "fuzz: hostile inputs" in out.stdout
    assert "seed 7 (EINDERIV_FUZZ_SEED)" in out.stdout
    assert re.search(r"symbols +\d+ tried: ", out.stdout), out.stdout[-2000:]
