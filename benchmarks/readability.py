"""Readability: einderiv's printed derivatives against the textbooks' forms (issue 10).

For every case of the textbook suite (``tests/textbook/cases.py``) it prints the id, the
textbook form's size, einderiv's size and their ratio, in AST nodes (``ast_size`` in
``tests/textbook/size.py`` says exactly what is counted), sorted by ratio; then a summary:
how many cases are within the budget (1.25x), the geometric mean ratio and the worst cases.
einderiv's form is ``e.to_program(name)`` where that method exists, else ``e.to_numpy()``.

Usage::

    python benchmarks/readability.py                  # every case
    python benchmarks/readability.py --cases cb-det,fa-dQ
    python benchmarks/readability.py --limit 10 --worst 5
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT / "tests", ROOT):  # the suite's package, and this checkout's einderiv
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from textbook.cases import CASES, Case  # noqa: E402
from textbook.harness import derivative  # noqa: E402
from textbook.size import BUDGET, ast_size, einderiv_form  # noqa: E402


def measure(case: Case) -> dict:
    """One row: sizes and ratio, or the error that stopped rendering the case."""
    row = {"id": case.id, "ref": case.ref, "source": case.source,
           "textbook": ast_size(case.textbook)}
    try:
        row["einderiv"] = ast_size(einderiv_form(case))
    except Exception as exc:  # a rendering failure is reported, not fatal
        row["error"] = f"{type(exc).__name__}: {exc}"
        return row
    row["ratio"] = row["einderiv"] / row["textbook"]
    return row


def form_name(cases: list[Case]) -> str:
    """Which printer was measured."""
    if cases and callable(getattr(derivative(cases[0]), "to_program", None)):
        return "to_program"
    return "to_numpy (to_program does not exist yet)"


def summary(rows: list[dict], worst: int, budget: float = BUDGET) -> list[str]:
    """The summary lines."""
    measured = [r for r in rows if "ratio" in r]
    within = [r for r in measured if r["einderiv"] <= budget * r["textbook"]]
    lines = [f"cases: {len(rows)}, measured: {len(measured)}, "
             f"errors: {len(rows) - len(measured)}"]
    if measured:
        gmean = math.exp(sum(math.log(r["ratio"]) for r in measured) / len(measured))
        lines.append(f"within {budget:g}x: {len(within)} of {len(measured)} "
                     f"({100 * len(within) / len(measured):.0f}%)")
        lines.append(f"geometric mean ratio: {gmean:.2f}x")
        lines.append(f"worst {min(worst, len(measured))}:")
        for r in sorted(measured, key=lambda r: -r["ratio"])[:worst]:
            lines.append(f"  {r['id']:<26} {r['ratio']:8.2f}x  "
                         f"({r['einderiv']} vs {r['textbook']} nodes)  {r['source']}")
    for r in rows:
        if "error" in r:
            lines.append(f"  error {r['id']}: {r['error']}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", help="comma-separated case ids (default: all)")
    parser.add_argument("--limit", type=int, help="only the first N cases")
    parser.add_argument("--worst", type=int, default=15, help="how many worst cases to list")
    args = parser.parse_args(argv)

    cases = list(CASES)
    if args.cases:
        wanted = args.cases.split(",")
        known = {c.id: c for c in cases}
        missing = [w for w in wanted if w not in known]
        if missing:
            parser.error(f"unknown case ids: {', '.join(missing)}")
        cases = [known[w] for w in wanted]
    if args.limit is not None:
        cases = cases[: args.limit]

    rows = [measure(c) for c in cases]
    print(f"einderiv form measured: {form_name(cases)}; sizes in AST nodes")
    print(f"{'id':<26} {'textbook':>8} {'einderiv':>8} {'ratio':>8}")
    for r in sorted(rows, key=lambda r: r.get("ratio", math.inf)):
        if "ratio" in r:
            print(f"{r['id']:<26} {r['textbook']:>8} {r['einderiv']:>8} {r['ratio']:>7.2f}x")
        else:
            print(f"{r['id']:<26} {r['textbook']:>8} {'error':>8} {'-':>8}")
    print()
    print("\n".join(summary(rows, args.worst)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
