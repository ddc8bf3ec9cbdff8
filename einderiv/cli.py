"""Command-line interface: ``einderiv diff|grad|vjp|jvp|hessian|verify|explain``.

Contract: exit code 0 on success (for ``verify``: the claim holds), 1 when ``verify``
finds the claim wrong, 2 on bad input or when the output cannot be written (stdout
closed, disk full), with the message on stderr, and 3 only for a bug in einderiv
(``internal error ... please report it``).  A reader that closes the pipe early
(``| head``) is not an error.  Output is plain text on a pipe; colour only on a terminal
(and never with ``NO_COLOR`` set); a stream that cannot encode einderiv's symbols gets
their ASCII spellings (:mod:`einderiv.terminal`).

>>> main(["grad", "x @ A @ x", "--shapes", "x[n] A[n,n]", "--wrt", "x"])
(A + A.T) @ x
0
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from einderiv.errors import EinderivError
from einderiv.terminal import write
from einderiv.text.parser import parse

EXAMPLES = """\
examples:
  einderiv grad "x @ A @ x" --shapes "x[n] A[n,n]" --wrt x
  einderiv vjp "tanh(Waa @ a_prev + Wax @ x + ba)" \\
      --shapes "Waa[n,n] Wax[n,k] a_prev[n,m] x[k,m] ba[n,1]" --wrt Waa --cotangent da
  einderiv diff "X @ W" --shapes "X[p,q] W[q,r]" --wrt X --format index
  einderiv vjp "z = W @ x + b; a = tanh(z)" --shapes "W[n,m] x[m] b[n]" --wrt W \\
      --cotangent da --format program
  einderiv hessian "sum(log1p(exp(-y * (X @ w))))" --shapes "X[n,d] w[d] y[n]" --wrt w
  einderiv verify "a_prev.T @ dz" "tanh(Waa @ a_prev + Wax @ x + ba)" \\
      --shapes "Waa[n,n] Wax[n,k] a_prev[n,m] x[k,m] ba[n,1]" --wrt Waa --cotangent da \\
      --where "dz=da * (1 - a**2)" --where "a=tanh(Waa @ a_prev + Wax @ x + ba)"
  einderiv verify "2 * A" "x @ A @ x" --shapes "x[n] A[n,n]" --wrt x --hessian
  einderiv explain "W @ x" --shapes "W[n,m] x[m]" --wrt x --cotangent g > derivation.md

exit codes: 0 success (verify: the claim holds), 1 verify: the claim is wrong,
            2 bad input, or the output cannot be written (message on stderr),
            3 internal error (a bug in einderiv: please report it)
