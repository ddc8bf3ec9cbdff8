"""Reading back the renderer's own numpy spellings, so ``to_numpy()`` output parses.

``X.shape[k]`` (only for the text's own names), ``np.ones``/``np.zeros``/``np.eye`` of such
sizes, ``np.ones_like(X)``, ``v[:, None]``, ``np.linalg.slogdet(X)[1]``, ``np.heaviside(x,
0.0)``, ``float(...)`` and the stable logsumexp and softmax.
"""

from __future__ import annotations

import ast

from einderiv import build as builders
from einderiv.ir.nodes import Delta, Expr, Size, constant
from einderiv.rewrite.elementwise import make_func
from einderiv.rewrite.terms import make_product, make_sum
from einderiv.text.calls import CallReader
from einderiv.text.tables import EXAMPLE, EXP_NAMES, LOG_NAMES, SLOGDET, UNSUPPORTED
from einderiv.text.walker import Value

"""Longest text :func:`parse` accepts, in characters."""
"""Deepest nesting :func:`parse` accepts (chains like ``a + b + c`` count once)."""
"""Every function name text may call (besides ``einsum``), with its parameters: the public
entries of the registry (:mod:`einderiv.functions`) and their aliases."""


class RenderedForms(CallReader):
    """Reads the spellings ``to_numpy()`` writes, in those forms only."""

    # -- numpy spellings the renderer writes (so ``to_numpy()`` output parses back) -----
    def visit_subscript(self, node: ast.Subscript) -> Value:
        """Read the subscripts the renderer writes, and no others.

        ``X.shape[k]`` (a dim's size), ``v[:, None]``/``v[None, :]`` (a vector as a column
        or a row) and ``np.linalg.slogdet(X)[1]`` (``logdet``).
        """
        target, index = node.value, node.slice
        if (isinstance(target, ast.Attribute) and target.attr == "shape"
                and not self.is_module(target.value)):
            # only this text's own names: a symbol declared elsewhere in the process
            # must never decide what X.shape[k] means here
            base = self.visit(target.value)
            dims = base.dims if isinstance(base, Expr) else ()
            axis = self.static(index, "shape index")
            if not isinstance(axis, int) or isinstance(axis, bool) or not (
                    -len(dims) <= axis < len(dims)):
                raise self.error(
                    f"shape index {axis!r} is out of range for dims {list(dims)}", index
                )
            dim = dims[axis]
            return 1.0 if dim == "1" else Size.make(dim)
        if (isinstance(target, ast.Call) and self.dotted(target.func) in SLOGDET
                and isinstance(index, ast.Constant) and index.value == 1
                and len(target.args) == 1 and not target.keywords):
            return self.build(node, builders.BUILDERS["logdet"], self.expr(target.args[0]))
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
        raise self.error(UNSUPPORTED[ast.Subscript], node, EXAMPLE)

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
        """The numpy constructors the renderer writes: ``np.ones``, ``np.eye``, ``np.heaviside``."""
        if node.keywords:
            raise self.error(f"{name}(...) takes no keyword arguments here", node.keywords[0])
        args = node.args
        arity = 1 if name in ("ones", "zeros", "ones_like", "zeros_like", "eye", "float",
                              "pinv") else 2
        if len(args) != arity:
            raise self.error(f"{name}(...) takes {arity} argument(s) here", node)
        if name == "float":
            return self.visit(args[0])
        if name == "pinv":  # np.linalg.pinv(A) = inv(A.T @ A) @ A.T (A of full column rank)
            a = self.expr(args[0])
            if len(a.dims) != 2:
                raise self.error(f"pinv(...) needs a matrix; this has dims {list(a.dims)}",
                                 args[0])
            at = builders.transpose(a)
            return builders.matmul(builders.BUILDERS["inv"](builders.matmul(at, a)), at)
        if name in ("ones_like", "zeros_like"):  # np.ones_like(X): X's dims
            dims = self.expr(args[0]).dims
            return constant(1.0, dims) if name == "ones_like" else make_sum([], dims)
        if name in ("ones", "zeros"):
            dims = self.dims_of(args[0])
            return constant(1.0, dims) if name == "ones" else make_sum([], dims)
        if name == "eye":
            (dim,) = self.dims_of(args[0])
            return constant(1.0) if dim == "1" else Delta.make(dim)
        # np.heaviside(x, 0.0): the derivative of relu
        first, second = (self.visit(a) for a in args)
        if second != 0.0 or not isinstance(first, Expr):
            raise self.error("only the form np.heaviside(x, 0.0) is supported", node)
        return self.build(node, make_func, "step", first)

    def is_logsumexp_form(self, node: ast.BinOp) -> bool:
        """Whether ``node`` is the renderer's stable logsumexp or softmax spelling."""
        return self._logsumexp_parts(node) is not None or self._softmax_parts(node) is not None

    def logsumexp_form(self, node: ast.BinOp) -> Expr | None:
        """``logsumexp(a, axis)`` or ``softmax(a, axis)`` from the renderer's stable spellings.

        That is ``np.log(np.exp(a - a.max(...)).sum(...)) + a.max(...)``, or
        ``np.exp(a - a.max(...)) / np.exp(a - a.max(...)).sum(...)``; else None.
        """
        soft = self._softmax_parts(node)
        if soft is not None:
            arg_node, axis_node = soft
            arg = self.expr(arg_node)
            if axis_node is None:
                axis: object = tuple(range(len(arg.dims)))
            else:
                axis = self.static(axis_node, "softmax axis")
            return self.build(node, builders.softmax, arg, axis)
        parts = self._logsumexp_parts(node)
        if parts is None:
            return None
        arg_node, axis_node = parts
        axis = None if axis_node is None else self.static(axis_node, "logsumexp axis")
        return self.build(node, builders.logsumexp, self.expr(arg_node), axis, False,
                          axis_node=axis_node)

    def _softmax_parts(self, node: ast.BinOp) -> tuple[ast.AST, ast.AST | None] | None:
        """``(a, axis node or None)`` of ``np.exp(a - a.max(K)) / np.exp(a - a.max(K)).sum(K)``.

        ``K`` is nothing (every axis) or ``axis=..., keepdims=True``.
        """
        if not isinstance(node.op, ast.Div):
            return None
        exp, total = node.left, node.right
        if not (isinstance(total, ast.Call) and isinstance(total.func, ast.Attribute)
                and total.func.attr == "sum" and not total.args
                and ast.dump(total.func.value) == ast.dump(exp)):
            return None
        if not (isinstance(exp, ast.Call) and self.dotted(exp.func) in EXP_NAMES
                and len(exp.args) == 1 and not exp.keywords):
            return None
        diff = exp.args[0]
        if not (isinstance(diff, ast.BinOp) and isinstance(diff.op, ast.Sub)
                and isinstance(diff.right, ast.Call)
                and isinstance(diff.right.func, ast.Attribute)
                and diff.right.func.attr == "max" and not diff.right.args
                and ast.dump(diff.right.func.value) == ast.dump(diff.left)):
            return None
        peak_kw = {k.arg or "": ast.dump(k.value) for k in diff.right.keywords}
        sum_kw = {k.arg or "": ast.dump(k.value) for k in total.keywords}
        if peak_kw != sum_kw:
            return None
        if not peak_kw:
            return diff.left, None
        if set(peak_kw) != {"axis", "keepdims"} or peak_kw["keepdims"] != ast.dump(
                ast.Constant(True)):
            return None
        return diff.left, next(k.value for k in total.keywords if k.arg == "axis")

    def _logsumexp_parts(self, node: ast.BinOp) -> tuple[ast.AST, ast.AST | None] | None:
        def kw(call: ast.Call) -> dict[str, str]:
            return {k.arg or "": ast.dump(k.value) for k in call.keywords}

        def max_of(n: ast.AST) -> tuple[ast.Call, ast.expr] | None:
            """``(n, a)`` when ``n`` is ``a.max(...)`` with no positional arguments, else None."""
            if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                    and n.func.attr == "max" and not n.args):
                return n, n.func.value
            return None

        outer, left = max_of(node.right), node.left
        if not (isinstance(node.op, ast.Add) and outer is not None and isinstance(left, ast.Call)
                and self.dotted(left.func) in LOG_NAMES and len(left.args) == 1
                and not left.keywords):
            return None
        total = left.args[0]
        if not (isinstance(total, ast.Call) and isinstance(total.func, ast.Attribute)
                and total.func.attr == "sum" and not total.args):
            return None
        exp = total.func.value
        if not (isinstance(exp, ast.Call) and self.dotted(exp.func) in EXP_NAMES
                and len(exp.args) == 1 and not exp.keywords):
            return None
        diff = exp.args[0]
        shift = max_of(diff.right) if isinstance(diff, ast.BinOp) else None
        if not (isinstance(diff, ast.BinOp) and isinstance(diff.op, ast.Sub)
                and shift is not None):
            return None
        (right, arg), (inner_max, inner) = outer, shift
        if not ast.dump(arg) == ast.dump(diff.left) == ast.dump(inner):
            return None
        outer_kw, sum_kw, inner_kw = kw(right), kw(total), kw(inner_max)
        if set(outer_kw) - {"axis"} or outer_kw != sum_kw:
            return None
        if "axis" in outer_kw:
            want = {**outer_kw, "keepdims": ast.dump(ast.Constant(True))}
            if inner_kw != want:
                return None
            axis_node = next(k.value for k in right.keywords if k.arg == "axis")
            return arg, axis_node
        return (arg, None) if not inner_kw else None
