"""Text front end: numpy-like expressions and small programs parsed into one IR DAG.

Contract: :func:`parse` reads text with Python's :mod:`ast` and walks a whitelist of
node kinds, calling the same builders a Python user would call (so ``parse("W @ x")``
*is* ``W @ x``); it never evaluates, executes or compiles user text.  Every failure is
an :class:`~einderiv.errors.EinderivError`: problems in the text (syntax, unknown names
and functions, unsupported syntax, arity, exponents, keyword arguments, and shape
conflicts reported by the builders) are a :class:`~einderiv.errors.ParseError` raised
once, with the line, the column of the offending node and a hint; for a builder's error
(a shape conflict) the original exception stays available as ``__context__``.  Inputs longer than
:data:`MAX_LENGTH` characters or nested deeper than :data:`MAX_DEPTH` are refused before
any work is done on them.

Round trip: the numpy spellings that ``to_numpy()`` writes parse back to the same
expression (so a claim in the renderer's own form verifies), in those forms only:
``X.shape[k]`` (``X`` may be any declared symbol, as in rendered sizes), ``np.ones``,
``np.zeros`` and ``np.eye`` of such sizes, ``v[:, None]`` and ``v[None, :]``,
``np.linalg.slogdet(X)[1]``, ``np.maximum(x, 0)``, ``np.heaviside(x, 0.0)``,
``np.logaddexp(0, x)``, ``float(...)`` and the stable logsumexp
``np.log(np.exp(a - a.max(...)).sum(...)) + a.max(...)``.

Programs: statements are separated by newlines or ``;``.  Each is an expression or an
assignment ``name = expression`` (also ``name += expression`` and the other augmented
operators).  Assigned names are shared nodes of one DAG.  A program name may be
reassigned (later lines see the new value, as in Python), but a name declared in
``shapes`` may not be assigned: it is an input, and derivatives with respect to it
would otherwise be ambiguous.  Only the last statement may be a bare expression; the
result is the last statement's value, or the final value of the name given as
``result=``.

>>> import einderiv as ed
>>> f = parse("tanh(W @ x + b)", shapes="W[n,m] x[m] b[n]")
>>> W, x, b = ed.symbols("W[n,m] x[m] b[n]")
>>> f == ed.tanh(W @ x + b)
True
"""

from __future__ import annotations

import ast
import difflib
import math
import operator
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from einderiv import build as builders
from einderiv.errors import EinderivError, ParseError, SubscriptError, SymbolError
from einderiv.ir.nodes import DECLARED_DIMS, Delta, Expr, Size, Symbol, constant
from einderiv.rewrite.elementwise import make_func
from einderiv.rewrite.terms import make_product, make_sum

MAX_LENGTH = 100_000
"""Longest text :func:`parse` accepts, in characters."""

