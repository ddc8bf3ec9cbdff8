"""Readability of a derivative: its size in AST nodes against the textbook's form.

:func:`ast_size` counts the nodes of a numpy program, over all of its lines, as follows.
The program is parsed with :func:`ast.parse`; every node :func:`ast.walk` yields is counted
except

* the ``Module`` root and the ``Expr`` wrapper of an expression statement,
* the expression contexts ``Load``, ``Store`` and ``Del``,
* the result's own name: a last line ``dW = expr`` counts as ``expr`` alone, so a program
  that names its result (``e.to_program("dW")``) and one that ends in a bare expression (a
  textbook form, ``e.to_numpy()``) compare on equal terms.

So names, numbers, attribute accesses (``X.T`` is two nodes: the attribute and ``X``;
``np.exp`` too), calls, keyword arguments (``axis=1`` is two: the keyword and ``1``),
subscripts, slices, tuples, binary and unary operations *and their operator nodes*
(``a + b`` is four: the operation, ``+``, ``a``, ``b``), and every assignment with its target
names on the lines before the last.

:func:`einderiv_form` is what einderiv prints for a case: ``e.to_program(name)`` where the
expression has that method (DESIGN.md, "The readable form"), else ``e.to_numpy()``.

:func:`within_budget` is the issue's readability threshold (einderiv's form at most
:data:`BUDGET` times the textbook's size). ``test_readability.py`` asserts it for every
case but a known list (a ratchet), and ``benchmarks/readability.py`` prints where every case
stands.

>>> ast_size("X.T @ (s - y)")
8
>>> ast_size("s = 1 / (1 + np.exp(-(X @ w)))\\nX.T @ (s - y)")
25
"""

from __future__ import annotations

import ast

from .cases import Case
from .harness import derivative

BUDGET = 1.25
"""einderiv's form may be at most this many times the textbook's size."""

_SKIPPED = (ast.Module, ast.Expr, ast.expr_context)


def ast_size(program: str) -> int:
    """Number of AST nodes of ``program`` over all lines (what is counted: module doc)."""
    body = ast.parse(program).body
    total = 0
    for i, stmt in enumerate(body):
        node: ast.AST = stmt
        if (i == len(body) - 1 and isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)):
            node = stmt.value  # the result's own name is not counted
        total += sum(1 for n in ast.walk(node) if not isinstance(n, _SKIPPED))
    return total


def result_name(case: Case) -> str:
    """The name einderiv's program gives the case's result (``dW``, ``H``, ``J``, ...)."""
    if case.kind in ("grad", "vjp"):
        return "d" + case.wrt
    return {"hessian": "H", "jvp": "jvp", "diff": "J"}[case.kind]


def einderiv_form(case: Case) -> str:
    """``e.to_program(name)`` if the derivative has that method, else ``e.to_numpy()``."""
    expr = derivative(case)
    to_program = getattr(expr, "to_program", None)
    if callable(to_program):
        return to_program(result_name(case))
    return expr.to_numpy()


def sizes(case: Case) -> tuple[int, int]:
    """(textbook size, einderiv size) in AST nodes."""
    return ast_size(case.textbook), ast_size(einderiv_form(case))


def ratio(case: Case) -> float:
    """einderiv's size over the textbook's."""
    textbook, ours = sizes(case)
    return ours / textbook


def within_budget(case: Case, budget: float = BUDGET) -> bool:
    """Whether einderiv's form is at most ``budget`` times the textbook's size."""
    textbook, ours = sizes(case)
    return ours <= budget * textbook
