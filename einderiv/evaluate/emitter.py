"""Writing straight-line source: temporaries, constants, and one backend's spellings.

Contract: an :class:`Emitter` collects the lines of one generated function body and the
namespace they run in.  Lowering (:mod:`einderiv.evaluate.lowering`) describes each node's
value as a :class:`Val` and asks the emitter for code; the emitter's :class:`Dialect` says how
a backend spells each operation and whether it may write into buffers it allocated (numpy
does: ``np.multiply(a, b, out=a)``; torch stays functional for autograd).  No user text ever
reaches the source: arguments are ``a0, a1, ...`` and every other object (dtypes, functions,
devices) is a namespace constant with a generated name.

>>> em = Emitter(NUMPY)
>>> em.assign("np.add(a0, a1)")
't0'
>>> em.lines
['t0 = np.add(a0, a1)']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Shape = tuple[int, ...]


@dataclass(slots=True)
class Val:
    """A node's value in generated code: ``scale * code``, or a constant.

    ``code`` is a Python expression (a temporary, an argument, a view of one); ``shape`` is
    the shape it evaluates to -- the node's shape, or 1 along axes the value is constant
    on (a broadcast left to the consumers, which broadcast as numpy does).  ``const`` is a
    constant value everywhere (``code`` unused); ``owned`` says ``code`` is a temporary of
    this call that nobody else holds, so its last consumer may write into it; ``deferred``
    holds the terms of a sum left for its one consumer to distribute over.
    """

    code: str
    shape: Shape
    scale: float = 1.0
    const: float | None = None
    owned: bool = False
    deferred: tuple[Val, ...] | None = None


@dataclass(frozen=True)
class Dialect:
    """How one backend spells the operations generated code uses.

    ``in_place``: may the code write into buffers it allocated (``out=``)?  ``module`` is
    the array namespace's name in the generated code.
    """

    name: str
    module: str
    in_place: bool
    dot: str  # "{0}", "{1}": matrix/vector product of at most 2-D operands
    einsum: str  # "{spec}", "{args}"
    permute: str  # "{0}", "{perm}"
    total: str  # "{0}", "{axes}": sum over axes

    def binary(self, op: str, a: str, b: str, out: str | None = None) -> str:
        """``op`` in add / subtract / multiply, into ``out`` where the dialect writes in place."""
        if out is not None and self.in_place:
            return f"{self.module}.{op}({a}, {b}, out={out})"
        if self.name == "torch":
            return f"{self.module}.{dict(add='add', subtract='sub', multiply='mul')[op]}({a}, {b})"
        return f"{self.module}.{op}({a}, {b})"


NUMPY = Dialect(
    "numpy", "np", True, dot="np.dot({0}, {1})", einsum="c_einsum({spec!r}, {args})",
    permute="{0}.transpose({perm})", total="{0}.sum(axis={axes})",
)
TORCH = Dialect(
    "torch", "torch", False, dot="torch.matmul({0}, {1})",
    einsum="torch.einsum({spec!r}, {args})", permute="{0}.permute({perm})",
    total="{0}.sum(dim={axes})",
)


@dataclass
class Emitter:
    """Lines of one function body, its temporaries and its namespace (module docstring)."""

    dialect: Dialect
    lines: list[str] = field(default_factory=list)
    namespace: dict[str, Any] = field(default_factory=dict)
    _count: int = 0
    _consts: dict[int, str] = field(default_factory=dict)

    def temp(self) -> str:
        """A fresh temporary name."""
        name = f"t{self._count}"
        self._count += 1
        return name

    def assign(self, code: str) -> str:
        """``tK = code``; returns ``tK``."""
        name = self.temp()
        self.lines.append(f"{name} = {code}")
        return name

    def line(self, code: str) -> None:
        """A statement."""
        self.lines.append(code)

    def const(self, value: Any, hint: str = "k") -> str:
        """The name of ``value`` in the namespace (one name per object)."""
        key = id(value)
        name = self._consts.get(key)
        if name is None:
            name = f"{hint}{len(self._consts)}"
            self._consts[key] = name
            self.namespace[name] = value
        return name

    # -- spellings ----------------------------------------------------------------------
    def binary(self, op: str, a: str, b: str, out: str | None = None) -> str:
        """Code of ``a op b`` (``out``: the buffer written, numpy only)."""
        return self.dialect.binary(op, a, b, out)

    def scaled(self, a: str, scale: float, out: str | None = None) -> str:
        """Code of ``scale * a`` (``np.negative`` for -1)."""
        if scale == -1.0:
            if out is not None and self.dialect.in_place:
                return f"{self.dialect.module}.negative({a}, out={out})"
            return f"{self.dialect.module}.negative({a})"
        return self.binary("multiply", a, number(scale), out)

    def dot(self, a: str, b: str, matrices: bool = False) -> str:
        """Code of the BLAS product of two at most 2-D arrays (``matrices``: both 2-D)."""
        if matrices and self.dialect.name == "numpy":
            return f"np.matmul({a}, {b})"  # numpy's matmul: less overhead than dot for 2-D
        return self.dialect.dot.format(a, b)

    def einsum(self, spec: str, args: list[str]) -> str:
        """Code of one einsum over ASCII subscripts."""
        return self.dialect.einsum.format(spec=spec, args=", ".join(args))

    def permute(self, a: str, perm: tuple[int, ...]) -> str:
        """Code of ``a`` with its axes permuted (a view)."""
        if perm == tuple(range(len(perm))):
            return a
        if perm == (1, 0) and self.dialect.name == "numpy":
            return f"{a}.T"
        return self.dialect.permute.format(a, perm=perm)

    def reshape(self, a: str, shape: Shape, current: Shape) -> str:
        """Code of ``a`` reshaped (nothing when the shape is already ``shape``)."""
        return a if tuple(shape) == tuple(current) else f"{a}.reshape({tuple(shape)})"

    def total(self, a: str, axes: tuple[int, ...]) -> str:
        """Code of ``a`` summed over ``axes``."""
        return self.dialect.total.format(a, axes=axes)


def broadcast(*shapes: Shape) -> Shape:
    """Numpy's broadcast of ``shapes`` (any rank: ``np.broadcast_shapes`` stops at 32).

    >>> broadcast((3, 1), (4,))
    (3, 4)
    """
    rank = max((len(s) for s in shapes), default=0)
    out = [1] * rank
    for shape in shapes:
        for axis, n in enumerate(shape, start=rank - len(shape)):
            if n != 1:
                if out[axis] not in (1, n):
                    raise ValueError(f"shapes {shapes} do not broadcast")
                out[axis] = n
    return tuple(out)


def number(value: float) -> str:
    """A float as a Python literal that reads back exactly (``inf`` never occurs)."""
    return repr(float(value))
