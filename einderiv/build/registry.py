"""Builders made from the function registry: ``ed.<name>`` for every public entry.

Contract: :data:`BUILDERS` maps every registry name to its builder, with the entry's
signature (array parameters, then the options with their defaults) and a docstring
made from its summary and example.  An elementwise entry broadcasts its arguments
(numpy's rules) and builds one ``Func`` node; a matrix entry checks its arguments'
shapes and builds one ``MatFunc`` node; a composite entry expands through the
builders; a structural entry is one of the hand-written builders of this layer
(:data:`STRUCTURAL`).  Nothing here names a particular function but the structural
table: adding a function to the registry adds its builder.

>>> BUILDERS["arctan"].__name__
'arctan'
>>> import inspect
>>> str(inspect.signature(BUILDERS["var"]))
'(a, axis=None, keepdims=False)'
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from einderiv.build.arithmetic import broadcast_dims, broadcast_to, matmul, transpose
from einderiv.build.inputs import keeps_inputs
from einderiv.build.linalg import diag, dot, outer, trace
from einderiv.build.reductions import logsumexp, mean, reduce_sum, softmax
from einderiv.build.symbols import as_expr
from einderiv.functions import FUNCTIONS, Composite, Elementwise, Entry, Matrix
from einderiv.ir.nodes import Expr
from einderiv.rewrite.elementwise import make_func
from einderiv.rewrite.matrix import make_matfunc

STRUCTURAL: dict[str, Callable[..., Expr]] = {
    "sum": reduce_sum,
    "mean": mean,
    "logsumexp": logsumexp,
    "softmax": softmax,
    "trace": trace,
    "diag": diag,
    "outer": outer,
    "transpose": transpose,
    "matmul": matmul,
    "dot": dot,
}
"""The registry's structural entries (``expand=None``), built by hand in this layer."""


class _Ops:
    """The builders by registry name, as attributes (what composites expand through)."""

    def __getattr__(self, name: str) -> Callable[..., Expr]:
        try:
            return BUILDERS[name]
        except KeyError:  # pragma: no cover - a composite names an unknown function
            raise AttributeError(name) from None


OPS = _Ops()


def _signature(entry: Entry) -> inspect.Signature:
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    params = [inspect.Parameter(a, kind) for a in entry.arrays]
    params += [inspect.Parameter(o, kind, default=d) for o, d in entry.options]
    return inspect.Signature(params)


def _docstring(entry: Entry) -> str:
    text = entry.summary[0].upper() + entry.summary[1:] + "."
    kind = {Elementwise: "elementwise", Matrix: "matrix function", Composite: "composite"}
    text += f" (Registry entry ``{entry.name}``, {kind[type(entry)]}.)"
    example = entry.example
    if example is None:
        return text
    names = [token.split("[")[0] for token in example.shapes.split()]
    return (
        f"{text}\n\n>>> import einderiv as ed\n"
        f'>>> {", ".join(names)} = ed.symbols("{example.shapes}")\n'
        f">>> print(ed.{example.call}.to_numpy())\n{example.numpy}\n"
    )


def _build(entry: Entry, arrays: list[Expr], options: list[Any]) -> Expr:
    if isinstance(entry, Elementwise):
        if len(arrays) == 1:
            return make_func(entry.name, arrays[0])
        out = arrays[0].dims
        for other in arrays[1:]:
            out = broadcast_dims(out, other.dims, entry.name)
        return make_func(entry.name, tuple(broadcast_to(a, out) for a in arrays))
    if isinstance(entry, Matrix):
        entry.check(*arrays)
        return make_matfunc(entry.name, tuple(arrays))
    assert entry.expand is not None
    return entry.expand(OPS, *arrays, *options)


def _builder(entry: Entry) -> Callable[..., Expr]:
    """The builder of a registry entry, with the entry's signature and docstring."""
    signature = _signature(entry)

    def build(*args: Any, **kwargs: Any) -> Expr:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arrays = [as_expr(bound.arguments[a], f"{entry.name} operand") for a in entry.arrays]
        return _build(entry, arrays, [bound.arguments[o] for o, _ in entry.options])

    build.__name__ = build.__qualname__ = entry.name
    build.__doc__ = _docstring(entry)
    build.__signature__ = signature  # type: ignore[attr-defined]
    return build


def _builders() -> dict[str, Callable[..., Expr]]:
    found: dict[str, Callable[..., Expr]] = {}
    for name, entry in FUNCTIONS.items():
        if not entry.public:  # internal (pow is spelled **): built by the smart constructors
            continue
        if isinstance(entry, Composite) and entry.expand is None:
            if name not in STRUCTURAL:  # pragma: no cover - caught by the registry tests
                raise AssertionError(f"registry entry '{name}' has no structural builder")
            found[name] = keeps_inputs(STRUCTURAL[name])
        else:
            found[name] = keeps_inputs(_builder(entry))
    return found


BUILDERS: dict[str, Callable[..., Expr]] = _builders()
"""Every public registry function's builder, by name."""

#: the generated builders' examples run as doctests
__test__ = {name: fn for name, fn in BUILDERS.items() if name not in STRUCTURAL and fn.__doc__}
