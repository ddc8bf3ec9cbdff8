"""Costs of the symbolic pipeline (parse, derive, ``to_program``) against the size of the work.

Four sweeps (issues 10 and 13), each point measured in a fresh interpreter so that no memo
or interned node of an earlier point makes a later one cheaper:

* ``bptt``: the forum's T-step RNN, ``a_t = tanh(Waa @ a_{t-1} + Wax @ x_t + ba)``, loss on
  the last step: parse the program, ``ed.vjp(f, "Waa", "daT")``, ``to_program()``;
* ``depth``: ``tanh`` composed d times (built with the API), ``grad(sum(h), x)``, program;
* ``lines``: a program of L lines ``h = W @ h``: parse, ``grad(sum(h), x)``, program;
* ``rnn1000``: the 1000-step RNN, ``h = tanh(W @ h + U @ x)`` written L times under one name,
  ``grad(sum(h * y), W)`` and its program.

For each point: the seconds of each stage (the best of ``--repeats`` fresh runs), the node
and edge counts of the derivative's DAG, the program's lines and characters, and the Python
function calls of the three stages (cProfile, one more fresh run): the counts are exact, so
they show linear work where the times, on a loaded machine, cannot.  Then a least-squares
slope of log(cost) against log(size) for every column: 1 is linear.
Writes ``SYMBOLIC.md`` (tables, slopes, verdicts, then the hand-written
``symbolic_analysis.md`` when present), ``SYMBOLIC.json`` (the raw rows) and
``symbolic_costs.png`` (time against T for the BPTT, and every sweep's total).

Usage::

    python benchmarks/symbolic_costs.py              # the full sweeps, into benchmarks/
    python benchmarks/symbolic_costs.py --quick --out /tmp/costs   # tiny sizes, in-process
    python benchmarks/symbolic_costs.py --report-only   # rewrite SYMBOLIC.md from the JSON
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # this checkout's einderiv, also when run as a script
    sys.path.insert(0, str(ROOT))

SWEEPS: dict[str, dict[str, Any]] = {
    "bptt": {
        "title": "T-step RNN BPTT (the forum question): parse + vjp in Waa + to_program",
        "size": "T",
        "sizes": (3, 5, 10, 20, 50, 100, 200),
        "quick": (3, 5, 10),
    },
    "depth": {
        "title": "derivation depth: tanh composed d times, grad + to_program",
        "size": "d",
        "sizes": (10, 30, 100, 300, 1000),
        "quick": (5, 10, 20),
    },
    "lines": {
        "title": "program length: L lines `h = W @ h`, parse + grad + to_program",
        "size": "L",
        "sizes": (10, 30, 100, 300, 1000),
        "quick": (5, 10, 20),
    },
    "rnn1000": {
        "title": "the 1000-step RNN (`h = tanh(W @ h + U @ x)` L times): parse + grad in W + "
                 "to_program",
        "size": "T",
        "sizes": (125, 250, 500, 1000),
        "quick": (5, 10, 20),
    },
}
STAGES = ("parse_s", "derive_s", "program_s", "total_s")
COUNTS = ("nodes", "edges", "lines", "chars", "calls")
LINEAR = 1.15  # a fitted slope up to this counts as linear (sizes span 1.5-2.5 decades)


def _bptt(size: int) -> tuple[Callable[[], Any], Callable[[Any], Any], str]:
    import einderiv as ed

    text = "\n".join(f"a{t} = tanh(Waa @ a{t - 1} + Wax @ x{t} + ba)" for t in range(1, size + 1))
    shapes = "Waa[n,n] Wax[n,k] ba[n,1] a0[n,m] " + " ".join(
        f"x{t}[k,m]" for t in range(1, size + 1))
    return (lambda: ed.parse(text, shapes=shapes),
            lambda f: ed.vjp(f, "Waa", f"da{size}"), "dWaa")


def _depth(size: int) -> tuple[Callable[[], Any], Callable[[Any], Any], str]:
    import einderiv as ed

    def build():
        h = ed.symbols("x[n]")
        for _ in range(size):
            h = ed.tanh(h)
        return ed.sum(h)

    return build, lambda f: ed.grad(f, "x"), "dx"


def _lines(size: int) -> tuple[Callable[[], Any], Callable[[Any], Any], str]:
    import einderiv as ed

    text = "\n".join(["h = x"] + ["h = W @ h"] * size + ["sum(h)"])
    return lambda: ed.parse(text, shapes="W[n,n] x[n]"), lambda f: ed.grad(f, "x"), "dx"


def _rnn(size: int) -> tuple[Callable[[], Any], Callable[[Any], Any], str]:
    import einderiv as ed

    text = "\n".join(["h = h0"] + ["h = tanh(W @ h + U @ x)"] * size + ["L = sum(h * y)"])
    shapes = "W[n,n] U[n,k] h0[n,m] x[k,m] y[n,m]"
    return lambda: ed.parse(text, shapes=shapes), lambda f: ed.grad(f, "W"), "dW"


BUILDERS = {"bptt": _bptt, "depth": _depth, "lines": _lines, "rnn1000": _rnn}


def measure(sweep: str, size: int) -> dict[str, Any]:
    """One point of one sweep, in this process: stage times and exact counts."""
    from einderiv.ir.nodes import topological

    build, derive, name = BUILDERS[sweep](size)
    t0 = time.perf_counter()
    f = build()
    t1 = time.perf_counter()
    g = derive(f)
    t2 = time.perf_counter()
    program = g.to_program(name)
    t3 = time.perf_counter()
    dag = topological(g)
    return {
        "size": size, "parse_s": t1 - t0, "derive_s": t2 - t1, "program_s": t3 - t2,
        "total_s": t3 - t0, "nodes": len(dag), "edges": sum(len(n.children) for n in dag),
        "lines": program.count("\n") + 1, "chars": len(program), "calls": None,
        "f_nodes": len(topological(f)),
    }


def count_calls(sweep: str, size: int) -> dict[str, int]:
    """Python function calls of each stage, in this process (run it in a fresh one)."""
    import cProfile
    import pstats

    build, derive, name = BUILDERS[sweep](size)
    counts = {}
    profiler = cProfile.Profile()
    f = profiler.runcall(build)
    counts["parse_calls"] = pstats.Stats(profiler).total_calls
    profiler = cProfile.Profile()
    g = profiler.runcall(derive, f)
    counts["derive_calls"] = pstats.Stats(profiler).total_calls
    profiler = cProfile.Profile()
    profiler.runcall(g.to_program, name)
    counts["program_calls"] = pstats.Stats(profiler).total_calls
    counts["calls"] = counts["parse_calls"] + counts["derive_calls"] + counts["program_calls"]
    return counts


def fresh(sweep: str, size: int, what: str = "time") -> dict[str, Any]:
    """:func:`measure` (or ``what="calls"``: :func:`count_calls`) in a new interpreter."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", sweep,
                           str(size), what], capture_output=True, text=True, env=env,
                          check=True, timeout=600)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_sweep(sweep: str, sizes: tuple[int, ...], repeats: int, cold: bool,
              calls: bool) -> list[dict]:
    """Every point of a sweep; times are the best of ``repeats`` runs, counts must agree."""
    rows = []
    for size in sizes:
        runs = [fresh(sweep, size) if cold else measure(sweep, size) for _ in range(repeats)]
        row = dict(runs[0])
        for key in COUNTS[:-1]:
            if len({r[key] for r in runs}) != 1:
                raise RuntimeError(f"{sweep} at {size}: {key} differs between runs")
        for key in STAGES:
            row[key] = min(r[key] for r in runs)
        row.update(fresh(sweep, size, "calls") if calls else {"calls": None})
        rows.append(row)
        print(f"{sweep:8} {size:5}  total {row['total_s']:8.3f} s  nodes {row['nodes']:6}  "
              f"lines {row['lines']:5}", file=sys.stderr)
    return rows