MAX_DEPTH = 100
"""Deepest nesting :func:`parse` accepts (chains like ``a + b + c`` count once)."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_PREFIXES = {"np", "numpy", "np.linalg", "numpy.linalg", "scipy.special", "jnp", "jax.numpy"}
_CONSTANTS = {"pi": math.pi, "e": math.e}
_EXAMPLE = "write numpy-like text such as 'tanh(W @ x + b)' or 'sum(a * g)'"


# -- the function table ---------------------------------------------------------------


@dataclass(frozen=True)
class _Function:
    """A callable name: its builder and its parameters.

    ``exprs`` are the expression parameters (positional, required); ``options`` the
    static parameters with their defaults (literals: integers, tuples, ``None``, bools).
    """

    build: Callable[..., Expr]
    exprs: tuple[str, ...]
    options: tuple[tuple[str, Any], ...] = ()


def _dot(a: Expr, b: Expr) -> Expr:
    if len(a.dims) > 2 or len(b.dims) > 2:
        raise builders.ShapeError(
            f"dot of operands with dims {list(a.dims)} and {list(b.dims)}: only 1-D and 2-D "
            "operands are supported; use '@' or einsum for stacked arrays"
        )
    return builders.matmul(a, b)


def _transpose(a: Expr, axes: Any = None) -> Expr:
    return builders.transpose(a, (axes,) if isinstance(axes, int) else axes)


_ELEMENTWISE = {
    "tanh": builders.tanh,
    "exp": builders.exp,
    "log": builders.log,
    "log1p": builders.log1p,
    "sigmoid": builders.sigmoid,
    "expit": builders.sigmoid,
    "sqrt": builders.sqrt,
    "abs": builders.abs_,
    "absolute": builders.abs_,
    "relu": builders.relu,
    "softplus": builders.softplus,
    "sin": builders.sin,
    "cos": builders.cos,
    "square": builders.square,
    "sign": builders.sign,
}

FUNCTIONS: dict[str, _Function] = {
    **{name: _Function(fn, ("x",)) for name, fn in _ELEMENTWISE.items()},
    "sum": _Function(builders.reduce_sum, ("a",), (("axis", None), ("keepdims", False))),
    "mean": _Function(builders.mean, ("a",), (("axis", None), ("keepdims", False))),
    "trace": _Function(builders.trace, ("a",)),
    "diag": _Function(builders.diag, ("v",)),
    "outer": _Function(builders.outer, ("a", "b")),
    "transpose": _Function(_transpose, ("a",), (("axes", None),)),
    "norm": _Function(builders.norm, ("x",)),
    "softmax": _Function(builders.softmax, ("x",), (("axis", -1),)),
    "logsumexp": _Function(builders.logsumexp, ("a",), (("axis", None), ("keepdims", False))),
    "inv": _Function(builders.inv, ("a",)),
    "det": _Function(builders.det, ("a",)),
    "logdet": _Function(builders.logdet, ("a",)),
    "matmul": _Function(builders.matmul, ("a", "b")),
    "dot": _Function(_dot, ("a", "b")),
}
"""Every function name text may call (besides ``einsum``), with its parameters."""

_METHODS = {"sum", "mean", "transpose"}

#: numpy calls the renderer writes in ``to_numpy()``, read back in those forms only
_RENDERED = {"ones", "zeros", "eye", "float", "maximum", "heaviside", "logaddexp"}
_SLOGDET = {"np.linalg.slogdet", "numpy.linalg.slogdet"}
_LOG = {"np.log", "numpy.log", "log", "jnp.log", "jax.numpy.log"}
_EXP = {"np.exp", "numpy.exp", "exp", "jnp.exp", "jax.numpy.exp"}

_BINOPS: dict[type, tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.Pow: ("**", operator.pow),
    ast.MatMult: ("@", operator.matmul),
}

_UNSUPPORTED: dict[type, str] = {
    ast.Subscript: "indexing and slicing (x[...]) are not supported; use einsum, diag or "
    "trace, or declare the piece you need as its own symbol",
    ast.Lambda: "lambda is not supported",
    ast.ListComp: "comprehensions are not supported",
    ast.SetComp: "comprehensions are not supported",
    ast.DictComp: "comprehensions are not supported",
    ast.GeneratorExp: "generator expressions are not supported",
    ast.Compare: "comparisons are not supported; the text is an arithmetic expression",
    ast.BoolOp: "'and'/'or' are not supported; the text is an arithmetic expression",
    ast.IfExp: "conditional expressions (a if c else b) are not supported",
    ast.Dict: "dict literals are not supported",
    ast.Set: "set literals are not supported",
    ast.List: "list literals are only allowed as axis= arguments",
    ast.Tuple: "tuples are only allowed as axis= arguments",
    ast.Starred: "'*' unpacking is not supported",
    ast.JoinedStr: "f-strings are not supported",
    ast.NamedExpr: "':=' is not supported; use an assignment on its own line",
    ast.Await: "'await' is not supported",
    ast.Yield: "'yield' is not supported",
    ast.YieldFrom: "'yield' is not supported",
    ast.Slice: "slices are not supported",
}


# -- public entry point ---------------------------------------------------------------


def parse(
    text: str,
    shapes: Mapping[str, Any] | str | None = None,
    result: str | None = None,
    *,
    names: Mapping[str, Expr] | None = None,
) -> Expr:
    """Parse numpy-like text (an expression or a small program) into an expression.

    Args:
        text: An expression such as ``"tanh(W @ x + b)"``, or several statements
            separated by newlines or ``;`` whose last line is the result, e.g.
            ``"z = W @ x; L = sum(tanh(z))"`` (or the same on two lines).
        shapes: The symbols: a dict from name to dims (``{"W": "n m"}``,
            ``{"A": "n n:sym"}``, ``{"x": ("n",)}``, ``{"b": "n 1"}`` for a size-1
            axis, ``""`` for a scalar), or a spec string ``"W[n,m] x[m] A[n,n]:sym"``.
        result: Name of an assignment to return instead of the last statement.
        names: Intermediates already built, by name (``{"z": W @ x}``): the text reads
            them as if they were assigned on earlier lines of the same program, so
            ``parse("tanh(z)", names={"z": z})`` is ``parse("z = ...; tanh(z)")`` without
            parsing ``z`` again.  A name may not also be declared in ``shapes``.

    Returns:
        The expression, simplified, sharing nodes for names used more than once.

    Raises:
        ParseError: the text cannot be read, names an unknown symbol or function, uses
            syntax outside the supported subset, or its shapes do not fit.
        SymbolError: ``shapes`` is malformed.

    >>> f = parse("x @ A @ x", shapes={"A": "n n:sym", "x": "n"})
    >>> f.shape
    ()
    >>> parse("z = W @ x; L = sum(tanh(z))", shapes="W[n,m] x[m]").shape
    ()
    """
    if not isinstance(text, str):
        raise ParseError(
            f"parse() takes the expression as a string, got {type(text).__name__}", hint=_EXAMPLE
        )
    if len(text) > MAX_LENGTH:
        raise ParseError(
            f"text is too long ({len(text)} characters, at most {MAX_LENGTH} are accepted)",
            hint="split the program into smaller pieces or build it with the Python builders",
        )
    if result is not None and not isinstance(result, str):
        raise ParseError(f"result= must be a name (a string), got {type(result).__name__}")
    declared = _declare(shapes)
    parser = _Parser(text, declared)
    parser.names.update(_intermediates(names, declared))
    try:
        return parser.run(result)
    except RecursionError:  # only when called from an already deep stack
        raise ParseError(
            "the text is nested too deeply to build",
            hint="split it into assignments on separate lines",
        ) from None


def _declare(shapes: Mapping[str, Any] | str | None) -> dict[str, Symbol]:
    """The declared symbols by name, from a dict or a spec string."""
    if shapes is None:
        return {}
    if isinstance(shapes, str):
        if not shapes.strip():
            return {}
        found = builders.symbols(shapes)
        found = found if isinstance(found, tuple) else (found,)
        return {sym.name: sym for sym in found}
    if not isinstance(shapes, Mapping):
        raise SymbolError(
            f"shapes must be a dict like {{'W': 'n m'}} or a string like 'W[n,m] x[m]', "
            f"got {type(shapes).__name__}"
        )
    declared: dict[str, Symbol] = {}
    for name, dims in shapes.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise SymbolError(f"shapes: symbol name {name!r} is not an identifier")
        if isinstance(dims, Symbol):
            if dims.name != name:
                raise SymbolError(f"shapes: key {name!r} holds the symbol {dims.name!r}")
            declared[name] = dims
            continue
        if not isinstance(dims, str | Sequence):
            raise SymbolError(
                f"shapes[{name!r}]: dims must be a string like 'n m' or a tuple like "
                f"('n', 'm'), got {type(dims).__name__}"
            )
        parsed, symmetric = builders.parse_dims(dims, owner=name)
        declared[name] = Symbol.make(name, parsed, symmetric, declare=True)
    return declared


def _intermediates(names: Mapping[str, Expr] | None, declared: dict[str, Symbol]) -> dict:
    """The ``names=`` of :func:`parse`, checked: identifiers bound to expressions."""
    if names is None:
        return {}
    if not isinstance(names, Mapping):
        raise ParseError(
            f"names= must be a dict from name to expression, got {type(names).__name__}"
        )
    for name, value in names.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ParseError(f"names=: {name!r} is not an identifier")
        if not isinstance(value, Expr):
            raise ParseError(
                f"names[{name!r}] must be an einderiv expression, got {type(value).__name__}"
            )
        if name in declared:
            raise ParseError(
                f"names=: '{name}' is also declared in shapes; an intermediate needs a name "
                "of its own"
            )
    return dict(names)


# -- the walker -----------------------------------------------------------------------


Value = Expr | float


class _Parser:
    """One parse: the (dedented) text, the declared symbols and the program's names."""

    def __init__(self, text: str, declared: dict[str, Symbol]) -> None:
        self.original = text
        self.declared = declared
        self.names: dict[str, Expr] = {}
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

    # -- driver -------------------------------------------------------------------
    def run(self, result: str | None) -> Expr:
        tree = self.read()
        if not tree.body:
            raise ParseError("the text is empty; " + _EXAMPLE, text=self.original)
        self.check_depth(tree)
        value: Value | None = None
        last = len(tree.body) - 1
        for index, stmt in enumerate(tree.body):
            if isinstance(stmt, ast.Expr):
                if index != last:
                    raise self.error(
                        "this expression's value is not used",
                        stmt,
                        "assign it to a name (z = ...) or make it the last line",
                    )
                value = self.visit(stmt.value)
            elif isinstance(stmt, ast.Assign):
                if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                    raise self.error(
                        "only assignments to a single name are supported (z = ...)", stmt
                    )
                target = stmt.targets[0]
                value = self.visit(stmt.value)
                self.assign(target, value)
            elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
                target = stmt.target
                op = _BINOPS.get(type(stmt.op))
                if op is None:
                    raise self.error(f"operator '{_op_text(stmt.op)}=' is not supported", stmt)
                left = self.lookup(target)
                right = self.visit(stmt.value)
                value = self.binop(stmt, stmt.op, left, right, stmt.value)
                self.assign(target, value)
            elif isinstance(stmt, ast.AnnAssign):
                raise self.error("annotated assignments are not supported; write z = ...", stmt)
            else:
                raise self.error(
                    f"'{type(stmt).__name__}' statements are not supported",
                    stmt,
                    "a program is lines of 'name = expression' ending with an expression",
                )
        if result is not None:
            if result in self.names:
                value = self.names[result]
            elif result in self.declared:
                value = self.declared[result]
            else:
                raise ParseError(
                    f"result={result!r} is not assigned in the text",
                    hint=self.suggest(result, list(self.names)) or "name one of its assignments",
                )
        assert value is not None
        return value if isinstance(value, Expr) else constant(value)

    def read(self) -> ast.Module:
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
                f"syntax error: {message}", line=line, column=column, hint=_EXAMPLE
            ) from None
        except (RecursionError, MemoryError):
            raise ParseError(
                "the text is nested too deeply or is too long to parse",
                hint="split it into assignments on separate lines",
            ) from None
        except (ValueError, OverflowError) as err:  # null bytes, huge literals
            raise ParseError(f"cannot read the text: {err}", hint=_EXAMPLE) from None

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
        name = target.id
        if name in self.declared:
            raise self.error(
                f"cannot assign to '{name}': it is declared in shapes as an input symbol",
                target,
                "use a new name for the intermediate result",
            )
        self.names[name] = value if isinstance(value, Expr) else constant(value)

    def lookup(self, node: ast.Name) -> Expr:
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
        close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
        if not close:
            return None
        return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"

    # -- expressions --------------------------------------------------------------
    def visit(self, node: ast.AST) -> Value:
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
        message = _UNSUPPORTED.get(type(node), f"'{type(node).__name__}' is not supported")
        raise self.error(message, node, _EXAMPLE)

    def number(self, node: ast.Constant) -> float:
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
        entry = _BINOPS.get(type(op))
        if entry is None:
            raise self.error(
                f"operator '{_op_text(op)}' is not supported",
                node,
                "supported operators: + - * / ** @",
                at=self.operator_position(node, _op_text(op)),
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
        if dotted is None or dotted not in _PREFIXES:
            return False
        root = dotted.split(".")[0]
        return root not in self.declared and root not in self.names

    def visit_attribute(self, node: ast.Attribute) -> Value:
        if self.is_module(node.value):
            if node.attr in _CONSTANTS:
                return _CONSTANTS[node.attr]
            if node.attr in FUNCTIONS or node.attr == "einsum":
                raise self.error(f"'{node.attr}' is a function; call it as {node.attr}(...)", node)
            raise self.error(
                f"'{self.dotted(node)}' is not supported", node, "supported: " + _function_list()
            )
        if node.attr == "T":
            value = self.visit(node.value)
            if isinstance(value, float):
                return value
            return self.build(node, builders.transpose, value)
        if node.attr in _METHODS:
            raise self.error(f"'.{node.attr}' is a method; call it as .{node.attr}(...)", node)
        raise self.error(
            f"attribute '.{node.attr}' is not supported",
            node,
            "supported: .T, .sum(...), .mean(...), .transpose(...) and np. prefixes",
            at=self.attr_position(node),
        )

    def attr_position(self, node: ast.Attribute) -> dict[str, int]:
        if node.end_lineno is None or node.end_col_offset is None:
            return {}
        line = node.end_lineno
        return {"line": line, "column": self.char_col(line, node.end_col_offset) - len(node.attr)}

    def visit_call(self, node: ast.Call) -> Value:
        func = node.func
        if isinstance(func, ast.Name):
            if func.id in self.names or func.id in self.declared:
                hint = (
                    f"'{func.id}' is also a function name; rename the symbol to call it"
                    if func.id in FUNCTIONS or func.id == "einsum"
                    else "write multiplication explicitly: W @ (x) or W * (x)"
                )
                raise self.error(f"'{func.id}' is a symbol, not a function", func, hint)
            return self.call(node, func.id, func)
        if isinstance(func, ast.Attribute):
            if self.is_module(func.value):
                return self.call(node, func.attr, func)
            if func.attr in _METHODS:
                return self.method(node, func)
            if func.attr == "T":
                raise self.error("'.T' is an attribute, not a method; write x.T", func)
            raise self.error(
                f"method '.{func.attr}(...)' is not supported",
                func,
                "supported methods: .sum(...), .mean(...), .transpose(...)",
                at=self.attr_position(func),
            )
        raise self.error(
            "only named functions can be called, e.g. tanh(x) or np.exp(x)", node, _EXAMPLE
        )

    def call(self, node: ast.Call, name: str, func: ast.AST) -> Value:
        if name == "einsum":
            return self.einsum(node)
        if name in _RENDERED and (name == "float" or isinstance(func, ast.Attribute)):
            return self.rendered_call(node, name)
        spec = FUNCTIONS.get(name)
        if spec is None:
            hint = self.suggest(name, [*FUNCTIONS, "einsum"]) or "supported: " + _function_list()
            raise self.error(f"unknown function '{name}'", func, hint)
        args, options, given = self.bind(node, name, spec.exprs, spec.options)
        axis_node = given.get("axis", given.get("axes"))
        return self.build(node, spec.build, *args, *options, axis_node=axis_node)

    def method(self, node: ast.Call, func: ast.Attribute) -> Value:
        name = func.attr
        receiver = self.visit(func.value)
        if isinstance(receiver, float):
            receiver = constant(receiver)
        where = self.attr_position(func)
        column = (where["line"], where["column"]) if where else None
        if name == "transpose":
            if node.keywords:
                raise self.error(".transpose() takes no keyword arguments", node.keywords[0])
            if len(node.args) == 1 and isinstance(node.args[0], ast.Tuple | ast.List):
                axes = self.static(node.args[0], "transpose axes")
            elif node.args:
                axes = tuple(self.static(a, "transpose axis") for a in node.args)
            else:
                axes = None
            if axes is not None and not isinstance(axes, tuple):
                axes = (axes,)
            return self.build(node, builders.transpose, receiver, axes, column=column,
                              axis_node=node.args[0] if node.args else None)
        spec = FUNCTIONS[name]
        _, options, given = self.bind(node, f".{name}", (), spec.options)
        return self.build(node, spec.build, receiver, *options, column=column,
                          axis_node=given.get("axis"))

    # -- numpy spellings the renderer writes (so ``to_numpy()`` output parses back) -----
    def visit_subscript(self, node: ast.Subscript) -> Value:
        """Read the subscripts the renderer writes, and no others.

        ``X.shape[k]`` (a dim's size), ``v[:, None]``/``v[None, :]`` (a vector as a column
        or a row) and ``np.linalg.slogdet(X)[1]`` (``logdet``).
        """
        target, index = node.value, node.slice
        if (isinstance(target, ast.Attribute) and target.attr == "shape"
                and not self.is_module(target.value)):
            owner = target.value
            if (isinstance(owner, ast.Name) and owner.id not in self.names
                    and owner.id not in self.declared and owner.id in DECLARED_DIMS):
                # rendered sizes may name any declared symbol (ir.DIM_OWNERS)
                dims = DECLARED_DIMS[owner.id]
            else:
                base = self.visit(owner)
                dims = base.dims if isinstance(base, Expr) else ()
            axis = self.static(index, "shape index")
            if not isinstance(axis, int) or isinstance(axis, bool) or not (
                    -len(dims) <= axis < len(dims)):
                raise self.error(
                    f"shape index {axis!r} is out of range for dims {list(dims)}", index
                )
            dim = dims[axis]
            return 1.0 if dim == "1" else Size.make(dim)
        if (isinstance(target, ast.Call) and self.dotted(target.func) in _SLOGDET
                and isinstance(index, ast.Constant) and index.value == 1
                and len(target.args) == 1 and not target.keywords):
            return self.build(node, builders.logdet, self.expr(target.args[0]))
        if isinstance(index, ast.Tuple) and len(index.elts) == 2:
            kinds = ["none" if isinstance(e, ast.Constant) and e.value is None
                     else "all" if isinstance(e, ast.Slice) and e.lower is None
                     and e.upper is None and e.step is None else "?" for e in index.elts]
            if sorted(kinds) == ["all", "none"]:
                value = self.expr(target)
                if len(value.dims) != 1:
                    raise self.error(
                        f"v[:, None] and v[None, :] need a vector; this has dims "
                        f"{list(value.dims)}", target,
                    )
                out = (0, 1) if kinds[0] == "all" else (1, 0)
                return make_product(1.0, [(value, (0,))], out, {0: value.dims[0], 1: "1"})
        raise self.error(_UNSUPPORTED[ast.Subscript], node, _EXAMPLE)

    def expr(self, node: ast.AST) -> Expr:
        value = self.visit(node)
        return value if isinstance(value, Expr) else constant(value)

    def dims_of(self, node: ast.AST) -> tuple[str, ...]:
        """Dims of a shape argument: ``X.shape[0]`` or a tuple of such sizes."""
        elts = node.elts if isinstance(node, ast.Tuple | ast.List) else [node]
        dims = []
        for elt in elts:
            value = self.visit(elt)
            if isinstance(value, float) and value == 1.0:
                dims.append("1")
            elif isinstance(value, Size):
                dims.append(value.dim)
            else:
                raise self.error(
                    "a shape here is a symbol's size such as X.shape[0], or a tuple of them",
                    elt,
                )
        return tuple(dims)

    def rendered_call(self, node: ast.Call, name: str) -> Value:
        if node.keywords:
            raise self.error(f"{name}(...) takes no keyword arguments here", node.keywords[0])
        args = node.args
        arity = 1 if name in ("ones", "zeros", "eye", "float") else 2
        if len(args) != arity:
            raise self.error(f"{name}(...) takes {arity} argument(s) here", node)
        if name == "float":
            return self.visit(args[0])
        if name in ("ones", "zeros"):
            dims = self.dims_of(args[0])
            return constant(1.0, dims) if name == "ones" else make_sum([], dims)
        if name == "eye":
            (dim,) = self.dims_of(args[0])
            return constant(1.0) if dim == "1" else Delta.make(dim)
        # np.maximum(x, 0), np.heaviside(x, 0.0), np.logaddexp(0, x)
        first, second = (self.visit(a) for a in args)
        const_at = 0 if name == "logaddexp" else 1
        value = (first, second)[1 - const_at]
        if (first, second)[const_at] != 0.0 or not isinstance(value, Expr):
            example = {"maximum": "np.maximum(x, 0)", "heaviside": "np.heaviside(x, 0.0)",
                       "logaddexp": "np.logaddexp(0, x)"}[name]
            raise self.error(f"only the form {example} is supported", node)
        fn = {"maximum": builders.relu, "logaddexp": builders.softplus,
              "heaviside": lambda e: make_func("step", e)}[name]
        return self.build(node, fn, value)

    def is_logsumexp_form(self, node: ast.BinOp) -> bool:
        return self._logsumexp_parts(node) is not None

    def logsumexp_form(self, node: ast.BinOp) -> Expr | None:
        """``logsumexp(a, axis)`` from the renderer's stable numpy spelling.

        That is ``np.log(np.exp(a - a.max(...)).sum(...)) + a.max(...)``; else None.
        """
        parts = self._logsumexp_parts(node)
        if parts is None:
            return None
        arg_node, axis_node = parts
        axis = None if axis_node is None else self.static(axis_node, "logsumexp axis")
        return self.build(node, builders.logsumexp, self.expr(arg_node), axis, False,
                          axis_node=axis_node)

    def _logsumexp_parts(self, node: ast.BinOp) -> tuple[ast.AST, ast.AST | None] | None:
        def kw(call: ast.Call) -> dict[str, str]:
            return {k.arg or "": ast.dump(k.value) for k in call.keywords}

        def is_max(n: ast.AST) -> bool:
            return (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                    and n.func.attr == "max" and not n.args)

        right, left = node.right, node.left
        if not (isinstance(node.op, ast.Add) and is_max(right) and isinstance(left, ast.Call)
                and self.dotted(left.func) in _LOG and len(left.args) == 1
                and not left.keywords):
            return None
        total = left.args[0]
        if not (isinstance(total, ast.Call) and isinstance(total.func, ast.Attribute)
                and total.func.attr == "sum" and not total.args):
            return None
        exp = total.func.value
        if not (isinstance(exp, ast.Call) and self.dotted(exp.func) in _EXP
                and len(exp.args) == 1 and not exp.keywords):
            return None
        diff = exp.args[0]
        if not (isinstance(diff, ast.BinOp) and isinstance(diff.op, ast.Sub)
                and is_max(diff.right)):
            return None
        arg = right.func.value  # type: ignore[attr-defined]
        inner = diff.right.func.value  # type: ignore[attr-defined]
        if not ast.dump(arg) == ast.dump(diff.left) == ast.dump(inner):
            return None
        outer_kw, sum_kw, inner_kw = kw(right), kw(total), kw(diff.right)  # type: ignore
        if set(outer_kw) - {"axis"} or outer_kw != sum_kw:
            return None
        if "axis" in outer_kw:
            want = {**outer_kw, "keepdims": ast.dump(ast.Constant(True))}
            if inner_kw != want:
                return None
            axis_node = next(k.value for k in right.keywords if k.arg == "axis")  # type: ignore
            return arg, axis_node
        return (arg, None) if not inner_kw else None

    def bind(self, node: ast.Call, name: str, exprs: tuple[str, ...],
             options: tuple[tuple[str, Any], ...]
             ) -> tuple[list[Expr], list[Any], dict[str, ast.AST]]:
        """Match a call's arguments to the parameters; visit expressions, read options."""
        params = [*exprs, *(opt for opt, _ in options)]
        signature = f"{name}({', '.join([*exprs, *(f'{o}={d!r}' for o, d in options)])})"
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.error("'*' unpacking is not supported", arg)
        if len(node.args) > len(params):
            raise self.error(
                f"{name}() takes at most {len(params)} argument(s), got {len(node.args)}",
                node.args[len(params)],
                f"signature: {signature}",
            )
        given: dict[str, ast.AST] = dict(zip(params, node.args, strict=False))
        for kw in node.keywords:
            if kw.arg is None:
                raise self.error("'**' unpacking is not supported", kw)
            if kw.arg not in params or kw.arg in exprs:
                allowed = ", ".join(f"{o}=" for o, _ in options) or "none"
                raise self.error(
                    f"{name}() got an unexpected keyword argument '{kw.arg}'",
                    kw,
                    f"keyword arguments it takes: {allowed}",
                )
            if kw.arg in given:
                raise self.error(f"{name}() got '{kw.arg}' twice", kw)
            given[kw.arg] = kw.value
        missing = [p for p in exprs if p not in given]
        if missing:
            raise self.error(
                f"{name}() takes {len(exprs)} array argument(s), got {len(exprs) - len(missing)}",
                node,
                f"signature: {signature}",
            )
        values: list[Expr] = []
        for param in exprs:
            value = self.visit(given[param])
            values.append(value if isinstance(value, Expr) else constant(value))
        read = []
        for opt, default in options:
            if opt in given:
                read.append(self.option(given[opt], name, opt))
            else:
                read.append(default)
        return values, read, given

    def option(self, node: ast.AST, name: str, opt: str) -> Any:
        value = self.static(node, f"{name} {opt}=")
        if opt == "keepdims":
            if not isinstance(value, bool):
                raise self.error(f"{name}(): keepdims= must be True or False", node)
            return value
        ok = value is None or isinstance(value, int) and not isinstance(value, bool)
        if isinstance(value, tuple):
            ok = all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        if not ok:
            raise self.error(
                f"{name}(): {opt}= must be an integer, a tuple of integers or None", node
            )
        return value

    def static(self, node: ast.AST, what: str) -> Any:
        """A literal option value: an int (maybe negative), a bool, None, or a tuple."""
        if isinstance(node, ast.Constant) and (
            node.value is None or isinstance(node.value, bool | int)
        ):
            if isinstance(node.value, int) and abs(node.value) > 10**6:
                raise self.error(f"{what}: {node.value} is out of range", node)
            return node.value
        if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
                and isinstance(node.operand, ast.Constant)
                and isinstance(node.operand.value, int)
                and not isinstance(node.operand.value, bool)):
            if node.operand.value > 10**6:
                raise self.error(f"{what}: -{node.operand.value} is out of range", node)
            return -node.operand.value
        if isinstance(node, ast.Tuple | ast.List):
            values = tuple(self.static(elt, what) for elt in node.elts)
            if any(isinstance(v, tuple) for v in values):
                raise self.error(f"{what}: nested tuples are not allowed", node)
            return values
        raise self.error(
            f"{what} must be a literal integer, tuple of integers, True/False or None", node
        )

    def einsum(self, node: ast.Call) -> Value:
        if node.keywords:
            raise self.error("einsum() takes no keyword arguments here", node.keywords[0])
        if not node.args:
            raise self.error(
                "einsum() needs a subscripts string and operands", node,
                "e.g. einsum('ij,j->i', W, x)",
            )
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            raise self.error(
                "einsum's first argument must be a string literal like 'ij,j->i'", first
            )
        operands = []
        for arg in node.args[1:]:
            if isinstance(arg, ast.Starred):
                raise self.error("'*' unpacking is not supported", arg)
            value = self.visit(arg)
            operands.append(value if isinstance(value, Expr) else constant(value))
        try:
            return builders.einsum(first.value, *operands)
        except SubscriptError as err:
            raise self.error(f"{self.segment(node)}: {err}", first) from None
        except EinderivError as err:
            raise self.error(f"{self.segment(node)}: {err}", node) from None


def _op_text(op: ast.AST) -> str:
    names: dict[type, str] = {
        ast.FloorDiv: "//", ast.Mod: "%", ast.LShift: "<<", ast.RShift: ">>",
        ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^", ast.Add: "+", ast.Sub: "-",
        ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.MatMult: "@",
    }
    return names.get(type(op), type(op).__name__)



def _function_list() -> str:
    return " ".join(sorted([*FUNCTIONS, "einsum"]))
