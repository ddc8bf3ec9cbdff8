"""A pytest plugin: every compiled call of a test run is checked against the interpreter.

Load it with ``-p support.generated_check`` (``tests/`` on the path) and a report path in
``EINDERIV_GENERATED_REPORT``.  It wraps :meth:`Compiled.run`: each call that goes through
generated code (numpy, torch, jax) is repeated with :meth:`Compiled.interpret`, the
reference path, and the two answers are compared -- values (to a tolerance of the dtype),
shapes, dtypes, and which error class was raised.  A generated body that fell back to the
interpreter (a generation failure or an exception in a body) is reported too: it would hide
a bug.  One JSON line per call goes to the report: ``{"ok": bool, "why": ..., "test": ...}``.

The tests of the run may fail (some count calls that the check repeats); only the report
matters to ``tests/evaluate/test_generated_agreement.py``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import pytest

from einderiv.errors import EinderivError
from einderiv.evaluate.compiled import Compiled

_REPORT = os.environ.get("EINDERIV_GENERATED_REPORT", "generated-report.jsonl")
_TEST = {"name": ""}


def _host(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # torch
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _compare(got: Any, want: Any) -> str | None:
    a, b = _host(got), _host(want)
    if a.shape != b.shape:
        return f"shape {a.shape} != {b.shape}"
    if a.dtype != b.dtype:
        return f"dtype {a.dtype} != {b.dtype}"
    rtol = 1e-9 if a.dtype == np.float64 else 5e-3 if a.dtype == np.float16 else 2e-4
    scale = float(np.nanmax(np.abs(b))) if b.size and np.isfinite(b).any() else 1.0
    atol = rtol * max(scale, 1e-300)
    if not np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True):
        return f"values differ (max abs {np.nanmax(np.abs(a - b)):.3g}, scale {scale:.3g})"
    return None


def _checked_run(original):
    def run(self: Compiled, values, sizes=None):
        generated = self.generated
        seen = len(generated.fallbacks) if generated is not None else 0
        try:
            got, err = original(self, values, sizes), None
        except Exception as exc:  # noqa: BLE001 - compared below
            got, err = None, exc
        if generated is not None:
            record: dict[str, Any] = {"test": _TEST["name"], "backend": self.backend.name,
                                      "expr": repr(self.expr)[:300]}
            why = None
            if len(generated.fallbacks) > seen:
                why = "fallback: " + generated.fallbacks[-1]
            try:
                want, want_err = self.interpret(values, sizes), None
            except Exception as exc:  # noqa: BLE001
                want, want_err = None, exc
            if want_err is not None and not isinstance(want_err, EinderivError | MemoryError):
                why = why  # the interpreter itself was sabotaged by the test (monkeypatch)
            elif err is not None or want_err is not None:
                if type(err) is not type(want_err):
                    why = why or f"raised {type(err).__name__} vs {type(want_err).__name__}"
            elif why is None:
                why = _compare(got, want)
            record.update(ok=why is None, why=why)
            with open(_REPORT, "a") as handle:
                handle.write(json.dumps(record) + "\n")
        if err is not None:
            raise err
        return got

    return run


def pytest_configure(config: pytest.Config) -> None:  # noqa: D103 - pytest hook
    Compiled.run = _checked_run(Compiled.run)  # type: ignore[method-assign]


def pytest_runtest_setup(item: pytest.Item) -> None:  # noqa: D103 - pytest hook
    _TEST["name"] = item.nodeid
