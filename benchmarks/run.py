"""Benchmark runner: einderiv's compiled derivatives vs hand-written numpy and autodiff peers.

Usage::

    python benchmarks/run.py            # full run (sizes 10 -> 2000), writes RESULTS.md
    python benchmarks/run.py --quick    # small sizes, a few minutes
    python benchmarks/run.py --threads 2
    python benchmarks/run.py --skip-verify   # without the verify/explain section

Sections: the sweep of ``problems.py`` against hand-written numpy and the autodiff peers;
BPTT (``bptt.py``) at T = 100 for n = 8, 64, 256 and against T at n = 64; verify and explain
over the test suite's calls (``verify_speed.py``); the symbolic pipeline (parse, derive,
``to_program``); ``ed.compile`` and the first call at n = 1000; peak memory.

Everything runs in one process, float64 on the CPU, with the thread pools of numpy's
BLAS, XLA and torch pinned to the same count (set before numpy is imported).  For each
problem and size the implementations are timed interleaved (round robin), after a
warm-up call, and the median of the repeats is reported; ratios are peer time divided
by the hand-written numpy time of the same round.
"""

from __future__ import annotations

import os
import sys


def _threads_from_argv(argv: list[str]) -> int:
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return 1


def _pin(threads: int) -> None:
    """Pin thread pools (before numpy or any peer is imported: the BLAS reads these at load)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "")
        + f" --xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'}"
        + f" intra_op_parallelism_threads={threads}"
    ).strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    # XLA's CPU runtime keeps its own thread pool whatever the flags say: pin the whole
    # process to THREADS cores so that every library gets the same compute.
    if hasattr(os, "sched_setaffinity"):
        allowed = sorted(os.sched_getaffinity(0))
        if threads < len(allowed):
            os.sched_setaffinity(0, set(allowed[:threads]))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


_THREADS = _threads_from_argv(sys.argv) if __name__ == "__main__" else 1
if __name__ == "__main__":  # imported (tests) it changes nothing process-wide
    _pin(_THREADS)

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import einderiv as ed  # noqa: E402
from benchmarks import bptt  # noqa: E402
from benchmarks import peers as peer_mod  # noqa: E402
from benchmarks.problems import PROBLEMS, Problem  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# Peers whose vmapped Hessian materializes (m*k) x m x n tangents: cap the size so the
# run stays within memory (at m = n = 500, k = 4 that batch alone is 4 GB).
PEER_MAX_SIZE = {"mf-hessian": 250}
SLOW_SKIP_S = 2.0  # a peer slower than this at one size is skipped at larger sizes
GROWTH_FROM = 100  # ... as extrapolated from sizes at least this large
PRIME_BELOW_S = 0.2  # a call faster than this is timed after one untimed call of its own


def _time_call(fn: Callable[[], Any], number: int = 1) -> float:
    """Seconds per call, timing ``number`` back-to-back calls."""
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def _bench_problem(
    problem: Problem, size: int, impls: dict[str, Callable[[], Any]], budget_s: float
) -> dict[str, dict[str, float]]:
    """Warm up, then time all ``impls`` interleaved; medians, first calls, repeats."""
    out: dict[str, dict[str, float]] = {}
    single: dict[str, float] = {}
    for name, fn in impls.items():
        single[name] = _time_call(fn)  # warm-up (compiled paths, caches)
        if single[name] < PRIME_BELOW_S:
            single[name] = min(single[name], _time_call(fn))
    # Fast calls are timed in batches of >= 2 ms per sample (timer resolution, jitter).
    number = {name: max(1, min(100, int(2e-3 / max(t, 1e-9)))) for name, t in single.items()}
    # ... after one untimed call: the implementation before it in the round (a peer's
    # Hessian) leaves the caches and the allocator cold, a cost of its own, not the next's
    prime = {name: single[name] < PRIME_BELOW_S for name in impls}
    slowest = max(single.values())
    total_one_round = sum(single[name] * (number[name] + prime[name]) for name in impls)
    repeats = int(max(3, min(41, budget_s / max(total_one_round, 1e-9))))
    if slowest > SLOW_SKIP_S:
        repeats = 1 if slowest > 4 * SLOW_SKIP_S else 3
    times: dict[str, list[float]] = {name: [] for name in impls}
    names = list(impls)
    gc.collect()
    gc.disable()
    try:
        for r in range(repeats):
            order = names[r % len(names):] + names[: r % len(names)]  # rotate
            for name in order:
                if prime[name]:
                    impls[name]()
                times[name].append(_time_call(impls[name], number[name]))
    finally:
        gc.enable()
    for name in names:
        out[name] = {
            "median": statistics.median(times[name]),
            "best": min(times[name]),
            "repeats": len(times[name]),
            "number": number[name],
        }
    return out


def _check(name: str, got: Any, want: np.ndarray) -> None:
    arr = np.asarray(got).reshape(want.shape)
    if not np.allclose(arr, want, rtol=1e-7, atol=1e-9):
        raise AssertionError(f"{name} disagrees with the hand-written formula")


def run_sweep(args: argparse.Namespace, available: list[str]) -> dict[str, Any]:
    """Time every problem at every size; returns the raw results."""
    results: dict[str, Any] = {}
    budget = 0.08 if args.quick else 1.5
    for problem in PROBLEMS:
        if args.problems and problem.name not in args.problems:
            continue
        sizes = problem.sizes_quick if args.quick else problem.sizes_full
        skipped: dict[str, str] = {}
        rows = []
        for size in sizes:
            values = problem.data(size)
            dim_sizes = problem.dim_sizes(values)
            want = problem.numpy(values)
            expr = problem.build()
            compiled = ed.compile(expr)
            impls: dict[str, Callable[[], Any]] = {
                "numpy": lambda p=problem, v=values: p.numpy(v),
                "einderiv": lambda c=compiled, v=values, s=dim_sizes: c.run(v, s),
            }
            first: dict[str, float] = {}
            start = time.perf_counter()
            _check("einderiv", impls["einderiv"](), want)
            first["einderiv"] = time.perf_counter() - start
            for peer in available:
                if peer in skipped:
                    continue
                if peer != "autograd" and size > PEER_MAX_SIZE.get(problem.name, 10**9):
                    skipped[peer] = (
                        f"skipped above size {PEER_MAX_SIZE[problem.name]}: its vmapped "
                        "Hessian would not fit in memory"
                    )
                    continue
                start = time.perf_counter()
                fn = peer_mod.make(peer, problem, values)
                got = fn()
                first[peer] = time.perf_counter() - start
                _check(peer, got, want)
                if first[peer] > 8 * SLOW_SKIP_S:
                    skipped[peer] = (
                        f"skipped above size {size}: first call took {first[peer]:.1f} s"
                    )
                impls[peer] = fn
            timed = _bench_problem(problem, size, impls, budget)
            following = [s for s in sizes if s > size]
            power = 3 if problem.kind == "hessian" else 2  # row-by-row Hessians: n vjps of n^2
            growth = (following[0] / size) ** power if following else 1.0
            # below GROWTH_FROM a call's time is fixed overhead, not work: no extrapolation
            for peer in available if following and size >= GROWTH_FROM else ():
                if peer in timed and peer not in skipped and (
                    timed[peer]["median"] * growth > SLOW_SKIP_S
                ):
                    skipped[peer] = (
                        f"skipped above size {size}: {timed[peer]['median']:.2f} s per call "
                        f"there, > {SLOW_SKIP_S:.0f} s expected at the next size"
                    )
            row = {"size": size, "times": timed, "first": first}
            rows.append(row)
            line = " ".join(
                f"{k}={v['median'] * 1e3:.3f}ms" for k, v in sorted(timed.items())
            )
            print(f"{problem.name:18s} n={size:<5d} {line}", flush=True)
            del impls, values, want
            gc.collect()
        results[problem.name] = {"kind": problem.kind, "rows": rows, "skipped": skipped}
    return results


def bptt_times(
    sizes: tuple[int, ...], steps: int, against: tuple[int, ...], at: int, budget: float
) -> dict[str, Any]:
    """BPTT gradient vs the hand-written loop: at ``steps`` for each n, and against T at n = at.

    Each row: derive (build + grad) seconds, ``ed.compile`` + first call, and the interleaved
    medians of einderiv and the loop.
    """
    out: dict[str, Any] = {"steps": steps, "at": at, "by_size": [], "by_steps": []}
    cases = [("by_size", steps, n) for n in sizes] + [("by_steps", t, at) for t in against]
    exprs: dict[int, tuple[ed.Expr, float]] = {}
    for section, t, n in cases:
        if t not in exprs:
            gc.collect()
            start = time.perf_counter()
            exprs[t] = (bptt.build(t), time.perf_counter() - start)
        expr, derive = exprs[t]
        values = bptt.data(t, n)
        want = bptt.numpy_loop(values, t)
        expr._cache.pop("compiled", None)
        start = time.perf_counter()
        fn = ed.compile(expr)
        got = fn.run(values)
        first = time.perf_counter() - start
        _check("einderiv (bptt)", got, want)
        impls = {"numpy": lambda v=values, t=t: bptt.numpy_loop(v, t),
                 "einderiv": lambda f=fn, v=values: f.run(v)}
        timed = _bench_problem(None, n, impls, budget)
        row = {"n": n, "steps": t, "derive": derive, "first": first, "times": timed}
        out[section].append(row)
        print(f"bptt T={t:<4d} n={n:<4d} derive={derive * 1e3:.0f}ms first={first * 1e3:.1f}ms "
              f"numpy={timed['numpy']['median'] * 1e3:.3f}ms "
              f"einderiv={timed['einderiv']['median'] * 1e3:.3f}ms", flush=True)
    return out


#: the problems' losses as text, for the parse -> derive -> to_program pipeline
TEXT: dict[str, tuple[str, str]] = {
    "quadratic": ("x @ A @ x", "x[n] A[n,n]"),
    "logistic": ("sum(softplus(-y * (X @ w)))", "w[n] X[m,n] y[m]"),
    "lsq": ("sum((X @ w - y)**2)", "w[n] X[m,n] y[m]"),
    "mf": ("sum((T - U @ V.T)**2)", "U[m,k] V[n,k] T[m,n]"),
    "rnn": ("tanh(Waa @ a_prev + Wax @ x + ba)",
            "Waa[n,n] Wax[n,k] a_prev[n,b] x[k,b] ba[n,1]"),
    "mlp": ("tanh(X @ W + bias)", "W[k,n] X[b,k] bias[n]"),
}


def _derive_text(problem: Problem) -> ed.Expr:
    text, shapes = TEXT[problem.family]
    e = ed.parse(text, shapes=shapes)
    wrt = problem.args[0]
    if problem.kind == "gradient":
        return ed.grad(e, wrt)
    if problem.kind == "hessian":
        return ed.hessian(e, wrt)
    return ed.vjp(e, wrt, problem.cotangent or "g")


def symbolic_times(repeats: int) -> dict[str, dict[str, Any]]:
    """Median time of build (derive + simplify) and render (to_numpy) per problem."""
    out: dict[str, dict[str, Any]] = {}
    for problem in PROBLEMS:
        derive: list[float] = []
        render: list[float] = []
        pipeline: list[float] = []
        collector_off: list[float] = []
        rendered = True
        for _ in range(repeats):
            gc.collect()
            start = time.perf_counter()
            _derive_text(problem).to_program()
            pipeline.append(time.perf_counter() - start)
            gc.collect()
            gc.disable()  # the same work without Python's cyclic collector pausing it
            try:
                start = time.perf_counter()
                _derive_text(problem).to_program()
                collector_off.append(time.perf_counter() - start)
            finally:
                gc.enable()
            gc.collect()  # drop interned nodes from the previous round: a cold pipeline
            start = time.perf_counter()
            expr = problem.build()
            mid = time.perf_counter()
            try:
                expr.to_numpy()
            except Exception:  # noqa: BLE001 - rendering is optional for the pipeline time
                rendered = False
            end = time.perf_counter()
            derive.append(mid - start)
            render.append(end - mid)
            del expr
        out[problem.name] = {
            "derive": statistics.median(derive),
            "render": statistics.median(render) if rendered else None,
            "parse_derive_program": statistics.median(pipeline),
            "parse_derive_program_gc_off": statistics.median(collector_off),
        }
    return out


def compile_times(size: int) -> dict[str, dict[str, float]]:
    """``ed.compile`` plus first call (planning contraction paths) at ``size``."""
    out: dict[str, dict[str, float]] = {}
    for problem in PROBLEMS:
        values = problem.data(min(size, max(problem.sizes_full)))
        sizes = problem.dim_sizes(values)
        expr = problem.build()
        expr._cache.pop("compiled", None)
        # The hand-written formula first: the first large allocation of a result in a
        # process pays the OS's page faults (380 ms for mf-hessian's 128 MB), not ours.
        start = time.perf_counter()
        problem.numpy(values)
        hand = time.perf_counter() - start
        start = time.perf_counter()
        fn = ed.compile(expr)
        mid = time.perf_counter()
        fn.run(values, sizes)
        end = time.perf_counter()
        fn.run(values, sizes)
        again = time.perf_counter() - end
        out[problem.name] = {
            "compile": mid - start, "first_call": end - mid, "second": again, "hand": hand,
            "size": min(size, max(problem.sizes_full)),
        }
    return out


def memory_peaks(cases: list[tuple[str, int]]) -> dict[str, dict[str, float]]:
    """tracemalloc peak (bytes) of einderiv's compiled call vs the hand-written formula."""
    by_name = {p.name: p for p in PROBLEMS}
    out: dict[str, dict[str, float]] = {}
    for name, size in cases:
        problem = by_name[name]
        values = problem.data(size)
        sizes = problem.dim_sizes(values)
        fn = ed.compile(problem.build())
        fn.run(values, sizes)  # plan outside the measurement
        peaks = {}
        for label, call in (
            ("numpy", lambda p=problem, v=values: p.numpy(v)),
            ("einderiv", lambda f=fn, v=values, s=sizes: f.run(v, s)),
        ):
            gc.collect()
            tracemalloc.start()
            result = call()
            peaks[label] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            peaks["result"] = np.asarray(result).nbytes
            del result
        out[f"{name} n={size}"] = peaks
    return out


