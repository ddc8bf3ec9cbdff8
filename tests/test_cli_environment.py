"""The command line in a hostile environment: closed, full or cut-off stdout, an ASCII-only
terminal, huge inputs.  Exit codes are exactly the documented ones (docs/cli.md): 0 ok,
1 a wrong claim, 2 bad input or output that cannot be written, 3 only for a bug."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GRAD = ["grad", "x @ A @ x", "--shapes", "x[n] A[n,n]", "--wrt", "x"]
EXPLAIN = ["explain", "W @ x", "--shapes", "W[n,m] x[m]", "--wrt", "x", "--cotangent", "g"]
WRONG = ["verify", "W @ g", "W @ x", "--shapes", "W[n,m] x[m]", "--wrt", "x", "--cotangent", "g"]
RIGHT = ["verify", "W.T @ g", "W @ x", "--shapes", "W[n,m] x[m]", "--wrt", "x",
         "--cotangent", "g"]


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra}
    env.pop("PYTHONIOENCODING", None)
    env.update(extra)
    return env


def run(args, *, env=None, **kwargs) -> subprocess.CompletedProcess:
    if "stdout" not in kwargs:
        kwargs["capture_output"] = True
    return subprocess.run([sys.executable, "-m", "einderiv", *args], timeout=120,
                          env=env or _env(), **kwargs)


def shell(args, redirect: str) -> subprocess.CompletedProcess:
    """``einderiv ARGS REDIRECT`` through bash; the exit status is einderiv's."""
    line = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "einderiv", *args])
    return subprocess.run(["bash", "-c", f"{line} {redirect}; exit ${{PIPESTATUS[0]}}"],
                          capture_output=True, timeout=120, env=_env(), text=True)


def _no_traceback(stderr) -> None:
    text = stderr if isinstance(stderr, str) else stderr.decode("utf-8", "replace")
    assert "Traceback" not in text and "internal error" not in text, text


# -- where the output goes ------------------------------------------------------------


@pytest.mark.parametrize("args", [GRAD, EXPLAIN, WRONG, ["--help"]], ids=lambda a: a[0])
def test_closed_stdout_is_bad_input_not_a_bug(args):
    out = shell(args, ">&-")
    assert out.returncode == 2, out.stderr
    assert "cannot write the" in out.stderr and "closed" in out.stderr
    _no_traceback(out.stderr)


@pytest.mark.parametrize("args", [GRAD, EXPLAIN, RIGHT, ["--help"]], ids=lambda a: a[0])
def test_full_disk_is_bad_input_not_a_bug(args):
    with open("/dev/full", "w") as full:
        out = run(args, stdout=full, stderr=subprocess.PIPE)
    assert out.returncode == 2, out.stderr
    assert b"No space left on device" in out.stderr
    _no_traceback(out.stderr)


@pytest.mark.parametrize(("args", "code"), [(EXPLAIN, 0), (GRAD, 0), (WRONG, 1), (RIGHT, 0),
                                            (["--help"], 0)],
                         ids=["explain", "grad", "verify-wrong", "verify-right", "help"])
def test_reader_closing_the_pipe_keeps_the_exit_code(args, code):
    big = ["explain", "tanh(" * 40 + "x" + ")" * 40, "--shapes", "x[n]", "--wrt", "x"]
    for command in (args, big) if args is EXPLAIN else (args,):
        out = shell(command, "| head -c 1 >/dev/null")
        assert out.returncode == code, out.stderr
        assert out.stderr == ""


def test_closed_stderr_and_stdout_still_exit_with_the_documented_code():
    bad = ["grad", "x @ q", "--shapes", "x[n]", "--wrt", "x"]
    assert shell(bad, "2>&-").returncode == 2
    assert shell(GRAD, ">&- 2>&-").returncode == 2
    assert shell(WRONG, "2>&- >/dev/null").returncode == 1


# -- terminals that cannot encode einderiv's symbols ---------------------------------


ASCII_CASES = [
    (EXPLAIN, 0, ["# Derivation", "\\partial"]),
    (["explain", "sum(W @ x)", "--shapes", "W[n,m] x[m]", "--wrt", "W"], 0, ["df/dW"]),
    (WRONG, 1, ["[x] wrong", "sum_i W_ia g_i"]),
    (RIGHT, 0, ["[ok] correct", "dx_a = sum_i W_ia g_i"]),
    ([*WRONG, "--format", "json"], 1, ['"ok": false']),
    ([*WRONG, "--format", "markdown"], 1, ["wrong"]),
    (["diff", "X @ W", "--shapes", "X[p,q] W[q,r]", "--wrt", "X", "--format", "index"], 0,
     ["F_abcd = delta_ac W_db"]),
    (["diff", "X @ W", "--shapes", "X[p,q] W[q,r]", "--wrt", "X", "--format", "json"], 0,
     ["delta_ac"]),
    (["vjp", "X @ W", "--shapes", "X[p,q] W[q,r]", "--wrt", "X", "--format", "markdown"], 0,
     ["Derivation"]),
]


