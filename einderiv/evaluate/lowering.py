"""Lowering an expression DAG at one signature to the body of a straight-line function.

Contract: :func:`lower` reads a planned DAG (nodes in topological order, a
:class:`~einderiv.evaluate.plan.ProductPlan` per product, the proven signs of
:mod:`einderiv.evaluate.structure`) and one signature (the size of every dim, the call's
:class:`~einderiv.evaluate.ops.Placement`, the dtypes the arguments come in) and returns the
source of ``def body(a0, a1, ...)`` -- one argument per symbol in name order -- and the
namespace it runs in.  The body computes exactly what the interpreter computes, node by node,
with every decision that depends on shapes taken here, once:

* products: :func:`~einderiv.evaluate.products.lower_product`;
* a sum used once by a product that only reads it once per entry (``(A + A.T) @ x``) is
  distributed over the product's terms (``A @ x + A.T @ x``: no n x n temporary);
* sums accumulate into a temporary at its last use; a common factor and constants are
  folded (``1 - t**2`` is ``-(t**2 - 1)``, the sign left for the consumer);
* a sum of many terms of its own shape, each used by it alone (the T weight-gradient terms
  of a BPTT loop), is accumulated as its terms come (``dW += dz @ h.T``), not with every
  term kept alive until the last one exists;
* elementwise functions are numpy ufuncs written into their argument's buffer at its last
  use (:mod:`einderiv.evaluate.kernels`), else the registry's ``array``;
* a coefficient stays on a value until a consumer absorbs it (a product's coefficient, a
  subtraction) or the result is handed out;
* temporaries are deleted after their last use; the result is a fresh array of the call's
  dtype that aliases no input.

Dialects (:mod:`einderiv.evaluate.emitter`): numpy writes in place; torch is functional (so
autograd flows through).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from einderiv.evaluate.calls import matfunc
from einderiv.evaluate.emitter import Dialect, Emitter, Shape, Val, broadcast, number
from einderiv.evaluate.kernels import numpy_kernel, warns
from einderiv.evaluate.ops import Backend, Placement
from einderiv.evaluate.plan import ProductPlan, size_of
from einderiv.evaluate.products import ProductContext, lower_product
from einderiv.functions import FUNCTIONS

#: code of a view of an argument or temporary, cheap enough to repeat where it is used
_VIEW = re.compile(r"^[at]\d+(\.T|\.reshape\(\([\d, ]*\)\))$")

_NAME = re.compile(r"^[at]\d+")

#: a sum is distributed over its product when the product reads each entry this often at most
_DISTRIBUTE_READS = 2.0

#: a sum of at least this many terms accumulates them as they come
_EARLY_TERMS = 3


def _base(code: str) -> str:
    """The name a value's code reads (``t3`` for ``t3.T``)."""
    match = _NAME.match(code)
    return match.group(0) if match else code


def _power_of_two(value: float) -> bool:
    mantissa, _ = math.frexp(value)
    return abs(mantissa) == 0.5


