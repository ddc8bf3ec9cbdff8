"""IR: immutable, hash-consed expression nodes with symbolic dimension names.

Contract: every node is immutable and *interned* -- building the same structure twice
returns the same object, so a subexpression used twice is one node and an expression is
a DAG.  Every node has ``dims``, the tuple of its dimension names (``("n", "m")``);
the literal dim ``"1"`` is a size-1 axis that broadcasts.  Nodes are compared
structurally (``==`` is structural equality and returns a ``bool``) and ordered by a
deterministic content digest ``key``, never by creation order.

Node kinds:

* :class:`Symbol` -- a named input tensor ``W[n,m]``, optionally symmetric.
* :class:`Delta` -- the Kronecker delta ``δ_ab`` over one dim (shape ``(d, d)``).
* :class:`Size` -- the size of a dim as a scalar (``δ_ii = n``, ``mean = sum / n``).
* :class:`Product` -- one einsum term: a coefficient, factors each with integer index
  labels, and output labels.  A label not in the output is summed; an output label that
  no factor carries broadcasts (the value is constant along it).
* :class:`Sum` -- terms with equal dims, added position by position.
* :class:`Func` -- an elementwise function of one or more arguments of equal dims
  (``tanh``, ``pow`` with a constant exponent, ``maximum(a, b)``, ...).
* :class:`MatFunc` -- ``inv``, ``det`` and ``logdet`` of a square matrix, and
  ``solve(A, B)``.
* :class:`LogSumExp` -- ``log(sum(exp(x)))`` over some axes, evaluated stably.

>>> from einderiv.ir import Symbol
>>> W = Symbol.make("W", ("n", "m"))
>>> W is Symbol.make("W", ("n", "m"))
True
>>> W.dims
('n', 'm')
"""

from __future__ import annotations

import hashlib
import math
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from einderiv.errors import ShapeError

Dims = tuple[str, ...]
Labels = tuple[int, ...]
Factor = tuple["Expr", Labels]

_INTERNED: weakref.WeakValueDictionary[str, Expr] = weakref.WeakValueDictionary()

def digest(content: Any) -> str:
    """A short deterministic digest of ``content``'s repr (node keys)."""
    return hashlib.blake2b(repr(content).encode(), digest_size=10).hexdigest()


