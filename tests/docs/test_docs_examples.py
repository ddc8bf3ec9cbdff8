"""Every example in README.md and docs/*.md runs and shows what the text says it shows.

Python blocks are executed in order, one namespace per page; a statement followed by a
comment that is a Python literal (``# 'A + A.T'``, ``# (False, ('transposed',), 'x')``)
must evaluate to that literal, and ``print(x)  # text`` must print ``text`` unless the
comment is one of the explanatory notes listed in ``PROSE``.  ``>>>`` lines in text
blocks must raise the error shown under them.  ``einderiv`` command lines in bash blocks
run through the CLI; the comment lines under a command give its expected output (``...``
matches anything) and a ``✗`` says the exit code is 1 (a wrong claim).
"""

from __future__ import annotations

import ast
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["README.md", "docs/index.md", "docs/api.md", "docs/text.md", "docs/symmetric.md",
         "docs/cli.md", "docs/rules.md", "docs/backends.md"]
PROSE = {
    "the 4-D Jacobian",
    "index notation with the summed index named",
    "the mistake (transposed), the correct form dz @ a_prev.T, and why",
}


def _blocks(page: str, lang: str) -> list[str]:
    text = (ROOT / page).read_text()
    return re.findall(rf"```{lang}\n(.*?)```", text, re.S)


def _comment_after(lines: list[str], stmt: ast.stmt) -> str | None:
    """The comment that shows a statement's result: a Python literal on its last line or
    on the line right after it, else the first comment there (a note)."""
    found = []
    tail = lines[stmt.end_lineno - 1][stmt.end_col_offset:]
    if "#" in tail:
        found.append(tail.split("#", 1)[1].strip())
    if stmt.end_lineno < len(lines):
        nxt = lines[stmt.end_lineno].strip()
        if nxt.startswith("#"):
            found.append(nxt[1:].strip())
    for comment in found:
        try:
            ast.literal_eval(comment)
        except (ValueError, SyntaxError):
            continue
        return comment
    return found[0] if found else None


def _printed_comment(lines: list[str], stmt: ast.stmt) -> list[str]:
    """The consecutive comment lines right after a statement (a print's output)."""
    shown = []
    for line in lines[stmt.end_lineno:]:
        if not line.strip().startswith("# "):
            break
        shown.append(line.strip()[2:])
    return shown


def _python_cases():
    for page in PAGES:
        blocks = _blocks(page, "python")
        if blocks:
            yield pytest.param(page, blocks, id=page)


@pytest.mark.parametrize(("page", "blocks"), list(_python_cases()))
def test_python_blocks(page, blocks, capsys):
    namespace: dict = {}
    checked = 0
    for block in blocks:
        lines = block.splitlines()
        tree = ast.parse(block)
        for stmt in tree.body:
            code = compile(ast.Module([stmt], []), f"{page}:{stmt.lineno}", "exec")
            comment = _comment_after(lines, stmt)
            is_print = (
                isinstance(stmt, ast.Expr)
                and isinstance(stmt.value, ast.Call)
                and getattr(stmt.value.func, "id", None) == "print"
            )
            if comment is None or not isinstance(stmt, ast.Expr):
                exec(code, namespace)
                continue
            if is_print:
                capsys.readouterr()
                exec(code, namespace)
                shown = capsys.readouterr().out.strip()
                shown_lines = _printed_comment(lines, stmt)
                if len(shown_lines) > 1:  # a print shown over several comment lines
                    assert shown == "\n".join(shown_lines), f"{page}: {ast.unparse(stmt)}"
                    checked += 1
                    continue
                if comment not in PROSE:
                    try:
                        expected = str(ast.literal_eval(comment))
                    except (ValueError, SyntaxError):
                        expected = comment
                    assert shown == expected, f"{page}: {ast.unparse(stmt)}"
                    checked += 1
                continue
            value = eval(compile(ast.Expression(stmt.value), page, "eval"), namespace)
            try:
                expected = ast.literal_eval(comment)
            except (ValueError, SyntaxError):
                assert comment in PROSE, f"{page}: unchecked comment {comment!r}"
                continue
            assert value == expected, f"{page}: {ast.unparse(stmt)} gives {value!r}"
            checked += 1
    assert checked or page in ("docs/api.md", "docs/text.md")


def _doctest_errors():
    for page in PAGES:
        for block in _blocks(page, "text"):
            for chunk in block.split(">>> ")[1:]:
                call, _, shown = chunk.partition("\n")
                yield pytest.param(call.strip(), shown.strip(), id=f"{page}:{call.strip()}")


@pytest.mark.parametrize(("call", "shown"), list(_doctest_errors()))
def test_error_examples(call, shown):
    import einderiv as ed

    with pytest.raises(ed.EinderivError) as info:
        eval(call, {"ed": ed})
    text = f"{type(info.value).__name__}: {info.value}"
    # The docs wrap long messages; compare with the whitespace normalised.
    assert " ".join(text.split()) == " ".join(shown.split())


def _commands():
    for page in PAGES:
        for block in _blocks(page, "bash"):
            joined = block.replace("\\\n", " ")
            lines = joined.splitlines()
            for k, line in enumerate(lines):
                line = line.split("&&")[-1].strip()
                if not line.startswith("einderiv "):
                    continue
                expected = []
                for nxt in lines[k + 1:]:
                    if not nxt.startswith("#"):
                        break
                    expected.append(nxt[1:].strip())
                yield pytest.param(line, expected, id=f"{page}:{line[:60]}")


@pytest.mark.parametrize(("line", "expected"), list(_commands()))
def test_cli_examples(line, expected, tmp_path):
    args = shlex.split(line)[1:]
    if ">" in args:
        args = args[: args.index(">")]
    result = subprocess.run(
        [sys.executable, "-m", "einderiv", *args],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    wrong = any(e.startswith("✗") for e in expected)
    assert result.returncode == (1 if wrong else 0), result.stderr
    assert "Traceback" not in result.stderr
    out = " ".join(result.stdout.split())
    for text in expected:
        pattern = ".*".join(re.escape(part.strip()) for part in text.split("..."))
        assert re.search(pattern, out), f"{text!r} not in the output of {line!r}:\n{out}"
    if not expected:
        assert result.stdout.strip()


def _help_examples():
    from einderiv.cli import EXAMPLES

    joined = EXAMPLES.replace("\\\n", " ")
    for line in joined.splitlines():
        line = line.strip()
        if line.startswith("einderiv "):
            yield pytest.param(line, id=f"--help:{line[:60]}")


@pytest.mark.parametrize("line", list(_help_examples()))
def test_help_examples(line, tmp_path):
    args = shlex.split(line)[1:]
    if ">" in args:
        args = args[: args.index(">")]
    result = subprocess.run(
        [sys.executable, "-m", "einderiv", *args],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert result.returncode == (1 if args[0] == "verify" else 0), result.stderr
    assert result.stdout.strip() and not result.stderr