"""

FORMATS = ("numpy", "program", "latex", "index", "einsum", "json", "markdown")


class _OutputError(Exception):
    """The output could not be written (no stream, a closed descriptor, a full disk)."""


class _ArgumentParser(argparse.ArgumentParser):
    """argparse, except that help which cannot be written is an error, not silence."""

    def print_help(self, file: Any = None) -> None:  # noqa: D102 - argparse's
        problem = write(self.format_help().rstrip("\n"), file or sys.stdout)
        if problem is not None and problem.kind == "failed":
            raise _OutputError(problem.reason)


def _parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="einderiv",
        description="Differentiate tensor expressions in einsum / index notation, show the "
        "result in matrix form, explain derivations and check claimed gradient formulas.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    helps = {
        "diff": "full derivative tensor (f's dims, then wrt's dims)",
        "grad": "gradient of a scalar expression",
        "vjp": "backprop a cotangent (upstream gradient) to wrt",
        "jvp": "forward-mode derivative along a tangent",
        "hessian": "Hessian of a scalar expression",
        "verify": "check a claimed derivative formula",
        "explain": "write a step-by-step derivation (Markdown)",
    }
    for name, text in helps.items():
        p = sub.add_parser(
            name,
            help=text,
            description=text,
            epilog=EXAMPLES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name == "verify":
            p.add_argument("claim", help="the claimed formula, e.g. 'dz @ a_prev.T'")
        p.add_argument("expression", help="the function, numpy-like text (several lines allowed)")
        p.add_argument("--shapes", required=True, help="symbol dims, e.g. 'W[n,m] x[m] A[n,n]:sym'")
        p.add_argument("--wrt", required=True, help="the symbol to differentiate with respect to")
        if name in ("vjp", "verify", "explain"):
            p.add_argument(
                "--cotangent",
                default="g" if name == "vjp" else None,
                help="name of the upstream gradient (shaped like the expression)",
            )
        if name == "jvp":
            p.add_argument("--tangent", default="V", help="name of the tangent (shaped like wrt)")
        if name == "verify":
            p.add_argument(
                "--hessian",
                action="store_true",
                help="judge the claim as the Hessian of a scalar expression (wrt's dims twice)",
            )
            p.add_argument(
                "--where",
                action="append",
                default=[],
                metavar="NAME=EXPR",
                help="an intermediate the claim uses (repeatable)",
            )
        if name == "explain":
            p.add_argument("--format", choices=("markdown",), default="markdown",
                           help="output format (a derivation is always Markdown)")
        elif name != "verify":
            p.add_argument("--format", choices=FORMATS, default="numpy", help="output format")
        else:
            p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
        p.add_argument("--no-color", action="store_true", help="never colour the output")
    return parser


def _colour(text: str, code: str, stream: TextIO | None, enabled: bool) -> str:
    if not enabled or os.environ.get("NO_COLOR") or not getattr(stream, "isatty", lambda: False)():
        return text
    return f"\033[{code}m{text}\033[0m"


def _format(expr, fmt: str, name: str) -> str:
    if fmt == "numpy":
        return expr.to_numpy()
    if fmt == "program":  # the readable form: numpy lines with named intermediates
        return expr.to_program(name)
    if fmt == "latex":
        return expr.to_latex()
    if fmt == "index":  # the readable form's lines in index notation, no numpy inside
        from einderiv.explanation import index_program

        return index_program(expr, name)
    if fmt == "einsum":
        return expr.to_einsum()
    if fmt == "json":
        payload = {
            "shape": list(expr.dims),
            "numpy": expr.to_numpy(),
            "program": expr.to_program(name),
            "latex": expr.to_latex(),
            "latex_where": expr.to_latex(where=True, name=name),
            "index": expr.to_index(),
            "einsum": expr.to_einsum(),
        }
        return json.dumps(payload, indent=2, ensure_ascii=False)
    raise AssertionError(fmt)  # pragma: no cover


def _emit(text: str, out: TextIO | None) -> None:
    """Print ``text``; a reader that closed the pipe early (``| head``) is not an error.

    Raises _OutputError when nothing can be written (``>&-``, ``>/dev/full``).
    """
    problem = write(text, out)
    if problem is not None and problem.kind == "failed":
        raise _OutputError(problem.reason)


def _where(items: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip().isidentifier():
            raise EinderivError(
                f"--where {item!r}: write NAME=EXPRESSION, e.g. --where 'dz=da * (1 - a**2)'"
            )
        found[name.strip()] = text.strip()
    return found


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Carry out one parsed command; return the exit code."""
    import einderiv as ed

    f = parse(args.expression, shapes=args.shapes)
    colour = not args.no_color
    if args.command == "verify":
        verdict = ed.verify(
            args.claim, f, args.wrt, cotangent=args.cotangent, where=_where(args.where),
            hessian=args.hessian,
        )
        if args.format == "json":
            _emit(json.dumps(verdict.to_json(), indent=2, ensure_ascii=False), out)
        elif args.format == "markdown":
            _emit(verdict._repr_markdown_(), out)
        else:
            head = (
                _colour("✓ correct", "32", out, colour)
                if verdict.ok
                else _colour("✗ wrong", "31", out, colour)
            )
            _emit(head, out)
            _emit(verdict.message, out)
        return 0 if verdict.ok else 1
    if args.command == "explain" or args.format == "markdown":
        kind = {
            "explain": None,
            "grad": "grad",
            "hessian": "hessian",
            "diff": "diff",
            "vjp": "vjp",
            "jvp": "diff",
        }[args.command]
        cot = getattr(args, "cotangent", None)
        _emit(ed.explain(f, args.wrt, cotangent=cot, kind=kind, text=args.expression), out)
        return 0
    wrt = args.wrt if isinstance(args.wrt, str) else "x"
    if args.command == "diff":
        result, name = ed.diff(f, args.wrt), "F"
    elif args.command == "grad":
        result, name = ed.grad(f, args.wrt), f"d{wrt}"
    elif args.command == "vjp":
        result, name = ed.vjp(f, args.wrt, args.cotangent), f"d{wrt}"
    elif args.command == "jvp":
        result, name = ed.jvp(f, args.wrt, args.tangent), "df"
    else:
        result, name = ed.hessian(f, args.wrt), "H"
    _emit(_format(result, args.format, name), out)
    return 0


def _report(message: str) -> None:
    """Print ``message`` on stderr as well as it can be printed (stderr may be closed too)."""
    write(message, sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``einderiv`` console script; returns the exit code.

    0 success, 1 a claim ``verify`` finds wrong, 2 bad input or output that cannot be
    written, 3 a bug in einderiv; 130 when interrupted (Ctrl-C).
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help exits 0, usage errors exit 2
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except _OutputError as err:
        _report(f"einderiv: error: cannot write the help ({err})")
        return 2
    if args.command is None:
        if sys.stderr is not None:
            parser.print_help(sys.stderr)
        return 2
    try:
        return run(args, sys.stdout)
    except EinderivError as err:
        _report(f"einderiv: error: {err}")
        return 2
    except _OutputError as err:
        _report(
            f"einderiv: error: cannot write the output ({err}); check where stdout goes "
            "(a closed descriptor, a full disk)"
        )
        return 2
    except MemoryError:
        _report(
            "einderiv: error: not enough memory for this input; use fewer or smaller "
            "dimensions (a full derivative has the dims of f and of wrt together: vjp or "
            "jvp is much smaller)"
        )
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # a bug in einderiv, not bad input: say so, distinctly
        _report(f"einderiv: internal error ({type(err).__name__}: {err}); please report it")
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