@pytest.mark.parametrize(("args", "code", "needles", "encoding"),
                         [(*case, "ascii") for case in ASCII_CASES]
                         + [(*case, "latin-1") for case in ASCII_CASES[2:4]],
                         ids=[" ".join(case[0][:1] + case[0][-2:]) for case in ASCII_CASES]
                         + ["latin-1 verify wrong", "latin-1 verify right"])
def test_ascii_terminal_gets_ascii_spellings(args, code, needles, encoding):
    out = run(args, env=_env(PYTHONIOENCODING=encoding))
    assert out.returncode == code, out.stderr
    text = out.stdout.decode("ascii")  # raises if anything non-ASCII got through
    for needle in needles:
        assert needle in text, text
    _no_traceback(out.stderr)
    if "json" in args:
        json.loads(text)


def test_ascii_terminal_error_messages_escape_the_users_text():
    out = run(["grad", "x @ λ", "--shapes", "x[n]", "--wrt", "x"],
              env=_env(PYTHONIOENCODING="ascii"))
    assert out.returncode == 2
    message = out.stderr.decode("ascii")
    assert "unknown name '\\u03bb'" in message and "^" in message


def test_utf8_terminal_keeps_the_symbols():
    out = run(["diff", "X @ W", "--shapes", "X[p,q] W[q,r]", "--wrt", "X", "--format", "index"],
              env=_env(PYTHONIOENCODING="utf-8"))
    assert out.returncode == 0
    assert out.stdout.decode("utf-8").strip() == "F_abcd = δ_ac W_db"


# -- inputs past internal limits -----------------------------------------------------


RANK_1000 = "x[" + ",".join(f"d{i}" for i in range(1000)) + "]"


@pytest.mark.parametrize("command", ["grad", "diff"])
def test_rank_1000_shapes_print_without_einsum_letters(command):
    out = run([command, "sum(x)", "--shapes", RANK_1000, "--wrt", "x"])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == b"np.ones_like(x)"


def test_rank_1000_shapes_is_a_clear_error():
    out = run(["diff", "x * x", "--shapes", RANK_1000, "--wrt", "x"])
    assert out.returncode == 2, out.stderr
    assert b"more than 52 indices" in out.stderr and b"to_index()" in out.stderr
    _no_traceback(out.stderr)


def test_rank_1000_index_form_still_prints():
    out = run(["grad", "sum(x)", "--shapes", RANK_1000, "--wrt", "x", "--format", "index"])
    assert out.returncode == 0, out.stderr
    assert out.stdout.decode().strip().endswith("= 1")


def test_rank_1000_verify_is_a_verdict_or_a_clear_error():
    right = run(["verify", "g", "x", "--shapes", RANK_1000, "--wrt", "x", "--cotangent", "g"])
    assert right.returncode == 0, right.stderr  # equal forms: no sampling needed
    wrong = run(["verify", "2 * g", "x", "--shapes", RANK_1000, "--wrt", "x", "--cotangent", "g"])
    assert wrong.returncode == 2, wrong.stderr
    assert b"entries" in wrong.stderr and b"smaller instance" in wrong.stderr
    _no_traceback(wrong.stderr)


def test_rank_1000_explain_is_a_clear_error():
    out = run(["explain", "sum(x)", "--shapes", RANK_1000, "--wrt", "x"])
    assert out.returncode in (0, 2), out.stderr
    _no_traceback(out.stderr)


def test_where_chain_in_reverse_order_from_the_cli():
    where = [f"--where=h{k}=h{k - 1} + x" for k in range(999, 0, -1)]
    out = run(["verify", "h999", "x @ A @ x", "--shapes", "x[n] A[n,n]", "--wrt", "x",
               "--where", "h0=A @ x", *where])
    assert out.returncode == 1, out.stderr  # a verdict: wrong
    assert b"Correct: " in out.stdout
    _no_traceback(out.stderr)


def test_internal_errors_are_reported_distinctly(monkeypatch, capsys):
    """Exit 3 is kept for bugs: an exception that is not an EinderivError."""
    from einderiv import cli

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "run", broken)
    assert cli.main(GRAD) == 3
    assert "internal error (ZeroDivisionError: a bug); please report it" in capsys.readouterr().err


def test_out_of_memory_is_bad_input(monkeypatch, capsys):
    from einderiv import cli

    def hungry(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(cli, "run", hungry)
    assert cli.main(GRAD) == 2
    assert "not enough memory" in capsys.readouterr().err
