"""The expression walker: one parse's text, names and errors, and its core node kinds.

Contract: :class:`ExpressionWalker` visits a whitelist of :mod:`ast` node kinds (names,
numbers, operators, attributes) and calls the builders; calls and the renderer's own
spellings are read by the subclasses in :mod:`einderiv.text.calls` and
:mod:`einderiv.text.readback`.  Every failure is a :class:`~einderiv.errors.ParseError`
with the line, the column and a hint.
"""

from __future__ import annotations

import ast
import difflib
import math
import operator
import re
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from einderiv import build as builders
from einderiv.errors import EinderivError, ParseError
from einderiv.ir.nodes import Expr, Symbol, constant
from einderiv.rewrite.terms import make_sum
from einderiv.text.tables import (
    BINOPS,
    CONSTANTS,
    EXAMPLE,
    FUNCTIONS,
    MAX_DEPTH,
    METHODS,
    PREFIXES,
    UNSUPPORTED,
    function_list,
    op_text,
)

"""Longest text :func:`parse` accepts, in characters."""
"""Deepest nesting :func:`parse` accepts (chains like ``a + b + c`` count once)."""
"""Every function name text may call (besides ``einsum``), with its parameters: the public
entries of the registry (:mod:`einderiv.functions`) and their aliases."""
Value = Expr | float


