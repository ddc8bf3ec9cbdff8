"""Write the benchmark report: RESULTS.md (tables of ratios, targets) and a PNG plot.

Contract: :func:`write_report` reads only the raw results dict that ``run.py`` produced
(also saved next to the report as JSON), so a report can be rebuilt without re-running.
``benchmarks/analysis.md``, when present, is appended as the hand-written analysis.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
from typing import Any

PEER_ORDER = ("jax", "torch", "autograd")
TARGET_SIZE = 1000
SMALL_SIZE = 100
# issue 11's targets
SMALL_LIMIT = 1.3  # gradients and vjps at n = 100, x hand-written
LARGE_LIMIT = 1.05  # ... at n >= 1000
HESSIAN_LIMIT = 0.85  # geomean of the four Hessians at n = 1000
BPTT_LIMIT = 1.3  # 100-step BPTT vs the hand-written loop
FIRST_CALL_MS = 50.0  # ed.compile + first call at n = 1000
PIPELINE_MS = 5.0  # "a few milliseconds" median per case


def _ratio(row: dict, name: str, stat: str = "median") -> float | None:
    times = row["times"]
    if name not in times or stat not in times[name]:
        return None
    return times[name][stat] / times["numpy"][stat]


def _fmt_ratio(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def _row_at(rows: list[dict], size: int) -> dict | None:
    for row in rows:
        if row["size"] == size:
            return row
    return None


def _geomean(values: list[float]) -> float | None:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def targets(raw: dict) -> list[dict[str, Any]]:
    """The targets of issue 11, each with its measured value and whether it is met.

    Entries: ``target`` (text), ``limit``, ``value`` (the measured number, a ratio or
    milliseconds), ``unit``, ``ok`` and ``what`` (where the number comes from).
    """
    checks: list[dict[str, Any]] = []

    def add(target: str, value: float | None, limit: float, unit: str, what: str,
            best: float | None = None) -> None:
        checks.append({"target": target, "value": value, "limit": limit, "unit": unit,
                       "what": what, "ok": value is not None and value <= limit,
                       "best": best})

    sweep = raw["sweep"]
    for name, entry in sweep.items():
        if entry["kind"] == "hessian":
            continue
        for row in entry["rows"]:
            size = row["size"]
            if size == SMALL_SIZE or size >= TARGET_SIZE:
                add(f"{name} at n = {size}", _ratio(row, "einderiv"),
                    SMALL_LIMIT if size == SMALL_SIZE else LARGE_LIMIT, "×",
                    "einderiv / hand-written", _ratio(row, "einderiv", "best"))
    hessians = [(name, _row_at(entry["rows"], TARGET_SIZE)) for name, entry in sweep.items()
                if entry["kind"] == "hessian"]
    ratios = [r for _, row in hessians if row and (r := _ratio(row, "einderiv"))]
    bests = [r for _, row in hessians if row and (r := _ratio(row, "einderiv", "best"))]
    if ratios:
        add(f"Hessians at n = {TARGET_SIZE}, geometric mean", _geomean(ratios), HESSIAN_LIMIT,
            "×", ", ".join(f"{name} {_fmt_ratio(_ratio(row, 'einderiv'))}"
                           for name, row in hessians if row),
            _geomean(bests) if len(bests) == len(ratios) else None)
    for row in raw.get("bptt", {}).get("by_size", []):
        add(f"BPTT T = {row['steps']} at n = {row['n']}", _ratio(row, "einderiv"), BPTT_LIMIT,
            "×", "einderiv / hand-written loop", _ratio(row, "einderiv", "best"))
    for name, entry in raw.get("compile", {}).items():
        first = entry["compile"] + entry["first_call"]
        once = first - entry["second"]  # what the first call costs beyond an evaluation
        add(f"{name}: first call at n = {entry.get('size', TARGET_SIZE)}, beyond one "
            "evaluation", 1e3 * once, FIRST_CALL_MS, "ms",
            f"ed.compile + first call {1e3 * first:.1f} ms − a later call "
            f"{1e3 * entry['second']:.1f} ms")
    suite = raw.get("verify", {}).get("suite", {})
    if "verify" in suite:
        stats = suite["verify"]
        add("verify, median over the suite's calls", stats["median_ms"], 50.0, "ms",
            f"{stats['count']} calls")
        add("verify, max over the suite's calls", stats["max_ms"], 200.0, "ms",
            f"{stats['count']} calls")
    if "explain" in suite:
        stats = suite["explain"]
        add("explain, max over the suite's calls", stats["max_ms"], 100.0, "ms",
            f"{stats['count']} calls, median {stats['median_ms']:.1f} ms")
    pipeline = [entry["parse_derive_program"] for entry in raw.get("symbolic", {}).values()
                if entry.get("parse_derive_program") is not None]
    if pipeline:
        add("parse + derive + to_program, median over the problems",
            1e3 * statistics.median(pipeline), PIPELINE_MS, "ms",
            f"max {1e3 * max(pipeline):.1f} ms")
    return checks


def write_plot(raw: dict, path: str) -> bool:
    """Time vs size, one panel per problem, log-log; False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:  # noqa: BLE001 - the plot is optional
        return False
    names = list(raw["sweep"])
    recurrent = raw.get("bptt") or {}
    panels = len(names) + (2 if recurrent else 0)
    cols = 6 if recurrent else 5
    rows = (panels + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.4 * rows), squeeze=False)
    styles = {"numpy": ("k", "--"), "einderiv": ("C0", "-"), "jax": ("C1", "-"),
              "torch": ("C3", "-"), "autograd": ("C2", "-")}
    for ax, name in zip(axes.flat, names, strict=False):
        entry = raw["sweep"][name]
        for impl, (color, line) in styles.items():
            pts = [(r["size"], r["times"][impl]["median"]) for r in entry["rows"]
                   if impl in r["times"]]
            if pts:
                xs, ys = zip(*pts, strict=True)
                label = "hand-written numpy" if impl == "numpy" else impl
                ax.loglog(xs, ys, line, color=color, marker="o", ms=3, label=label)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("n")
        ax.set_ylabel("seconds (median)")
        ax.grid(True, which="both", alpha=0.3)
    if recurrent:
        extra = list(axes.flat)[len(names):len(names) + 2]
        for ax, key, x, label in (
            (extra[0], "by_size", "n", f"BPTT, T = {recurrent['steps']}"),
            (extra[1], "by_steps", "steps", f"BPTT against T, n = {recurrent['at']}"),
        ):
            rows_ = recurrent[key]
            xs = [r["n" if x == "n" else "steps"] for r in rows_]
            for impl, (color, line) in (("numpy", styles["numpy"]),
                                        ("einderiv", styles["einderiv"])):
                ys = [r["times"][impl]["median"] for r in rows_]
                name = "hand-written loop" if impl == "numpy" else impl
                ax.loglog(xs, ys, line, color=color, marker="o", ms=3, label=name)
            ax.set_title(label, fontsize=10)
            ax.set_xlabel("n" if x == "n" else "T")
            ax.set_ylabel("seconds (median)")
            ax.grid(True, which="both", alpha=0.3)
    for ax in list(axes.flat)[panels:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    env = raw["env"]
    fig.suptitle(f"einderiv vs peers, float64 CPU, {env['threads']} thread(s), {env['cpu']}",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def _bptt_section(raw: dict, add: Any) -> None:
    """BPTT: the T-step gradient vs the hand-written loop, by n and against T."""
    data = raw.get("bptt")
    if not data:
        return
    add(f"## BPTT: {data['steps']}-step RNN gradient vs a hand-written numpy loop "
        f"(target ≤ {BPTT_LIMIT}×)")
    add("")
    add("`benchmarks/bptt.py`: `a_t = tanh(Waa a_(t-1) + Wax x_t + ba)`, loss "
        "`Σ_t sum(a_t ∘ g_t)`, gradient in `Waa`, built with the Python builders (2 T + 4 "
        "input arrays, batch of 32 columns, k = max(n/2, 4) inputs). The loop is the one a "
        "person writes: forward keeping the states, backward with a running `dWaa +=`. "
        "derive: building the unrolled loss and its gradient; first: `ed.compile` + the "
        "first call (generates the body).")
    add("")
    for key, title in (("by_size", f"T = {data['steps']}"),
                       ("by_steps", f"against T, at n = {data['at']}")):
        add(f"{title}:")
        add("")
        add("| T | n | hand-written loop | einderiv | ratio | best-of ratio | derive | "
            "first call |")
        add("|---|---|---|---|---|---|---|---|")
        for row in data[key]:
            add(f"| {row['steps']} | {row['n']} | {_fmt_time(row['times']['numpy']['median'])} | "
                f"{_fmt_time(row['times']['einderiv']['median'])} | "
                f"{_fmt_ratio(_ratio(row, 'einderiv'))} | "
                f"{_fmt_ratio(_ratio(row, 'einderiv', 'best'))} | {_fmt_time(row['derive'])} | "
                f"{_fmt_time(row['first'])} |")
        add("")


def _verify_section(raw: dict, add: Any) -> None:
    """verify and explain over the test suite's calls, and the big inputs."""
    data = raw.get("verify")
    if not data:
        return
    add("## verify and explain (targets: verify median < 50 ms, max < 200 ms; explain "
        "< 100 ms)")
    add("")
    add("`benchmarks/verify_speed.py`: the verify/explain tests (`tests/test_verify.py`, "
        "`tests/test_user_stories.py`, `tests/test_explain.py`) run in this process with "
        "`ed.verify` and `ed.explain` wrapped in a timer: every call the suite makes.")
    add("")
    add("| function | calls | median | 90th percentile | max |")
    add("|---|---|---|---|---|")
    for name, stats in data.get("suite", {}).items():
        add(f"| {name} | {stats['count']} | {stats['median_ms']:.1f} ms | "
            f"{stats['p90_ms']:.1f} ms | {stats['max_ms']:.1f} ms |")
    add("")
    for name, stats in data.get("suite", {}).items():
        slow = stats.get("slowest", [])[:5]
        if slow:
            add(f"Slowest {name} calls: " + "; ".join(
                f"{s['ms']:.0f} ms `{s['test'].split('::', 1)[-1]}`" for s in slow) + ".")
            add("")
    if data.get("big"):
        add("The big inputs of issue 13, one call each:")
        add("")
        add("| case | time | outcome |")
        add("|---|---|---|")
        for row in data["big"]:
            add(f"| {row['case']} | {_fmt_time(row['seconds'])} | {row['outcome']} |")
        add("")


def write_report(raw: dict, path: str, available: list[str] | None = None) -> None:
    """Render ``raw`` to Markdown at ``path`` (and the plot next to it)."""
    env = raw["env"]
    peers = [p for p in PEER_ORDER if p in env["versions"]]
    png = os.path.splitext(path)[0] + ".png"
    plotted = write_plot(raw, png)
    lines: list[str] = []
    add = lines.append
    add(f"# Benchmark results ({env['mode']} run)")
    add("")
    add("Generated by `python benchmarks/run.py" + (" --quick" if env["mode"] == "quick" else "")
        + (f" --threads {env['threads']}" if env["threads"] != 1 else "") + "`; raw numbers in "
        f"`{os.path.basename(os.path.splitext(path)[0])}.json`.")
    add("")
    loads = [("start", env.get("load_start")), ("end", env.get("load"))]
    add(f"* Machine: {env['cpu']}, {env['cores']} cores, shared with other engineers' jobs: "
        "**this run ran under load** (1-, 5-, 15-minute load averages "
        + "; ".join(f"at the {when} {', '.join(f'{x:.2f}' for x in load)}"
                    for when, load in loads if load) + ").")
    add(f"* float64 on the CPU; {env['threads']} thread(s) for numpy's BLAS, XLA and torch "
        "(OMP/OPENBLAS/MKL_NUM_THREADS set before numpy is imported, torch.set_num_threads, "
        f"and the process pinned to {env['threads']} core(s) with sched_setaffinity, since "
        "XLA's CPU runtime otherwise runs extra threads).")
    add("* Versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()) + ".")
    if env["missing"]:
        add("* Peers skipped (not installed): "
            + "; ".join(f"{k} ({v})" for k, v in env["missing"].items()) + ".")
    add(f"* Date {env['date']}, wall time {env['wall_s']:.0f} s.")
    add("* Method: per problem and size, one warm-up call each, then all implementations timed "
        "interleaved (round robin, rotating the order), median of the repeats (3–41 samples, "
        "by budget; a fast call is timed in batches of ≥ 2 ms per sample, each sample of a "
        "call under 0.2 s after one untimed call of the same implementation, so that it does "
        "not pay for the caches and allocator state the previous one — a peer's Hessian — "
        "left behind). einderiv is "
        "`ed.compile(expr)` called with the values; jax is "
        "`jax.jit(jax.grad / jax.hessian / vjp)`, torch is `torch.func.grad / hessian / vjp` "
        "(eager), autograd is `grad / hessian / make_vjp`. Every implementation's result is "
        "checked against the hand-written formula before it is timed.")
    add("* Noise: the machine's 2 cores are shared with other engineers' jobs, so single "
        "numbers can move by ±20–30 % between runs; ratios are taken within one run, from "
        "interleaved medians, which cancels most of the drift but not all.")
    add("")

    add("## Targets of issue 11")
    add("")
    checks = targets(raw)
    met = sum(c["ok"] for c in checks)
    add(f"{met} of {len(checks)} met. Ratios are einderiv's time over the hand-written "
        "formula's in the same interleaved rounds (lower is better): the median sample's, "
        "which the target is judged on, and the fastest sample's (best of the repeats: on a "
        "loaded machine the other jobs only ever add time, so the best samples are the "
        "closest to each implementation's own cost).")
    add("")
    add("| target | measured (median) | best of samples | limit | met | from |")
    add("|---|---|---|---|---|---|")
    for check in checks:
        unit = check["unit"]
        value = check["value"]
        shown = "—" if value is None else (
            f"{_fmt_ratio(value)}{unit}" if unit == "×" else f"{value:.1f} {unit}")
        limit = f"≤ {check['limit']}{unit}" if unit == "×" else f"< {check['limit']:.0f} {unit}"
        best = "" if check.get("best") is None else f"{_fmt_ratio(check['best'])}×"
        add(f"| {check['target']} | {shown} | {best} | {limit} | "
            f"{'yes' if check['ok'] else '**no**'} | {check['what']} |")
    add("")

    add("## Time ratios: implementation time / hand-written numpy time")
    add("")
    add("Lower is better; 1.00 is the hand-written formula. `—`: not run (see notes below).")
    add("")
    header = ("| problem | n | hand-written | einderiv | einderiv, best of samples | "
              + " | ".join(peers) + " |")
    add(header)
    add("|---|---|---|---|---|" + "---|" * len(peers))
    for name, entry in raw["sweep"].items():
        for row in entry["rows"]:
            cells = [_fmt_ratio(_ratio(row, p)) for p in peers]
            add(f"| {name} | {row['size']} | {_fmt_time(row['times']['numpy']['median'])} | "
                f"{_fmt_ratio(_ratio(row, 'einderiv'))} | "
                f"{_fmt_ratio(_ratio(row, 'einderiv', 'best'))} | " + " | ".join(cells) + " |")
    notes = [(name, peer, why) for name, entry in raw["sweep"].items()
             for peer, why in entry["skipped"].items()]
    if notes:
        add("")
        for name, peer, why in notes:
            add(f"* {name}, {peer}: {why}.")
    add("")
    if plotted:
        add(f"![time vs size]({os.path.basename(png)})")
        add("")

    add("## First call (compile / trace / plan + one evaluation)")
    add("")
    add(f"At n = {TARGET_SIZE} (the largest size below it where a problem stops earlier). "
        "einderiv: the first call of the compiled evaluator (contraction paths planned for "
        "these shapes); jax: tracing + XLA compilation + first call; torch/autograd: first "
        "call. Each includes one evaluation, shown as einderiv's steady-state median.")
    add("")
    add("| problem | n | einderiv steady | einderiv first | " + " | ".join(peers) + " |")
    add("|---|---|---|---|" + "---|" * len(peers))
    for name, entry in raw["sweep"].items():
        below = [r for r in entry["rows"] if r["size"] <= TARGET_SIZE]
        row = below[-1] if below else entry["rows"][0]
        first = row["first"]
        add(f"| {name} | {row['size']} | {_fmt_time(row['times']['einderiv']['median'])} | "
            f"{_fmt_time(first.get('einderiv'))} | "
            + " | ".join(_fmt_time(first.get(p)) for p in peers) + " |")
    add("")
    add("`ed.compile` alone and the first call at n = 1000 (target: compile + first call "
        f"< {FIRST_CALL_MS:.0f} ms), each right after one call of the hand-written formula "
        "on the same values (whose time is shown: a process's first large allocation pays "
        "the OS's page faults, in the sweep table above too):")
    add("")
    add("| problem | ed.compile | first call (plans paths) | second call | "
        "hand-written call before |")
    add("|---|---|---|---|---|")
    for name, entry in raw["compile"].items():
        add(f"| {name} | {_fmt_time(entry['compile'])} | {_fmt_time(entry['first_call'])} | "
            f"{_fmt_time(entry['second'])} | {_fmt_time(entry.get('hand'))} |")
    add("")

    _bptt_section(raw, add)
    _verify_section(raw, add)

    add(f"## Symbolic pipeline (target: parse + derive + `to_program` < {PIPELINE_MS:.0f} ms "
        "median)")
    add("")
    add("Builders: build the expression with the Python builders, differentiate and "
        "simplify (one step: the builders and derivative rules simplify as they build), then "
        "render with `to_numpy()`. Text: `ed.parse` of the loss, the derivative, then "
        "`to_program()` (the readable form); the same with Python's cyclic garbage collector "
        "disabled during the call (`gc.disable()`), to show how much of it is the collector's "
        "pauses. Median over repeats, interning tables emptied between repeats (cold).")
    add("")
    add("| problem | builders: derive + simplify | render (to_numpy) | total | "
        "text: parse + derive + to_program | the same, collector off |")
    add("|---|---|---|---|---|---|")
    for name, entry in raw["symbolic"].items():
        render = entry["render"]
        total = entry["derive"] + (render or 0.0)
        add(f"| {name} | {_fmt_time(entry['derive'])} | "
            f"{_fmt_time(render) if render is not None else 'not available'} | "
            f"{_fmt_time(total)} | {_fmt_time(entry.get('parse_derive_program'))} | "
            f"{_fmt_time(entry.get('parse_derive_program_gc_off'))} |")
    add("")

    add("## Peak memory (tracemalloc)")
    add("")
    add("Peak bytes allocated during one call (inputs excluded), einderiv's compiled "
        "evaluator vs the hand-written formula (target: ≤ 1.5×).")
    add("")
    add("| case | result size | hand-written peak | einderiv peak | ratio |")
    add("|---|---|---|---|---|")
    for case, peaks in raw["memory"].items():
        ratio = peaks["einderiv"] / max(peaks["numpy"], 1)
        add(f"| {case} | {peaks['result'] / 2**20:.1f} MiB | {peaks['numpy'] / 2**20:.1f} MiB | "
            f"{peaks['einderiv'] / 2**20:.1f} MiB | {ratio:.2f} |")
    add("")

    analysis = os.path.join(os.path.dirname(os.path.abspath(__file__)), "analysis.md")
    if os.path.exists(analysis) and env["mode"] == "full" and env["threads"] == 1:
        with open(analysis) as handle:
            add(handle.read().rstrip())
        add("")
    with open(path, "w") as handle:
        handle.write("\n".join(lines))


if __name__ == "__main__":  # rebuild a report from its JSON: python benchmarks/report.py X.json
    source = sys.argv[1]
    with open(source) as handle:
        data = json.load(handle)
    write_report(data, source.replace(".json", ".md"))
