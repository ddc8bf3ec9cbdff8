"""The fuzz worker: a child process that runs one entry point call per request.

Run as ``python fuzz_worker.py MEMORY_BYTES``.  It limits its own address space to
``MEMORY_BYTES`` (``resource.setrlimit(RLIMIT_AS)``) before importing einderiv, then reads
pickled requests ``(entry, args)`` from stdin and writes one pickled reply per request on
stdout: ``(kind, exception type, message, canary)`` where kind is ``ok`` (returned),
``error`` (an EinderivError), ``memory`` (MemoryError under the limit) or ``escape``
(anything else), and ``canary`` says whether the canary environment variable or marker
file appeared -- which only code executed from user text could do.  Frames are a 4-byte
length then the pickle.  The process's own stdout and stdin are pointed at /dev/null, so
nothing einderiv prints can corrupt the replies.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import resource
import struct
import sys
import traceback
from pathlib import Path

CANARY_ENV = "EINDERIV_FUZZ_CANARY"
CANARY_FILE = "EINDERIV_FUZZ_CANARY"


def _read(stream) -> object:
    head = stream.read(4)
    if len(head) < 4:
        return None
    (size,) = struct.unpack("!I", head)
    return pickle.loads(stream.read(size))


def _write(stream, value: object) -> None:
    data = pickle.dumps(value)
    stream.write(struct.pack("!I", len(data)) + data)
    stream.flush()


_EDITS = [(" @ ", " * "), (" * ", " @ "), (".T", ""), (" + ", " - "), (" - ", " + "),
          ("x", "x.T"), ("W", "W.T"), ("(", "2 * ("), ("A", "A.T"), (" @ ", " @ A @ ")]


def edit_claim(text: str, seed: int) -> str:
    """One of the common mistakes applied at one place of ``text`` (seeded)."""
    import random

    rng = random.Random(seed)
    old, new = rng.choice(_EDITS)
    spots = [i for i in range(len(text)) if text.startswith(old, i)]
    if not spots:
        return f"2 * ({text})" if rng.random() < 0.5 else f"-({text})"
    i = rng.choice(spots)
    return text[:i] + new + text[i + len(old):]


def run(entry: str, args: dict) -> object:
    """Call one entry point of einderiv with ``args`` (plain data built by the parent)."""
    import numpy as np

    import einderiv as ed

    def parsed():
        e = ed.parse(args["text"], shapes=args.get("shapes"))
        derive = args.get("derive")  # ("vjp", wrt, cotangent), ("grad", wrt), ...
        return getattr(ed, derive[0])(e, *derive[1:]) if derive else e

    if entry == "symbols":
        return ed.symbols(args["spec"])
    if entry == "parse":
        return ed.parse(args["text"], shapes=args.get("shapes"), **args.get("kw", {}))
    if entry == "render":
        e = parsed()
        return [e.to_numpy(), e.to_latex(), e.to_index(), e.to_einsum(), e.shape]
    if entry == "einsum":
        operands = [ed.symbols(spec) if isinstance(spec, str) else spec
                    for spec in args["operands"]]
        return ed.einsum(args["subscripts"], *operands)
    if entry in ("diff", "grad", "vjp", "jvp", "hessian"):
        f = parsed()
        extra = [args["other"]] if "other" in args else []
        return getattr(ed, entry)(f, args["wrt"], *extra)
    if entry in ("evaluate", "compile"):
        f = parsed()
        values = args["values"]
        if entry == "evaluate":
            return f.evaluate(values, **args.get("kw", {}))
        return ed.compile(f, **args.get("kw", {}))(**values)
    if entry == "verify":
        claim = args["claim"]
        if claim is None:  # the true derivative's own text, maybe with an edit
            f = parsed()
            cot = args.get("cotangent")
            truth = (ed.vjp(f, args["wrt"], cot) if cot is not None else
                     ed.grad(f, args["wrt"]) if not f.dims else ed.diff(f, args["wrt"]))
            claim = truth.to_numpy()
            if args.get("edit") is not None:
                claim = edit_claim(claim, args["edit"])
        return ed.verify(claim, args["text"], args["wrt"], args.get("cotangent"),
                         args.get("where"), shapes=args.get("shapes"))
    if entry == "explain":
        f = parsed() if isinstance(args["text"], str) else args["text"]
        return ed.explain(f, args["wrt"], args.get("cotangent"), **args.get("kw", {}))
    if entry == "codegen":
        e = parsed()
        source = ed.codegen(e, **args.get("kw", {}))
        code = compile(source, "<codegen>", "exec")
        if source.startswith("import numpy"):  # not jax or torch: their imports are slow
            exec(code, {})  # noqa: S102 - einderiv's own output; the canary must not fire
        text = e.to_numpy()
        values = {name: np.ones([3] * len(sym.dims)) for name, sym in e.symbols().items()}
        with contextlib.suppress(Exception):  # the canary is what matters here
            eval(text, {"np": np, **values})  # noqa: S307 - einderiv's own output
        return source
    if entry == "cli":
        from einderiv.cli import main

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(args["argv"])
        if code not in (0, 1, 2):
            raise AssertionError(f"exit code {code}: {err.getvalue().strip()[:300]}")
        return code
    raise ValueError(f"unknown entry {entry!r}")


def serve(memory: int) -> None:
    """Answer requests until stdin closes."""
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    if memory:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    from einderiv.errors import EinderivError

    marker = Path(CANARY_FILE)
    _write(replies, ("ready", "", "", False))
    while True:
        request = _read(requests)
        if request is None:
            return
        entry, args = request
        try:
            run(entry, args)
            reply = ("ok", "", "")
        except EinderivError as err:
            reply = ("error", type(err).__name__, str(err).splitlines()[0][:300])
        except MemoryError as err:
            reply = ("memory", type(err).__name__, str(err)[:300])
        except BaseException as err:  # noqa: BLE001 - an escape is what we look for
            tb = traceback.extract_tb(err.__traceback__)
            where = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(tb)
                          if "einderiv" in f.filename), "")
            reply = ("escape", type(err).__name__, f"{str(err)[:300]} [{where}]")
        canary = bool(os.environ.get(CANARY_ENV)) or marker.exists()
        _write(replies, (*reply, canary))


if __name__ == "__main__":
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