def environment(available: list[str], missing: dict[str, str]) -> dict[str, Any]:
    """Versions, CPU and thread settings, for the report."""
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    import opt_einsum

    versions["opt_einsum"] = opt_einsum.__version__
    from importlib.metadata import PackageNotFoundError, version

    for peer in available:
        try:
            versions[peer] = version(peer)
        except PackageNotFoundError:  # pragma: no cover
            versions[peer] = "?"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "versions": versions,
        "cpu": cpu,
        "cores": os.cpu_count(),
        "threads": _THREADS,
        "missing": missing,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few minutes")
    parser.add_argument("--full", action="store_true", help="full sweep (the default)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/XLA/torch threads")
    parser.add_argument("--problems", nargs="*", help="only these problems (by name)")
    parser.add_argument("--out", help="Markdown report path (default benchmarks/RESULTS.md)")
    parser.add_argument("--no-peers", action="store_true", help="einderiv vs numpy only")
    parser.add_argument("--skip-verify", action="store_true",
                        help="leave out verify/explain over the test suite's calls")
    args = parser.parse_args(argv)

    available, missing = ([], {}) if args.no_peers else peer_mod.available()
    peer_mod.configure(_THREADS)
    for name, why in missing.items():
        print(f"note: peer {name} skipped ({why})", flush=True)

    started = time.perf_counter()
    load_start = os.getloadavg() if hasattr(os, "getloadavg") else None
    sweep = run_sweep(args, available)
    if args.quick:
        recurrent = bptt_times((8, 64), 20, (5, 20), 8, 0.05)
    else:
        recurrent = bptt_times((8, 64, 256), 100, (10, 25, 50, 100, 200), 64, 1.5)
    checks: dict[str, Any] = {}
    if not args.skip_verify:
        from benchmarks import verify_speed

        checks = verify_speed.collect(big=False)  # the big inputs: verify_speed.py --big
    symbolic = symbolic_times(3 if args.quick else 15)
    compiled = compile_times(300 if args.quick else 1000)
    if args.quick:
        memory = memory_peaks([("logistic-hessian", 200), ("mf-hessian", 200)])
    else:
        memory = memory_peaks(
            [("logistic-hessian", 2000), ("mf-hessian", max(PROBLEMS[7].sizes_full))]
        )
    env = environment(available, missing)
    env["wall_s"] = time.perf_counter() - started
    env["mode"] = "quick" if args.quick else "full"
    env["load_start"] = load_start

    from benchmarks.report import write_report

    default = "RESULTS.md" if _THREADS == 1 else f"RESULTS-threads{_THREADS}.md"
    if args.quick:
        default = default.replace(".md", "-quick.md")
    out = args.out or os.path.join(HERE, default)
    raw = {"env": env, "sweep": sweep, "symbolic": symbolic, "compile": compiled,
           "memory": memory, "bptt": recurrent, "verify": checks}
    with open(out.replace(".md", ".json"), "w") as handle:
        json.dump(raw, handle, indent=1, default=float)
    write_report(raw, out, available)
    print(f"wrote {out} ({env['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
