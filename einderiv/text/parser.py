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
``np.linalg.slogdet(X)[1]``, ``np.heaviside(x, 0.0)``, ``float(...)`` and the stable
logsumexp ``np.log(np.exp(a - a.max(...)).sum(...)) + a.max(...)``; ``np.maximum(x, 0)``
and ``np.logaddexp(0, x)`` are registry functions that simplify to ``relu`` and
``softplus``.  The callable functions are the registry's (:mod:`einderiv.functions`).

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
from collections.abc import Mapping
from typing import Any, TypeGuard

from einderiv.errors import ParseError
from einderiv.ir.nodes import Expr, Product, annotate, constant
from einderiv.rewrite.terms import keeping
from einderiv.text.declare import declare, intermediates
from einderiv.text.readback import RenderedForms
from einderiv.text.tables import BINOPS, EXAMPLE, MAX_LENGTH, op_text
from einderiv.text.walker import Value

"""Longest text :func:`parse` accepts, in characters."""
"""Deepest nesting :func:`parse` accepts (chains like ``a + b + c`` count once)."""
"""Every function name text may call (besides ``einsum``), with its parameters: the public
entries of the registry (:mod:`einderiv.functions`) and their aliases."""


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
            f"parse() takes the expression as a string, got {type(text).__name__}", hint=EXAMPLE
        )
    if len(text) > MAX_LENGTH:
        raise ParseError(
            f"text is too long ({len(text)} characters, at most {MAX_LENGTH} are accepted)",
            hint="split the program into smaller pieces or build it with the Python builders",
        )
    if result is not None and not isinstance(result, str):
        raise ParseError(f"result= must be a name (a string), got {type(result).__name__}")
    declared = declare(shapes)
    try:
        parser = _Parser(text, declared)
        parser.names.update(intermediates(names, declared))
        return parser.run(result)
    except RecursionError:  # only when called from an already deep stack
        raise ParseError(
            "the text is nested too deeply to build",
            hint="split it into assignments on separate lines",
        ) from None


class _Parser(RenderedForms):
    """One parse of a program: its statements run in order, the last one is the result."""

    # -- driver -------------------------------------------------------------------
    def run(self, result: str | None) -> Expr:
        tree = self.read()
        if not tree.body:
            raise ParseError("the text is empty; " + EXAMPLE, text=self.original)
        self.check_depth(tree)
        shared = shared_bindings(tree.body, result, set(self.names))
        kept: set[str] = {v.key for k, v in self.names.items() if (-1, k) in shared}
        with keeping(kept):
            value = self.statements(tree.body, shared, kept)
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
        expr = value if isinstance(value, Expr) else constant(value)
        # the declared symbols are the program's inputs (even ones that cancel) and the
        # assignments name its parts, for sizes, arguments and the readable form
        return annotate(expr, list(self.declared.values()), self.assigned)

    def statements(
        self, body: list[ast.stmt], shared: set[tuple[int, str]], kept: set[str]
    ) -> Value | None:
        """Run the statements in order; the value of the last one.

        A name assigned at a statement in ``shared`` (used more than once) has its
        value's key added to ``kept`` when it is :func:`worth_keeping`, so later
        statements build on it as one node.
        """
        value: Value | None = None
        last = len(body) - 1
        for index, stmt in enumerate(body):
            target: ast.Name | None = None
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
                assert isinstance(target, ast.Name)
                value = self.visit(stmt.value)
                self.assign(target, value)
            elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
                target = stmt.target
                op = BINOPS.get(type(stmt.op))
                if op is None:
                    raise self.error(f"operator '{op_text(stmt.op)}=' is not supported", stmt)
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
            if target is not None and (index, target.id) in shared and worth_keeping(value):
                kept.add(value.key)
        return value


#: most factors of a product that a program name used more than once is inlined with
SMALL_PRODUCT = 2


def worth_keeping(value: Value) -> TypeGuard[Product]:
    """Whether a name used more than once stays one node where later lines use it.

    Only a product can be inlined into its users at all; one of at most
    :data:`SMALL_PRODUCT` factors (``X @ w``, a mean) is cheap to recompute and the algebra
    sees through it (``X - mean(X)`` sums to zero), so it is inlined as before.
    """
    return isinstance(value, Product) and len(value.factors) > SMALL_PRODUCT


def shared_bindings(
    body: list[ast.stmt], result: str | None, preset: set[str]
) -> set[tuple[int, str]]:
    """The assignments whose value is used more than once: ``(statement index, name)``.

    A use is a load of the name while it holds that assignment's value (an augmented
    assignment loads it too); ``result=`` counts as a use of the final value.  Names in
    ``preset`` (``parse(names=...)``) are bindings of index -1.
    """
    current = dict.fromkeys(preset, -1)
    uses: dict[tuple[int, str], int] = {}

    def use(name: str) -> None:
        if name in current:
            key = (current[name], name)
            uses[key] = uses.get(key, 0) + 1

    for index, stmt in enumerate(body):
        if not isinstance(stmt, ast.Assign | ast.AugAssign | ast.Expr):
            continue  # refused when it runs
        called = {id(node.func) for node in ast.walk(stmt) if isinstance(node, ast.Call)}
        for node in ast.walk(stmt.value):
            if (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
                    and id(node) not in called):
                use(node.id)
        if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
            use(stmt.target.id)
            current[stmt.target.id] = index
        elif isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    current[target.id] = index
    if result is not None:
        use(result)
    return {key for key, count in uses.items() if count > 1}