class Lowering:
    """One lowering of one DAG at one signature (see the module docstring)."""

    def __init__(
        self,
        program: Any,
        dim_size: Mapping[str, int],
        placement: Placement,
        raw_dtypes: Sequence[np.dtype | None],
        dialect: Dialect,
        backend: Backend,
    ) -> None:
        self.p = program
        self.dim_size = dim_size
        self.placement = placement
        self.raw_dtypes = raw_dtypes
        self.backend = backend
        self.em = Emitter(dialect)
        nodes = program.nodes
        self.vals: list[Val | None] = [None] * len(nodes)
        self.remaining = [0] * len(nodes)
        for node in nodes:
            for child in node.children:
                self.remaining[program.index_of[child.key]] += 1
        self.holders: Counter[str] = Counter()
        self.current: Counter[int] = Counter()
        self.deferred: set[int] = set()
        self.running: dict[int, int] = {}  # sum -> the term its early terms are added into
        self.expanding = 0  # inside a distributed sum's parts
        self.quiet = False  # does the body need np.errstate?
        self.ctx = ProductContext(
            em=self.em, size=self.size, writable=self.writable, sign=self.sign,
            itemsize=placement.dtype.itemsize,
        )

    # -- what products ask --------------------------------------------------------------
    def size(self, dim: str) -> int:
        """The size of ``dim`` at this signature."""
        return size_of(dim, self.dim_size)

    def writable(self, k: int) -> bool:
        """May the node being lowered overwrite node ``k``'s buffer (its last use)?"""
        val = self.vals[k]
        return (
            val is not None and val.owned and self.em.dialect.in_place and not self.expanding
            and k not in self.deferred
            and self.remaining[k] == self.current[k] and self.holders[_base(val.code)] == 1
        )

    def sign(self, k: int) -> int:
        """The proven sign of node ``k``'s entries (0: unknown)."""
        return self.p.signs[k] if k >= 0 else 0

    # -- driver --------------------------------------------------------------------------
    def run(self) -> tuple[str, dict[str, Any]]:
        """The body's source and namespace."""
        em, nodes = self.em, self.p.nodes
        args = [f"a{j}" for j in range(len(self.p.symbols))]
        positions = {sym.name: j for j, sym in enumerate(self.p.symbols)}
        for j, raw in enumerate(self.raw_dtypes):
            if raw is not None and raw != self.placement.dtype:
                em.line(self._convert(f"a{j}"))
        if self.p.symmetric_names:
            listing = ", ".join(f"{n!r}: a{positions[n]}" for n in self.p.symmetric_names)
            em.line(f"SYM({{{listing}}})")
        root = len(nodes) - 1
        for i, node in enumerate(nodes):
            self.current = Counter(self.p.index_of[c.key] for c in node.children)
            kind = node.kind
            if kind == "symbol":
                val = Val(f"a{positions[node.name]}", self._shape(node.dims))
            elif kind == "product":
                val = self._product(i, node)
            elif kind == "sum":
                val = self._sum(i, node)
            elif kind == "func":
                val = self._func(i, node)
            elif kind in ("matfunc", "logsumexp"):
                val = self._call(i, node)
            elif kind == "size":
                val = Val("", (), const=float(self.size(node.dim)))
            elif kind == "delta":
                n = self.size(node.dim)
                if i in self.p.dense_deltas:
                    val = Val(em.assign(self._eye(n)), (n, n), owned=True)
                else:
                    val = Val("", (n, n), const=math.nan)  # placed by its consumers
            else:  # pragma: no cover
                raise AssertionError(kind)
            self._keep(i, val)
            self._release(i)
            self._accumulate(i)
        final = self.vals[root]
        assert final is not None  # every node was kept, and the root is never released
        result = self._finish(final, self._shape(nodes[root].dims))
        em.line(f"return {result}")
        body = [f"def body({', '.join(args)}):"]
        indent = "    "
        if self.quiet and em.dialect.name == "numpy":
            body.append("    with np.errstate(all='ignore'):")
            indent = "        "
        body += [indent + line for line in em.lines]
        namespace = dict(em.namespace)
        return "\n".join(body) + "\n", namespace

    def _keep(self, i: int, val: Val) -> None:
        """Store node ``i``'s value; an expression that is not a name gets a temporary."""
        if val.const is None and val.deferred is None and not val.code.isidentifier() and not (
            self.p.use_counts[i] <= 1 and _VIEW.match(val.code)
        ):  # a view used once stays inline (a0.T); anything else gets a name
            val.code = self.em.assign(val.code)
        for k in self.current:
            child = self.vals[k]
            if child is None:
                continue
            if _base(child.code) == _base(val.code) and self.remaining[k] > self.current[k]:
                val.owned = False  # shares the buffer of a child still alive
            if not val.owned:  # it may be a view of a child: nobody may write into that now
                child.owned = False
        self.vals[i] = val
        if val.const is None and val.deferred is None:
            self.holders[_base(val.code)] += 1

    def _release(self, i: int) -> None:
        """Drop children whose last consumer was node ``i`` (and delete dead temporaries)."""
        if i in self.deferred:  # its terms are consumed with it, by its consumer
            return
        stack = [self.p.index_of[c.key] for c in self.p.nodes[i].children]
        while stack:
            k = stack.pop()
            self.remaining[k] -= 1
            if self.remaining[k] or k == len(self.p.nodes) - 1:
                continue
            val = self.vals[k]
            if k in self.deferred:  # its terms are consumed now
                stack += [self.p.index_of[t.key] for t in self.p.nodes[k].terms]
                continue
            if val is None or val.const is not None:
                continue
            base = _base(val.code)
            self.holders[base] -= 1
            if self.holders[base] == 0 and base.startswith("t"):
                self.em.line(f"del {base}")

    def _accumulate(self, i: int) -> None:
        """Add node ``i`` into the running total of the sum that alone consumes it (doc)."""
        target = self.p.consumer_of.get(i)
        if target is None or target >= len(self.p.nodes) or not self.em.dialect.in_place:
            return
        node = self.p.nodes[target]
        if node.kind != "sum" or target in self.deferred:
            return
        terms, deltas = self.p.sum_terms[target]
        consumer = self.p.consumer_of.get(target)
        if (deltas or len(terms) < _EARLY_TERMS or terms.count(i) != 1
                or self.p.use_counts[i] != 1
                or consumer is not None and self.p.nodes[consumer].kind == "product"):
            return  # a sum a product reads may be distributed over it instead
        val = self.vals[i]
        shape = self._shape(node.dims)
        if (val is None or val.const is not None or val.deferred is not None or not val.owned
                or val.shape != shape or not val.code.startswith("t")
                or not val.code.isidentifier() or self.holders[val.code] != 1):
            return
        first = self.running.get(target)
        if first is None:
            self.running[target] = i
            return
        acc = self.vals[first]
        assert acc is not None  # the first term's value, kept when it came
        total = self._combine(acc, val, acc.code)
        self.vals[first] = Val(total.code, shape, scale=total.scale, owned=True)
        self.vals[i] = Val("", shape, const=0.0)  # added: the sum sees a zero here
        self.holders[val.code] -= 1
        self.em.line(f"del {val.code}")

    # -- helpers -------------------------------------------------------------------------
    def _fresh(self, shape: Shape) -> bool:
        """Is a new result of this shape an array of its own (numpy: a 0-d result is a scalar)?"""
        return bool(shape) or self.em.dialect.name != "numpy"

    def _shape(self, dims: Sequence[str]) -> Shape:
        return tuple(self.size(d) for d in dims)

    def _convert(self, arg: str) -> str:
        if self.em.dialect.name == "numpy":
            return f"{arg} = {arg}.astype(D)"
        return f"{arg} = {arg}.to(dtype=DT)"

    def _eye(self, n: int) -> str:
        if self.em.dialect.name == "numpy":
            return f"np.eye({n}, dtype=D)"
        return f"torch.eye({n}, dtype=DT, device=DEV)"

    def _array_of(self, value: float, shape: Shape = ()) -> str:
        if self.em.dialect.name == "numpy":
            return f"np.full({shape}, {number(value)}, D)"
        return f"torch.full({shape}, {number(value)}, dtype=DT, device=DEV)"

    def materialize(self, val: Val, k: int = -1) -> Val:
        """``val`` as an array with its scale applied (written in place at its last use)."""
        em = self.em
        if val.deferred is not None:
            terms = [Val(t.code, t.shape, t.scale, t.const) for t in val.deferred]
            return self._add(terms, [-1] * len(terms), val.shape, 0, ())
        if val.const is not None:
            return Val(em.assign(self._array_of(val.const)), (), owned=False)
        if val.scale == 1.0:
            return val
        if k >= 0 and self.writable(k) and val.shape:
            em.line(em.scaled(val.code, val.scale, out=val.code))
            return Val(val.code, val.shape, owned=True)
        code = em.assign(em.scaled(val.code, val.scale))
        return Val(code, val.shape, owned=self._fresh(val.shape))

    # -- products ------------------------------------------------------------------------
    def _product(self, i: int, node: Any) -> Val:
        plan: ProductPlan = self.p.plans[i]
        vals = [self.vals[k] for k in plan.operands]
        dims = [self.p.nodes[k].dims for k in plan.operands]
        return self._expand(plan, dims, vals, not self.p.absorbs[i])

    def _expand(self, plan: ProductPlan, dims: list, vals: list, fold: bool = False) -> Val:
        for j, val in enumerate(vals):
            if val.deferred is not None:
                parts = []
                self.expanding += 1  # every part reads the other operands: none is written
                for term in val.deferred:
                    replaced = list(vals)
                    replaced[j] = term
                    parts.append(self._expand(plan, dims, replaced))
                self.expanding -= 1
                shape = broadcast(*[part.shape for part in parts])
                return self._add(parts, [-1] * len(parts), shape, 0, ())
        return lower_product(self.ctx, plan, dims, vals, fold)

    def _distributes(self, i: int, node: Any) -> bool:
        """Is sum ``i`` read once per entry by its only consumer, a product (module doc)?"""
        consumer = self.p.consumer_of.get(i)
        if consumer is None or self.remaining[i] != 1 or self.p.sum_terms[i][1]:
            return False
        plan: ProductPlan = self.p.plans.get(consumer)
        if plan is None or plan.tied or plan.operands.count(i) != 1:
            return False
        if any(self.vals[self.p.index_of[t.key]].deferred is not None for t in node.terms):
            return False
        letters = {}
        ins = plan.subscripts.split("->")[0].split(",")
        for k, term in zip(plan.operands, ins, strict=True):
            for letter, dim in zip(term, self.p.nodes[k].dims, strict=True):
                letters[letter] = self.size(dim)
        core = plan.subscripts.split("->")[1]
        work = math.prod(letters.values())
        mine = math.prod(self._shape(node.dims))
        out = math.prod(letters[c] for c in core)
        return mine > 0 and work <= _DISTRIBUTE_READS * mine and out * 2 <= mine

    # -- sums ----------------------------------------------------------------------------
    def _sum(self, i: int, node: Any) -> Val:
        terms, deltas = self.p.sum_terms[i]
        shape = self._shape(node.dims)
        if not deltas and len(terms) > 1 and self._distributes(i, node):
            self.deferred.add(i)
            parts = tuple(self.vals[k] for k in terms)
            return Val("", shape, deferred=parts)
        return self._add([self.vals[k] for k in terms], terms, shape, deltas, shape)

    def _add(self, vals: list[Val], nodes: Sequence[int], full: Shape, deltas: int,
             dims: Shape) -> Val:
        """``Σ vals`` (+ ``deltas`` identities); ``nodes[j]``: the node of ``vals[j]`` or -1."""
        em = self.em
        const = 0.0
        arrays: list[tuple[Val, int]] = []
        for val, k in zip(vals, nodes, strict=True):
            if val.deferred is not None:
                val = self.materialize(val)
            if val.const is not None:
                const += val.const
            else:
                arrays.append((val, k))
        if not arrays and not deltas:
            return Val("", (), const=const)
        shape = broadcast(*[v.shape for v, _ in arrays]) if arrays else ()
        if deltas:
            shape = full
        in_place = em.dialect.in_place and bool(shape)
        acc: Val | None = None
        if in_place:
            choices = [(v.scale != 1.0, j) for j, (v, k) in enumerate(arrays)
                       if v.shape == shape and (k < 0 and v.owned or k >= 0 and self.writable(k))
                       and _power_of_two(v.scale)]
            if choices:
                acc = arrays.pop(min(choices)[1])[0]
        if acc is None:
            if not arrays:
                acc = Val(em.assign(f"np.zeros({shape}, D)" if em.dialect.name == "numpy"
                                    else f"torch.zeros({shape}, dtype=DT, device=DEV)"),
                          shape, owned=True)
            else:
                first = arrays.pop(0)[0]
                scale = first.scale if _power_of_two(first.scale) else 1.0
                if scale != first.scale:
                    first = self.materialize(first)
                if arrays:
                    second = arrays.pop(0)[0]
                    acc = self._combine(Val(first.code, first.shape, scale=scale), second, None)
                elif const or deltas or first.shape != shape:
                    if scale < 0:  # -(c / s') ... flipped: c / |s| - first, a positive factor
                        code = em.assign(em.binary("subtract", number(const / -scale),
                                                   first.code))
                        scale = -scale
                    else:
                        code = em.assign(em.binary("add", first.code, number(const / scale)))
                    const = 0.0
                    acc = Val(code, first.shape, scale=scale, owned=self._fresh(first.shape))
                else:
                    return Val(first.code, first.shape, scale=scale, owned=first.owned)
        for val, _ in arrays:
            acc = self._combine(acc, val, acc.code if acc.owned and in_place else None)
        if const:
            # s * acc + c: a negative common factor flips to (-s) * (c / -s - acc)
            flip = acc.scale < 0
            ratio = const / abs(acc.scale)
            op, a, b = ("subtract", number(ratio), acc.code) if flip else \
                ("add", acc.code, number(ratio))
            if acc.owned and in_place:
                em.line(em.binary(op, a, b, out=acc.code))
                acc = Val(acc.code, acc.shape, scale=abs(acc.scale), owned=True)
            else:
                acc = Val(em.assign(em.binary(op, a, b)), acc.shape, scale=abs(acc.scale),
                          owned=self._fresh(acc.shape))
        if deltas:
            acc = self._diagonal(acc, shape, deltas)
        return acc

    def _combine(self, acc: Val, val: Val, out: str | None) -> Val:
        """``acc + val`` with ``acc``'s scale kept as the common factor."""
        em = self.em
        ratio = val.scale / acc.scale
        code = val.code
        if ratio not in (1.0, -1.0):
            code = em.assign(em.binary("multiply", code, number(ratio)))
        a, b, scale = acc.code, code, acc.scale
        if ratio == -1.0 and acc.scale < 0:  # -acc + val: val - acc, a positive factor
            a, b, scale = code, acc.code, val.scale
        op = "add" if ratio != -1.0 else "subtract"
        shape = broadcast(acc.shape, val.shape)
        if out is not None and shape == acc.shape:
            em.line(em.binary(op, a, b, out=out))
            return Val(out, shape, scale=scale, owned=True)
        result = em.assign(em.binary(op, a, b))
        return Val(result, shape, scale=scale, owned=self._fresh(shape))

    def _diagonal(self, acc: Val, shape: Shape, deltas: int) -> Val:
        """``acc + deltas * I`` as a write on the diagonal (never a dense identity on numpy)."""
        em = self.em
        count = number(deltas / acc.scale)
        if em.dialect.name != "numpy":
            code = em.assign(f"{acc.code} + {count} * {self._eye(shape[0])}")
            return Val(code, shape, scale=acc.scale, owned=True)
        if not acc.owned or acc.shape != shape:
            code = em.assign(f"np.zeros({shape}, D)")
            em.line(f"np.add({code}, {acc.code}, out={code})")
            acc = Val(code, shape, scale=acc.scale, owned=True)
        diagonal = em.assign(f"c_einsum('ii->i', {acc.code})")
        em.line(f"np.add({diagonal}, {count}, out={diagonal})")
        em.line(f"del {diagonal}")
        return acc

    # -- functions -----------------------------------------------------------------------
    def _func(self, i: int, node: Any) -> Val:
        em = self.em
        args = [self.vals[self.p.index_of[a.key]] for a in node.args]
        entry = FUNCTIONS[node.name]
        if all(a.const is not None for a in args):
            value = entry.array(np, *[np.asarray(a.const, self.placement.dtype) for a in args],
                                node.param)
            return Val("", (), const=float(value))
        kernel = numpy_kernel(node.name, node.param) if em.dialect.name == "numpy" \
            else None
        if warns(kernel):
            self.quiet = True
        ready = []
        for a, arg in zip(args, node.args, strict=True):
            k = self.p.index_of[arg.key]
            if a.const is not None:
                ready.append(Val(em.assign(self._array_of(a.const)), ()))
            else:
                ready.append(self.materialize(a, k))
        shape = broadcast(*[a.shape for a in ready])
        if kernel is not None and len(ready) == 1:
            arg, k = ready[0], self.p.index_of[node.args[0].key]
            if shape and (arg.owned and (arg.code != args[0].code or self.writable(k))):
                em.line(f"{kernel}({arg.code}, out={arg.code})")
                return Val(arg.code, shape, owned=True)
            return Val(em.assign(f"{kernel}({arg.code})"), shape, owned=self._fresh(shape))
        function = em.const(entry.array, "F")
        code = em.assign(f"{function}({self._module()}, "
                         f"{', '.join(a.code for a in ready)}, {node.param!r})")
        em.line(self._conform(code))
        return Val(code, shape)

    def _call(self, i: int, node: Any) -> Val:
        """A matrix function or a logsumexp: one call of the backend's operation."""
        em = self.em
        self.quiet = True
        args = [self.materialize(self.vals[self.p.index_of[c.key]], -1) for c in node.children]
        args = [a if a.const is None else Val(em.assign(self._array_of(a.const)), ())
                for a in args]
        if node.kind == "logsumexp":
            call = em.const(self.backend.logsumexp, "LSE")
            code = em.assign(f"{call}({args[0].code}, {node.axes!r})")
        else:
            helper = em.const(lambda *values, _node=node: matfunc(self.backend, _node,
                                                                  list(values)), "MF")
            code = em.assign(f"{helper}({', '.join(a.code for a in args)})")
        em.line(self._conform(code))
        return Val(code, self._shape(node.dims))

    def _module(self) -> str:
        return "np" if self.em.dialect.name == "numpy" else "XP"

    def _conform(self, code: str) -> str:
        if self.em.dialect.name == "numpy":
            return f"{code} = np.asarray({code}, D)"
        return f"{code} = CONFORM({code}, P)"

    # -- the result ----------------------------------------------------------------------
    def _finish(self, val: Val, shape: Shape) -> str:
        """The result: the call's dtype, full shape, fresh, aliasing no input."""
        em = self.em
        numpy = em.dialect.name == "numpy"
        if val.deferred is not None:
            val = self.materialize(val)
        if val.const is not None:
            return em.assign(self._array_of(val.const, shape))
        owned = val.owned and self.holders[_base(val.code)] <= 1
        if val.scale != 1.0:
            if owned and val.shape and numpy:
                em.line(em.scaled(val.code, val.scale, out=val.code))
            else:
                val = Val(em.assign(em.scaled(val.code, val.scale)), val.shape, owned=True)
                owned = True
        code = val.code
        if val.shape != shape:
            if numpy:
                out = em.assign(f"np.empty({shape}, D)")
                em.line(f"np.copyto({out}, {code})")
                return out
            return em.assign(f"torch.broadcast_to({code}, {shape}).contiguous()")
        if not shape and numpy:
            return em.assign(f"np.array({code}, D)")
        if not owned:
            return em.assign(f"np.array({code}, D)" if numpy else f"{code}.clone()")
        return code


def lower(
    program: Any,
    dim_size: Mapping[str, int],
    placement: Placement,
    raw_dtypes: Sequence[np.dtype | None],
    dialect: Dialect,
    backend: Backend,
) -> tuple[str, dict[str, Any]]:
    """The source of ``def body(a0, ...)`` and its namespace (module docstring)."""
    lowering = Lowering(program, dim_size, placement, raw_dtypes, dialect, backend)
    return lowering.run()
