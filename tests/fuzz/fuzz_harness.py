"""The parent side of the fuzz suite: a worker process with a memory limit, run with a
timeout per input, and the counts that the terminal summary prints.

A :class:`Worker` starts ``fuzz_worker.py`` (address space limited to
:data:`MEMORY_BYTES`) in an empty directory and sends it one request at a time; an input
that takes longer than its timeout is a hang (the worker is killed and restarted), and a
worker that dies is a crash.  :data:`STATS` collects, per entry point, how many inputs
were tried and how each ended; ``tests/fuzz/conftest.py`` prints it with the seed.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).resolve().parent / "fuzz_worker.py"

#: the worker's address-space limit
MEMORY_BYTES = 1536 * 2**20

#: seconds one input may take before it counts as a hang
TIMEOUT = 8.0

#: the seed of every generator (``EINDERIV_FUZZ_SEED`` overrides it)
SEED = int(os.environ.get("EINDERIV_FUZZ_SEED", "20261201"))

#: per entry point: Counter of outcome kinds ("ok", "error", "known", ...)
STATS: dict[str, Counter] = {}


@dataclass(frozen=True)
class Outcome:
    """How one input ended: ``kind`` is ok, error, memory, escape, hang or crash."""

    kind: str
    type: str = ""
    message: str = ""
    canary: bool = False

    def describe(self) -> str:
        return f"{self.kind}: {self.type}: {self.message}" if self.type else self.kind


class Worker:
    """One worker process in ``directory``; restarted after a hang or a crash."""

    def __init__(self, directory: Path, memory: int = MEMORY_BYTES) -> None:
        self.directory = directory
        self.memory = memory
        self.proc: subprocess.Popen | None = None
        self.stderr = directory / "worker.stderr"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EINDERIV_FUZZ_CANARY")}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep)
        env["PYTHONHASHSEED"] = "0"
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), str(self.memory)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=open(self.stderr, "ab"),  # noqa: SIM115 - the child keeps it
            cwd=self.directory, env=env,
        )
        ready = self._reply(120.0)
        if ready is None or ready.kind != "ready":
            raise RuntimeError(f"the fuzz worker did not start: {self.stderr.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def _reply(self, timeout: float) -> Outcome | None:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        data = b""
        need = 4
        size = None
        while len(data) < need:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, need - len(data))
            if not chunk:
                return Outcome("crash", "", f"exit status {self.proc.poll()}")
            data += chunk
            if size is None and len(data) == 4:
                (size,) = struct.unpack("!I", data)
                need = 4 + size
        kind, type_, message, canary = pickle.loads(data[4:])
        return Outcome(kind, type_, message, canary)

    def run(self, entry: str, args: dict, timeout: float = TIMEOUT) -> Outcome:
        """Run one input; a hang or a crash restarts the worker."""
        if self.proc is None:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None
        frame = pickle.dumps((entry, args))
        try:
            self.proc.stdin.write(struct.pack("!I", len(frame)) + frame)
            self.proc.stdin.flush()
        except BrokenPipeError:
            self.stop()
            return Outcome("crash", "", "the worker had died")
        outcome = self._reply(timeout)
        if outcome is None:
            self.stop()
            return Outcome("hang", "", f"no answer within {timeout:g} s")
        if outcome.kind == "crash":
            self.stop()
        return outcome


def record(entry: str, kind: str) -> None:
    """Count one input of ``entry`` that ended as ``kind``."""
    STATS.setdefault(entry, Counter())[kind] += 1