def slope(rows: list[dict], key: str, upper: bool = False) -> float | None:
    """Least-squares slope of log(key) against log(size); ``upper``: the larger half only."""
    points = [(r["size"], r[key]) for r in rows if r[key] is not None and r[key] > 0]
    if upper:
        points = points[len(points) // 2:]
    if len(points) < 2:
        return None
    xs = [math.log(s) for s, _ in points]
    ys = [math.log(v) for _, v in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def fits(rows: list[dict]) -> dict[str, dict[str, float | None]]:
    """Slopes of every column: over all sizes and over the larger half."""
    return {key: {"all": slope(rows, key), "upper": slope(rows, key, upper=True)}
            for key in (*STAGES, *COUNTS)}


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _count(value: int | None) -> str:
    return "—" if value is None else str(value)


def verdict(fit: dict[str, dict[str, float | None]]) -> str:
    """Linear or not, from the exact counts first and then the (noisy) times."""
    counts = {k: fit[k]["all"] for k in COUNTS}
    bad_counts = [k for k, v in counts.items() if v is not None and v > LINEAR]
    time_slope = fit["total_s"]["upper"]
    parts = []
    if bad_counts:
        parts.append("counts grow faster than linear: " + ", ".join(
            f"{k} (slope {counts[k]:.2f})" for k in bad_counts))
    else:
        parts.append("every exact count is linear or below (slopes "
                     + ", ".join(f"{k} {_fmt(v)}" for k, v in counts.items()
                                 if v is not None) + ")")
    if time_slope is not None and time_slope > LINEAR + 0.1:
        parts.append(f"time over the larger half grows with slope {time_slope:.2f}: "
                     "faster than linear")
    else:
        parts.append(f"time over the larger half: slope {_fmt(time_slope)}, linear")
    return "; ".join(parts)


def markdown(results: dict[str, Any]) -> str:
    """SYMBOLIC.md: the setup, a table and the slopes per sweep, the analysis."""
    meta = results["meta"]
    lines = [
        "# Symbolic costs: parse, derive, to_program",
        "",
        "_Generated by `python benchmarks/symbolic_costs.py`"
        + (" --quick" if meta["quick"] else "") + f" on {meta['date']}; do not edit._",
        "",
        f"Python {meta['python']}, {meta['cpus']} CPUs, load average (1, 5, 15 min) "
        f"{meta.get('load_before')} before the runs and {meta.get('load_after')} after. "
        "Each point is the best of "
        f"{meta['repeats']} run(s)"
        + (" in a fresh interpreter (cold caches, as a user's first call)" if meta["fresh"]
           else " in one interpreter (caches warm after the first point)") + ".",
        "",
        "**Timings are noisy**: this machine's 2 cores are shared by several engineers and "
        "the runs were taken under load, so a single time can be off by a factor of 2; "
        "trust the slopes over the larger sizes more than any one time. **Node counts are "
        "exact** (the derivative's DAG: distinct nodes and operand edges), as are the "
        "program's lines and characters; they are the structural measure of linearity "
        "(and the one the tests check); so are the Python function calls of the three "
        "stages (cProfile, in one more fresh run), a measure of the work itself.",
        "",
    ]
    for sweep, data in results["sweeps"].items():
        spec = SWEEPS[sweep]
        rows, fit = data["rows"], data["fit"]
        lines += [
            f"## {spec['title']}",
            "",
            f"| {spec['size']} | parse (s) | derive (s) | to_program (s) | total (s) | "
            "DAG nodes | DAG edges | program lines | program chars | Python calls |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rows:
            lines.append(
                f"| {r['size']} | {r['parse_s']:.3f} | {r['derive_s']:.3f} | "
                f"{r['program_s']:.3f} | {r['total_s']:.3f} | {r['nodes']} | {r['edges']} | "
                f"{r['lines']} | {r['chars']} | {_count(r['calls'])} |")
        lines += [
            "",
            "Fitted log-log slopes (1 = linear):",
            "",
            "| | " + " | ".join(k.removesuffix("_s") for k in (*STAGES, *COUNTS)) + " |",
            "|---|" + "---:|" * len((*STAGES, *COUNTS)),
            "| all sizes | " + " | ".join(_fmt(fit[k]["all"]) for k in (*STAGES, *COUNTS))
            + " |",
            "| larger half | " + " | ".join(_fmt(fit[k]["upper"])
                                            for k in (*STAGES, *COUNTS)) + " |",
            "",
            f"Verdict: {verdict(fit)}.",
            "",
        ]
    analysis = HERE / "symbolic_analysis.md"
    if analysis.exists() and not meta["quick"]:
        lines += [analysis.read_text().rstrip(), ""]
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    """Time against T for the BPTT (each stage), and every sweep's total time, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    bptt = results["sweeps"]["bptt"]["rows"]
    sizes = [r["size"] for r in bptt]
    for key, label in zip(STAGES, ("parse", "vjp", "to_program", "total"), strict=True):
        left.loglog(sizes, [r[key] for r in bptt], "o-", label=label)
    ref = bptt[-1]["total_s"]
    left.loglog(sizes, [ref * s / sizes[-1] for s in sizes], "k--", lw=1, label="slope 1")
    left.set(xlabel="T (RNN steps)", ylabel="seconds (best of runs)",
             title="BPTT: time against T")
    left.legend(fontsize=8)
    for sweep, data in results["sweeps"].items():
        rows = data["rows"]
        right.loglog([r["size"] for r in rows], [r["total_s"] for r in rows], "o-",
                     label=f"{sweep} ({SWEEPS[sweep]['size']})")
    right.set(xlabel="size (T, d or L)", ylabel="seconds, total",
              title="every sweep (noisy: shared 2-core machine)")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Run the sweeps and write SYMBOLIC.md, SYMBOLIC.json and symbolic_costs.png."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, one run each, in this process (for the tests)")
    parser.add_argument("--out", type=Path, default=HERE, help="where to write (benchmarks/)")
    parser.add_argument("--repeats", type=int, default=None, help="fresh runs per point")
    parser.add_argument("--sweeps", default=",".join(SWEEPS), help="comma-separated subset")
    parser.add_argument("--calls", action=argparse.BooleanOptionalAction, default=None,
                        help="count Python calls per point (default: on, off with --quick)")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite SYMBOLIC.md and the plot from SYMBOLIC.json, no runs")
    parser.add_argument("--worker", nargs=3, metavar=("SWEEP", "SIZE", "WHAT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        sweep, size, what = args.worker
        work = count_calls if what == "calls" else measure
        print(json.dumps(work(sweep, int(size))))
        return 0
    if args.report_only:
        results = json.loads((args.out / "SYMBOLIC.json").read_text())
        write(results, args.out, json_too=False)
        return 0
    repeats = args.repeats or (1 if args.quick else 3)
    cold = not args.quick
    calls = (not args.quick) if args.calls is None else args.calls
    results: dict[str, Any] = {
        "meta": {"quick": args.quick, "repeats": repeats, "fresh": cold, "calls": calls,
                 "python": sys.version.split()[0], "cpus": os.cpu_count(),
                 "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                 "load_before": _load()},
        "sweeps": {},
    }
    for sweep in args.sweeps.split(","):
        spec = SWEEPS[sweep]
        rows = run_sweep(sweep, spec["quick" if args.quick else "sizes"], repeats, cold, calls)
        results["sweeps"][sweep] = {"rows": rows, "fit": fits(rows)}
    results["meta"]["load_after"] = _load()
    write(results, args.out)
    return 0


def _load() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (how busy the shared machine was)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:  # pragma: no cover - platforms without getloadavg
        return None


def write(results: dict[str, Any], out: Path, json_too: bool = True) -> None:
    """SYMBOLIC.json (the raw rows), SYMBOLIC.md and symbolic_costs.png under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    if json_too:
        (out / "SYMBOLIC.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "SYMBOLIC.md").write_text(markdown(results))
    if "bptt" in results["sweeps"]:
        plot(results, out / "symbolic_costs.png")
    print(f"wrote {out / 'SYMBOLIC.md'}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
