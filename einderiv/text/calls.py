"""Reading calls: registry functions, methods, einsum and their arguments."""

from __future__ import annotations

import ast
from typing import Any

from einderiv import build as builders
from einderiv.errors import EinderivError, SubscriptError
from einderiv.ir.nodes import Expr, constant
from einderiv.text.tables import EXAMPLE, FUNCTIONS, METHODS, RENDERED, function_list
from einderiv.text.walker import ExpressionWalker, Value

"""Longest text :func:`parse` accepts, in characters."""
"""Deepest nesting :func:`parse` accepts (chains like ``a + b + c`` count once)."""
"""Every function name text may call (besides ``einsum``), with its parameters: the public
entries of the registry (:mod:`einderiv.functions`) and their aliases."""


class CallReader(ExpressionWalker):
    """Reads calls: ``tanh(x)``, ``x.sum(axis=0)``, ``einsum('ij,j->i', W, x)``."""

    def visit_call(self, node: ast.Call) -> Value:
        """A call: a registry function, a method, einsum or a numpy spelling the renderer writes."""
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
            if func.attr in METHODS:
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
            "only named functions can be called, e.g. tanh(x) or np.exp(x)", node, EXAMPLE
        )

    def call(self, node: ast.Call, name: str, func: ast.AST) -> Value:
        """A call of the function ``name`` (the registry's, ``einsum``, or a rendered spelling)."""
        if name == "einsum":
            return self.einsum(node)
        if name in RENDERED and (name == "float" or isinstance(func, ast.Attribute)):
            return self.rendered_call(node, name)
        spec = FUNCTIONS.get(name)
        if spec is None:
            hint = self.suggest(name, [*FUNCTIONS, "einsum"]) or "supported: " + function_list()
            raise self.error(f"unknown function '{name}'", func, hint)
        args, options, given = self.bind(node, name, spec.exprs, spec.options)
        axis_node = given.get("axis", given.get("axes"))
        return self.build(node, spec.build, *args, *options, axis_node=axis_node)

    def method(self, node: ast.Call, func: ast.Attribute) -> Value:
        """A method call such as ``x.sum(axis=0)`` or ``X.transpose(1, 0)``."""
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
        """A static option such as ``axis=1`` or ``keepdims=True``, checked."""
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
        """``einsum('ij,j->i', W, x)``: the subscripts must be a string literal.

        ``optimize=`` (numpy's contraction order, which ``to_numpy()`` writes) changes no
        value and is read as a literal, then ignored.
        """
        for kw in node.keywords:
            if kw.arg != "optimize" or not (isinstance(kw.value, ast.Constant) and isinstance(
                    kw.value.value, bool | str)):
                raise self.error("einsum() takes no keyword arguments here but "
                                 "optimize=True", kw)
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