class Expr:
    """Base of all IR nodes; arithmetic operators build new expressions.

    Subclasses set ``kind`` and build instances with ``make`` (interning).
    """

    __slots__ = ("key", "mkey", "dims", "children", "__weakref__", "_cache")
    kind: ClassVar[str] = "expr"
    __array_ufunc__ = None  # numpy arrays defer to our operators

    _cache: dict[str, Any]  # memos that are functions of the node's own structure
    key: str  # identity of the node (annotations included)
    mkey: str  # identity of the mathematics: equal for an annotated root and its body
    dims: Dims
    children: tuple[Expr, ...]

    @classmethod
    def _intern(cls, content: tuple, dims: Dims, children: tuple[Expr, ...], **fields: Any):
        key = digest((cls.kind, content))
        found = _INTERNED.get(key)
        if found is not None:
            return found
        node = object.__new__(cls)
        object.__setattr__(node, "key", key)
        object.__setattr__(node, "mkey", fields.pop("mkey", key))
        object.__setattr__(node, "dims", dims)
        object.__setattr__(node, "children", children)
        object.__setattr__(node, "_cache", {})
        for name, value in fields.items():
            object.__setattr__(node, name, value)
        _INTERNED[key] = node
        return node

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("einderiv expressions are immutable")

    def __reduce__(self):  # pragma: no cover - pickling is not supported
        raise TypeError("einderiv expressions cannot be pickled")

    # -- identity -------------------------------------------------------------------
    def __hash__(self) -> int:
        return hash(self.mkey)

    def __eq__(self, other: object) -> bool:  # structural equality of the mathematics
        return isinstance(other, Expr) and other.mkey == self.mkey

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    # -- shape ----------------------------------------------------------------------
    @property
    def shape(self) -> Dims:
        """The tuple of dimension names, e.g. ``("n", "m")``."""
        return self.dims

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return len(self.dims)

    def __pos__(self) -> Expr:
        return self

    # -- installed from the layers above (no upward import) -------------------------
    # einderiv.build installs the numpy-like operators, einderiv.render the printers
    # (to_numpy, to_latex, to_index, to_einsum, to_kronecker, repr) and einderiv.evaluate
    # ``evaluate``; importing ``einderiv`` installs them all.
    if TYPE_CHECKING:

        def __add__(self, other: Any) -> Expr: ...
        def __radd__(self, other: Any) -> Expr: ...
        def __sub__(self, other: Any) -> Expr: ...
        def __rsub__(self, other: Any) -> Expr: ...
        def __mul__(self, other: Any) -> Expr: ...
        def __rmul__(self, other: Any) -> Expr: ...
        def __truediv__(self, other: Any) -> Expr: ...
        def __rtruediv__(self, other: Any) -> Expr: ...
        def __neg__(self) -> Expr: ...
        def __pow__(self, exponent: Any) -> Expr: ...
        def __matmul__(self, other: Any) -> Expr: ...
        def __rmatmul__(self, other: Any) -> Expr: ...
        @property
        def T(self) -> Expr: ...  # noqa: N802, D102 - numpy's name
        def sum(self, axis: Any = None, keepdims: bool = False) -> Expr: ...  # noqa: D102
        def evaluate(  # noqa: D102
            self,
            values: Any = None,
            backend: str = "numpy",
            sizes: dict[str, int] | None = None,
            **kw: Any,
        ) -> Any: ...
        def to_numpy(self) -> str: ...  # noqa: D102
        def to_latex(self, where: bool = False) -> str: ...  # noqa: D102
        def to_program(self, name: str | None = None) -> str: ...  # noqa: D102
        def to_index(self) -> str: ...  # noqa: D102
        def to_einsum(self) -> str: ...  # noqa: D102
        def to_kronecker(self, y: str = "Y", x: str = "X") -> str | None: ...  # noqa: D102

    # -- traversal ------------------------------------------------------------------
    def walk(self) -> Iterator[Expr]:
        """Every distinct node reachable from here, children before parents."""
        return iter(topological(self))

    def symbols(self) -> dict[str, Symbol]:
        """Symbols in this expression, by name."""
        found: dict[str, Symbol] = {}
        for node in topological(self):
            if isinstance(node, Symbol):
                found[node.name] = node
        return found