class ExpressionWalker:
    """One parse: the (dedented) text, the declared symbols and the program's names."""

    def __init__(self, text: str, declared: dict[str, Symbol]) -> None:
        self.original = text
        self.declared = declared
        self.names: dict[str, Expr] = {}
        self.assigned: list[tuple[str, str]] = []  # (node key, name) of every assignment
        self.indent = 0
        lines = text.split("\n")
        body = [ln for ln in lines if ln.strip()]
        if body:
            prefix = min(len(ln) - len(ln.lstrip(" \t")) for ln in body)
            if prefix and all(ln[:prefix] == body[0][:prefix] for ln in body):
                self.indent = prefix
                lines = [ln[prefix:] for ln in lines]
        self.lines = lines
        self.source = "\n".join(lines)

    # -- errors -------------------------------------------------------------------
    def error(
        self, message: str, node: ast.AST | None = None, hint: str | None = None, *,
        line: int | None = None, column: int | None = None, at: dict[str, int] | None = None,
    ) -> ParseError:
        """A ParseError at ``line``/``column`` (1-based line), or ``at``, or else ``node``."""
        if at:
            line, column = at["line"], at["column"]
        if (line is None or column is None) and node is not None and hasattr(node, "lineno"):
            line = node.lineno
            column = self.char_col(line, getattr(node, "col_offset", 0))
        if line is not None and column is not None:
            column += self.indent
        multi = len(self.original.splitlines()) > 1
        return ParseError(
            message,
            text=self.original,
            column=column if line is not None else None,
            line=line if (line is not None and multi) else (1 if line is not None else None),
            hint=hint,
        )

    def char_col(self, line: int, byte_col: int) -> int:
        """Convert ast's UTF-8 byte column on 1-based ``line`` to a character column."""
        if 1 <= line <= len(self.lines):
            return len(self.lines[line - 1].encode()[:byte_col].decode(errors="ignore"))
        return byte_col

    def segment(self, node: ast.AST) -> str:
        """The source text of ``node``, shortened for messages."""
        seg = ast.get_source_segment(self.source, node) or ""
        seg = " ".join(seg.split())
        return seg if len(seg) <= 60 else seg[:57] + "..."

    def build(self, node: ast.AST, fn: Callable[..., Any], *args: Any, column_node=None,
              column: tuple[int, int] | None = None, axis_node: ast.AST | None = None) -> Any:
        """Call a builder; re-raise its EinderivError once as a ParseError at ``node``.

        The caret goes under ``column`` (line, column) or ``column_node`` when given, and
        under ``axis_node`` for errors about axes.
        """
        try:
            return fn(*args)
        except ParseError:
            raise
        except EinderivError as err:
            message = f"{self.segment(node)}: {err}"
            if axis_node is not None and re.search(r"\baxis|\baxes|permutation", str(err)):
                raise self.error(message, axis_node) from None
            if column is not None:
                raise self.error(message, line=column[0], column=column[1]) from None
            raise self.error(message, column_node or node) from None
        except (ArithmeticError, ValueError, TypeError, IndexError, KeyError) as err:
            raise self.error(
                f"{self.segment(node)}: internal error while building this expression "
                f"({type(err).__name__}: {err}); please report it",
                column_node or node,
            ) from None

    def read(self) -> ast.Module:
        """The text's syntax tree; a syntax error becomes a ParseError at its column."""
        try:
            with warnings.catch_warnings():  # e.g. SyntaxWarning for '1if'
                warnings.simplefilter("ignore")
                return ast.parse(self.source, mode="exec")
        except SyntaxError as err:
            line = err.lineno or 1
            column = max((err.offset or 1) - 1, 0)
            if 1 <= line <= len(self.lines):
                column = min(column, len(self.lines[line - 1]))
            message = err.msg
            if "nested" in message or "too many" in message:
                raise self.error(
                    f"the text is nested too deeply ({message})", line=line, column=column,
                    hint="split it into assignments on separate lines",
                ) from None
            raise self.error(
                f"syntax error: {message}", line=line, column=column, hint=EXAMPLE
            ) from None
        except (RecursionError, MemoryError):
            raise ParseError(
                "the text is nested too deeply or is too long to parse",
                hint="split it into assignments on separate lines",
            ) from None
        except (ValueError, OverflowError) as err:  # null bytes, huge literals
            raise ParseError(f"cannot read the text: {err}", hint=EXAMPLE) from None

    def check_depth(self, tree: ast.Module) -> None:
        """Refuse trees nested deeper than MAX_DEPTH (left spines of a + b + c count once)."""
        stack: list[tuple[ast.AST, int]] = [(tree, 0)]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise self.error(
                    f"the text is nested too deeply (more than {MAX_DEPTH} levels)",
                    node,
                    "split it into assignments on separate lines",
                )
            for child in ast.iter_child_nodes(node):
                same = isinstance(node, ast.BinOp) and child is node.left
                stack.append((child, depth if same else depth + 1))

    # -- names --------------------------------------------------------------------
    def assign(self, target: ast.Name, value: Value) -> None:
        """Bind a program name (declared inputs may not be assigned)."""
        name = target.id
        if name in self.declared:
            raise self.error(
                f"cannot assign to '{name}': it is declared in shapes as an input symbol",
                target,
                "use a new name for the intermediate result",
            )
        self.names[name] = value if isinstance(value, Expr) else constant(value)
        if isinstance(value, Expr) and not isinstance(value, Symbol):
            self.assigned.append((value.key, name))

    def lookup(self, node: ast.Name) -> Expr:
        """The expression a name stands for, or a ParseError with a suggestion."""
        name = node.id
        if name in self.names:
            return self.names[name]
        if name in self.declared:
            return self.declared[name]
        known = [*self.declared, *self.names]
        hint = self.suggest(name, known)
        if hint is None:
            hint = (
                f"declare it in shapes, e.g. shapes={{'{name}': 'n m'}} or '{name}[n,m]'"
                if name not in FUNCTIONS
                else f"'{name}' is a function; call it as {name}(...)"
            )
        raise self.error(f"unknown name '{name}'", node, hint)

    @staticmethod
    def suggest(name: str, known: Sequence[str]) -> str | None:
        """``did you mean 'x'?`` for a name close to a known one, else None."""
        close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
        if not close:
            return None
        return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"

    # -- expressions --------------------------------------------------------------
    def visit(self, node: ast.AST) -> Value:
        """The value of one syntax node: an expression or a number."""
        if isinstance(node, ast.BinOp):
            lse = self.logsumexp_form(node)
            if lse is not None:
                return lse
            return self.visit_binop(node)
        if isinstance(node, ast.Subscript):
            return self.visit_subscript(node)
        if isinstance(node, ast.Name):
            return self.lookup(node)
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.UnaryOp):
            return self.visit_unary(node)
        if isinstance(node, ast.Call):
            return self.visit_call(node)
        if isinstance(node, ast.Attribute):
            return self.visit_attribute(node)
        message = UNSUPPORTED.get(type(node), f"'{type(node).__name__}' is not supported")
        raise self.error(message, node, EXAMPLE)

    def number(self, node: ast.Constant) -> float:
        """A numeric literal (finite, real)."""
        value = node.value
        if isinstance(value, bool) or value is None:
            raise self.error(f"'{value}' is not a number; the text is an arithmetic expression",
                             node)
        if isinstance(value, str):
            raise self.error(
                "a string is only allowed as the first argument of einsum('ij,j->i', ...)", node
            )
        if isinstance(value, complex):
            raise self.error("complex numbers are not supported", node)
        if not isinstance(value, int | float):
            raise self.error(f"literal {value!r} is not supported", node)
        try:
            result = float(value)
        except OverflowError:
            raise self.error("number is too large", node) from None
        if not math.isfinite(result):
            raise self.error("number is not finite", node)
        return result

    def visit_binop(self, node: ast.BinOp) -> Value:
        """A chain of binary operators, walked iteratively along its left spine."""
        # Walk the left spine iteratively so that long chains (a + b + c + ...) do not
        # recurse once per term.
        spine: list[ast.BinOp] = []
        left_node: ast.AST = node
        while isinstance(left_node, ast.BinOp) and not self.is_logsumexp_form(left_node):
            spine.append(left_node)
            left_node = left_node.left
        value = self.visit(left_node)
        run: list[Expr] = []  # pending terms of a chain of + and - on equal dims
        for step in reversed(spine):
            right = self.visit(step.right)
            additive = isinstance(step.op, ast.Add | ast.Sub)
            if (additive and isinstance(value, Expr) and isinstance(right, Expr)
                    and right.dims == value.dims):
                # make_sum once over the whole run equals the nested sums, without the
                # quadratic cost of re-merging the growing sum at every step.
                if not run:
                    run.append(value)
                run.append(right if isinstance(step.op, ast.Add) else -right)
                value = run[-1]
                continue
            if run:
                value = make_sum(run, run[0].dims)
                run = []
            value = self.binop(step, step.op, value, right, step.right)
        if run:
            value = make_sum(run, run[0].dims)
        return value

    def binop(self, node: ast.AST, op: ast.operator, left: Value, right: Value,
              right_node: ast.AST) -> Value:
        """``left op right``: numbers fold, expressions go through the builders."""
        entry = BINOPS.get(type(op))
        if entry is None:
            raise self.error(
                f"operator '{op_text(op)}' is not supported",
                node,
                "supported operators: + - * / ** @",
                at=self.operator_position(node, op_text(op)),
            )
        symbol, fn = entry
        where = self.operator_position(node, symbol)
        if symbol == "@" and (isinstance(left, float) or isinstance(right, float)):
            raise self.error(
                "'@' needs two arrays; use '*' to multiply by a number", node, at=where
            )
        if isinstance(left, float) and isinstance(right, float):
            return self.fold(node, symbol, fn, left, right, where)
        if symbol == "**" and isinstance(right, Expr):
            hint = (
                "for a number raised to an expression write exp(y * log(base))"
                if isinstance(left, float)
                else "the exponent must be a number, e.g. x ** 2 or x ** -0.5; "
                "for x ** y write exp(y * log(x))"
            )
            raise self.error("'**' needs a constant exponent", right_node, hint)
        column = (where["line"], where["column"]) if where else None
        return self.build(node, fn, left, right, column=column)

    def fold(self, node, symbol, fn, left: float, right: float, where) -> float:
        """A binary operation on two numbers, with errors (division by zero) at ``where``."""
        try:
            value = fn(left, right)
        except ZeroDivisionError:
            raise self.error("division by zero in a constant", node, at=where) from None
        except OverflowError:
            raise self.error("constant is too large", node, at=where) from None
        if isinstance(value, complex):
            raise self.error(
                "a negative number to a fractional power is not real", node, at=where
            )
        if not math.isfinite(value):
            raise self.error("constant is not finite", node, at=where)
        return float(value)

    def operator_position(self, node: ast.AST, symbol: str) -> dict[str, int]:
        """Line and column of the operator token of a BinOp (empty if not found)."""
        if not isinstance(node, ast.BinOp):
            return {}
        left, right = node.left, node.right
        if left.end_lineno != right.lineno or left.end_col_offset is None:
            return {}
        line = right.lineno
        text = self.lines[line - 1] if 1 <= line <= len(self.lines) else ""
        start = self.char_col(line, left.end_col_offset)
        stop = self.char_col(line, right.col_offset)
        found = text.find(symbol, start, stop)
        if found < 0:
            return {}
        return {"line": line, "column": found}

    def visit_unary(self, node: ast.UnaryOp) -> Value:
        """``-x``, ``+x``."""
        if isinstance(node.op, ast.USub | ast.UAdd):
            operand = self.visit(node.operand)
            if isinstance(node.op, ast.UAdd):
                return operand
            if isinstance(operand, float):
                return -operand
            return self.build(node, operator.neg, operand)
        name = "not" if isinstance(node.op, ast.Not) else "~"
        raise self.error(f"unary '{name}' is not supported", node, "only - and + are supported")

    # -- attributes and calls -----------------------------------------------------
    def dotted(self, node: ast.AST) -> str | None:
        """``np.linalg.inv`` -> "np.linalg.inv" for a chain of plain names, else None."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        parts.append(node.id)
        return ".".join(reversed(parts))

    def is_module(self, node: ast.AST) -> bool:
        """Whether ``node`` is a module prefix like ``np`` or ``np.linalg``."""
        dotted = self.dotted(node)
        if dotted is None or dotted not in PREFIXES:
            return False
        root = dotted.split(".")[0]
        return root not in self.declared and root not in self.names

    def visit_attribute(self, node: ast.Attribute) -> Value:
        """``x.T``, ``np.pi`` and the like."""
        if self.is_module(node.value):
            if node.attr in CONSTANTS:
                return CONSTANTS[node.attr]
            if node.attr in FUNCTIONS or node.attr == "einsum":
                raise self.error(f"'{node.attr}' is a function; call it as {node.attr}(...)", node)
            raise self.error(
                f"'{self.dotted(node)}' is not supported", node, "supported: " + function_list()
            )
        if node.attr == "T":
            value = self.visit(node.value)
            if isinstance(value, float):
                return value
            return self.build(node, builders.transpose, value)
        if node.attr in METHODS:
            raise self.error(f"'.{node.attr}' is a method; call it as .{node.attr}(...)", node)
        raise self.error(
            f"attribute '.{node.attr}' is not supported",
            node,
            "supported: .T, .sum(...), .mean(...), .transpose(...) and np. prefixes",
            at=self.attr_position(node),
        )

    def attr_position(self, node: ast.Attribute) -> dict[str, int]:
        """The line and column of an attribute's name (where a caret points)."""
        if node.end_lineno is None or node.end_col_offset is None:
            return {}
        line = node.end_lineno
        return {"line": line, "column": self.char_col(line, node.end_col_offset) - len(node.attr)}

    def expr(self, node: ast.AST) -> Expr:
        """The value of ``node`` as an expression (numbers become constants)."""
        value = self.visit(node)
        return value if isinstance(value, Expr) else constant(value)

    # -- supplied by the readers below (calls.py, readback.py) ----------------------
    def visit_call(self, node: ast.Call) -> Value:
        """Read a call (see :class:`einderiv.text.calls.CallReader`)."""
        raise NotImplementedError

    def rendered_call(self, node: ast.Call, name: str) -> Value:
        """Read a numpy constructor the renderer writes (see :mod:`einderiv.text.readback`)."""
        raise NotImplementedError

    def visit_subscript(self, node: ast.Subscript) -> Value:
        """Read a subscript (see :class:`einderiv.text.readback.RenderedForms`)."""
        raise NotImplementedError

    def logsumexp_form(self, node: ast.BinOp) -> Expr | None:
        """The stable logsumexp spelling, or None (see :mod:`einderiv.text.readback`)."""
        raise NotImplementedError

    def is_logsumexp_form(self, node: ast.BinOp) -> bool:
        """Whether ``node`` is the stable logsumexp spelling."""
        raise NotImplementedError