def topological(root: Expr) -> list[Expr]:
    """Distinct nodes of the DAG under ``root``, each after its children.

    An :class:`Annotated` root is walked as its body: annotations are not nodes of the DAG.
    """
    root = unwrap(root)
    order: list[Expr] = []
    seen: set[str] = set()
    stack: list[tuple[Expr, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node.key in seen:
            continue
        seen.add(node.key)
        stack.append((node, True))
        for child in reversed(node.children):
            if child.key not in seen:
                stack.append((child, False))
    return order


class Symbol(Expr):
    """A named input tensor with symbolic dims, e.g. ``W[n,m]``; ``symmetric`` for ``A = A.T``."""

    __slots__ = ("name", "symmetric")
    kind = "symbol"
    name: str
    symmetric: bool

    @classmethod
    def make(cls, name: str, dims: Dims, symmetric: bool = False) -> Symbol:
        """Intern the symbol ``name`` with ``dims``."""
        dims = tuple(dims)
        return cls._intern((name, dims, symmetric), dims, (), name=name, symmetric=symmetric)


class Delta(Expr):
    """Kronecker delta ``δ_ab`` on one dim: 1 where the two indices agree, else 0."""

    __slots__ = ("dim",)
    kind = "delta"
    dim: str

    @classmethod
    def make(cls, dim: str) -> Delta:
        """Intern the delta over ``dim``."""
        return cls._intern((dim,), (dim, dim), (), dim=dim)


class Size(Expr):
    """The size of a dim as a scalar value (what ``δ_ii`` sums to)."""

    __slots__ = ("dim",)
    kind = "size"
    dim: str

    @classmethod
    def make(cls, dim: str) -> Size:
        """Intern the size of ``dim``."""
        return cls._intern((dim,), (), (), dim=dim)


class Product(Expr):
    """One einsum term ``coeff * Σ_summed Π factors``.

    ``factors`` pairs each operand with its labels (ints); ``out`` lists the output
    labels; ``ldims[l]`` is the dim of label ``l``.  Labels are renumbered on
    construction in order of first appearance (output first), so structurally equal
    terms intern to one node.
    """

    __slots__ = ("coeff", "factors", "out", "ldims")
    kind = "product"
    coeff: float
    factors: tuple[Factor, ...]
    out: Labels
    ldims: Dims

    @classmethod
    def make(
        cls,
        coeff: float,
        factors: Iterable[tuple[Expr, Iterable[int]]],
        out: Iterable[int],
        ldims: dict[int, str] | Dims,
    ) -> Product:
        """Build (and intern) a product; labels may be any ints, they are renumbered."""
        pairs = [(unwrap(f), tuple(ls)) for f, ls in factors]
        out = tuple(out)
        if not isinstance(ldims, dict):
            ldims = dict(enumerate(ldims))
        mapping: dict[int, int] = {}
        for label in out:
            if label in mapping:
                raise AssertionError(f"output label {label} repeated")
            mapping[label] = len(mapping)
        for factor, labels in pairs:
            if len(labels) != len(factor.dims):
                raise AssertionError("labels do not match factor rank")
            for label, dim in zip(labels, factor.dims, strict=True):
                if label not in mapping:
                    mapping[label] = len(mapping)
                if ldims[label] != dim:
                    raise AssertionError(f"label dim {ldims[label]} != factor dim {dim}")
        new_ldims = [""] * len(mapping)
        for label, new in mapping.items():
            new_ldims[new] = ldims[label]
        new_factors = tuple((f, tuple(mapping[x] for x in ls)) for f, ls in pairs)
        new_out = tuple(mapping[x] for x in out)
        coeff = float(coeff)
        if not math.isfinite(coeff):
            raise _not_finite("coefficient", coeff)
        if coeff == 0.0:
            coeff = 0.0  # no negative zero
        content = (
            repr(coeff),
            tuple((f.key, ls) for f, ls in new_factors),
            new_out,
            tuple(new_ldims),
        )
        dims = tuple(new_ldims[x] for x in new_out)
        children = tuple(f for f, _ in new_factors)
        return cls._intern(
            content,
            dims,
            children,
            coeff=coeff,
            factors=new_factors,
            out=new_out,
            ldims=tuple(new_ldims),
        )

    @property
    def summed(self) -> Labels:
        """Labels that are summed over (present in factors, absent from the output)."""
        outs = set(self.out)
        seen: list[int] = []
        for _, labels in self.factors:
            for label in labels:
                if label not in outs and label not in seen:
                    seen.append(label)
        return tuple(seen)


class Sum(Expr):
    """Terms with identical dims, added; no terms is the zero tensor of ``dims``."""

    __slots__ = ("terms",)
    kind = "sum"
    terms: tuple[Expr, ...]

    @classmethod
    def make(cls, terms: Iterable[Expr], dims: Dims) -> Sum:
        """Intern the sum of ``terms`` (all of dims ``dims``)."""
        terms = tuple(unwrap(t) for t in terms)
        for term in terms:
            if term.dims != tuple(dims):
                raise AssertionError(f"sum term dims {term.dims} != {dims}")
        content = (tuple(t.key for t in terms), tuple(dims))
        return cls._intern(content, tuple(dims), terms, terms=terms)


class Func(Expr):
    """An elementwise function ``name(*args)``; ``param`` is the exponent for ``pow``.

    The arguments have equal dims (the builders broadcast them first); ``arg`` is the
    first, the only one of a function of one argument.
    """

    __slots__ = ("name", "arg", "args", "param")
    kind = "func"
    name: str
    arg: Expr
    args: tuple[Expr, ...]
    param: float | None

    @classmethod
    def make(cls, name: str, arg: Expr | Sequence[Expr], param: float | None = None) -> Func:
        """Intern ``name(arg)``, or ``name(*arg)`` for a sequence of arguments."""
        args = _arguments(arg)
        if any(a.dims != args[0].dims for a in args):
            raise AssertionError(f"{name}: arguments of dims {[list(a.dims) for a in args]}")
        if param is not None:
            param = float(param)
            if not math.isfinite(param):
                raise _not_finite("exponent", param)
        keys = args[0].key if len(args) == 1 else tuple(a.key for a in args)
        return cls._intern(
            (name, keys, repr(param)), args[0].dims, args,
            name=name, arg=args[0], args=args, param=param,
        )


class MatFunc(Expr):
    """A matrix function with its own index rule: ``inv``, ``det``, ``logdet``, ``solve``.

    ``solve(A, B)`` is ``A⁻¹ B`` along ``B``'s first axis (``B`` of any rank >= 1; its
    dims are the result's); ``arg`` is the first argument, the square matrix.
    """

    __slots__ = ("name", "arg", "args")
    kind = "matfunc"
    name: str
    arg: Expr
    args: tuple[Expr, ...]

    @classmethod
    def make(cls, name: str, arg: Expr | Sequence[Expr]) -> MatFunc:
        """Intern ``name(arg)`` (``name(*arg)`` for a sequence); builders check shapes."""
        args = _arguments(arg)
        dims = args[0].dims if name == "inv" else args[-1].dims if name == "solve" else ()
        keys = args[0].key if len(args) == 1 else tuple(a.key for a in args)
        return cls._intern((name, keys), dims, args, name=name, arg=args[0], args=args)


def _arguments(arg: Expr | Sequence[Expr]) -> tuple[Expr, ...]:
    args = (unwrap(arg),) if isinstance(arg, Expr) else tuple(unwrap(a) for a in arg)
    if not args:
        raise AssertionError("a function needs at least one argument")
    return args


class LogSumExp(Expr):
    """``log Σ_axes exp(arg)``, reducing ``axes`` (sorted positions of ``arg``)."""

    __slots__ = ("arg", "axes")
    kind = "logsumexp"
    arg: Expr
    axes: tuple[int, ...]

    @classmethod
    def make(cls, arg: Expr, axes: Iterable[int]) -> LogSumExp:
        """Intern the reduction of ``arg`` over ``axes``."""
        arg = unwrap(arg)
        axes = tuple(sorted(set(axes)))
        dims = tuple(d for i, d in enumerate(arg.dims) if i not in axes)
        return cls._intern((arg.key, axes), dims, (arg,), arg=arg, axes=axes)


class Annotated(Expr):
    """A root expression with what it knows beyond its DAG: its inputs and names.

    ``body`` is the mathematics.  ``inputs`` are the symbols the expression was declared
    with, in order: a program's declared symbols, or a derivative's function inputs, wrt
    and cotangent.  They may include symbols the body no longer uses (``x - x``,
    ``grad(trace(A), A)`` is the identity on ``n``): those still name the expression's
    arguments (codegen, ``wrt="x"``) and give the sizes of dims no symbol of the body
    carries.  ``names`` pairs subexpressions (by key) with the names a program or a
    derivation gave them (``z``, ``dz``), and ``differentials`` pairs the key of a
    derivative's part with the key of the node it is the differential of (the adjoint
    of ``z`` in a vjp, its tangent in a jvp), so the readable form can call it ``dz``
    whatever ``z`` ends up being called.  An annotated node is only ever a root: node
    constructors take its body, :func:`topological` walks its body, and ``==`` compares
    bodies.  Build it with :func:`annotate`.
    """

    __slots__ = ("body", "inputs", "names", "differentials")
    kind = "annotated"
    body: Expr
    inputs: tuple[Symbol, ...]
    names: tuple[tuple[str, str], ...]
    differentials: tuple[tuple[str, str], ...]

    @classmethod
    def make(
        cls,
        body: Expr,
        inputs: tuple[Symbol, ...],
        names: tuple[tuple[str, str], ...],
        differentials: tuple[tuple[str, str], ...] = (),
    ) -> Annotated:
        """Intern ``body`` with its annotation (use :func:`annotate`)."""
        content = (body.key, tuple(s.key for s in inputs), names, differentials)
        return cls._intern(
            content, body.dims, (), body=body, inputs=inputs, names=names,
            differentials=differentials, mkey=body.mkey,
        )


def unwrap(node: Expr) -> Expr:
    """The mathematics of ``node``: the body of an annotated root, else ``node`` itself."""
    return node.body if isinstance(node, Annotated) else node


def inputs_of(node: Expr) -> tuple[Symbol, ...]:
    """The inputs of ``node``: declared ones of an annotated root, else its symbols in order.

    The order of a plain expression is the order of first appearance (children first).
    """
    if isinstance(node, Annotated):
        return node.inputs
    cached = node._cache.get("inputs")
    if cached is None:
        cached = tuple(n for n in topological(node) if isinstance(n, Symbol))
        node._cache["inputs"] = cached
    return cached


def names_of(node: Expr) -> tuple[tuple[str, str], ...]:
    """The ``(key, name)`` pairs of an annotated root (empty for a plain node)."""
    return node.names if isinstance(node, Annotated) else ()


def differentials_of(node: Expr) -> tuple[tuple[str, str], ...]:
    """The ``(derivative part key, primal key)`` pairs of an annotated root (else empty)."""
    return node.differentials if isinstance(node, Annotated) else ()


def dims_needed(node: Expr) -> frozenset[str]:
    """Every dim whose size evaluating or printing ``node`` may need (Size nodes too)."""
    return _dims_summary(unwrap(node))[0]


def dims_carried(node: Expr) -> frozenset[str]:
    """The dims that some symbol of ``node`` carries (their sizes come with its values)."""
    return _dims_summary(unwrap(node))[1]


def _dims_summary(root: Expr) -> tuple[frozenset[str], frozenset[str]]:
    """``(needed, carried)`` for ``root``, memoized per node (a function of its structure)."""
    cached = root._cache.get("dims")
    if cached is not None:
        return cached
    for node in unmemoized(root, "dims"):
        needed = set(node.dims) - {"1"}
        carried: set[str] = set()
        if isinstance(node, Size) and node.dim != "1":
            needed.add(node.dim)
        if isinstance(node, Symbol):
            carried.update(d for d in node.dims if d != "1")
        for child in node.children:
            child_needed, child_carried = child._cache["dims"]
            needed |= child_needed
            carried |= child_carried
        node._cache["dims"] = (frozenset(needed), frozenset(carried))
    return root._cache["dims"]


def unmemoized(root: Expr, entry: str) -> list[Expr]:
    """The nodes under ``root`` without ``entry`` in their memo, each after its children.

    The walk stops at memoized nodes, so memoizing a growing DAG one node at a time
    costs O(new nodes), not O(DAG) per node.
    """
    order: list[Expr] = []
    seen: set[str] = set()
    stack: list[tuple[Expr, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif node.key not in seen and entry not in node._cache:
            seen.add(node.key)
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(node.children))
    return order


def annotate(
    body: Expr,
    inputs: Iterable[Expr] = (),
    names: Iterable[tuple[str, str]] = (),
    differentials: Iterable[tuple[str, str]] = (),
) -> Expr:
    """``body`` with its declared ``inputs`` (in order) and the ``names`` of its parts.

    ``inputs`` may hold symbols or expressions (whose own inputs count, in order); the
    body's own annotation comes first.  When the inputs are just the body's own symbols
    in their natural order and nothing is named, the body comes back plain.

    >>> from einderiv.ir.nodes import Delta, Symbol
    >>> A = Symbol.make("A", ("n", "n"))
    >>> annotate(Delta.make("n"), [A]).inputs == (A,)
    True
    >>> annotate(A, [A]) is A
    True
    """
    plain = unwrap(body)
    found: dict[str, Symbol] = {}
    # an annotated body's inputs first, then the declared ones in their order, then any
    # other symbol of the body: generated code takes its arguments in this order
    own = inputs_of(body) if isinstance(body, Annotated) else ()
    for item in (*own, *inputs, *inputs_of(plain)):
        for sym in (item,) if isinstance(item, Symbol) else inputs_of(item):
            found.setdefault(sym.key, sym)
    named = dict(names_of(body))
    for key, name in names:
        named.setdefault(key, name)
    derived = dict(differentials_of(body))
    for key, primal in differentials:
        derived.setdefault(key, primal)
    ordered = tuple(found.values())
    if not named and not derived and ordered == inputs_of(plain):
        return plain
    return Annotated.make(plain, ordered, tuple(named.items()), tuple(derived.items()))


def reannotate(original: Expr, body: Expr) -> Expr:
    """``body`` (a rewrite of ``original``'s body) with ``original``'s annotation, if any."""
    if not isinstance(original, Annotated):
        return body
    return annotate(body, original.inputs, original.names, original.differentials)


def size_owners(root: Expr, dim: str) -> list[tuple[str, int, int]]:
    """Inputs ``(name, axis, rank)`` of ``root`` whose value gives ``dim``'s size.

    Only ``root``'s own inputs are read (see :class:`Annotated`): nothing declared
    elsewhere in the process changes what an expression evaluates or prints.
    """
    return [
        (sym.name, axis, len(sym.dims))
        for sym in inputs_of(root)
        for axis, d in enumerate(sym.dims)
        if d == dim
    ]


def _not_finite(what: str, value: float) -> ShapeError:
    """The error for an infinite or NaN constant (rendering and evaluation need numbers)."""
    return ShapeError(
        f"the constant {value} is not finite (the {what} overflowed, or inf/nan was given); "
        "einderiv needs finite constants: rescale the expression (dividing by a tiny number "
        "such as 2**-1074 overflows to inf), or pass the value as a symbol's value instead"
    )


def zero(dims: Dims) -> Expr:
    """The zero tensor of ``dims`` (a sum of no terms)."""
    return Sum.make((), tuple(dims))


def is_zero(node: Expr) -> bool:
    """True for a node that is structurally zero."""
    if isinstance(node, Sum):
        return not node.terms
    if isinstance(node, Product):
        return node.coeff == 0.0
    return False


def constant(value: float, dims: Dims = ()) -> Product:
    """A constant ``value`` broadcast over ``dims``."""
    dims = tuple(dims)
    return Product.make(value, (), tuple(range(len(dims))), dims)


def as_product(node: Expr) -> Product:
    """View any node as a product (a non-product becomes its single factor)."""
    if isinstance(node, Product):
        return node
    labels = tuple(range(len(node.dims)))
    return Product.make(1.0, ((node, labels),), labels, node.dims)


def constant_value(node: Expr) -> float | None:
    """The number a constant scalar-or-broadcast node stands for, else None."""
    if isinstance(node, Product) and not node.factors:
        return node.coeff
    if isinstance(node, Sum) and not node.terms:
        return 0.0
    return None
