"""Generated evaluators: one straight-line function per signature, behind one cheap dispatch.

Contract: a :class:`Generated` evaluator answers ``run(values, sizes)`` exactly as the
interpreter (:meth:`Compiled.interpret <einderiv.evaluate.compiled.Compiled.interpret>`)
does.  Its entry function -- generated once per expression -- reads the values of the
symbols (and of the values that give a dim no symbol carries), builds the call's
*signature* (each value's type, shape and dtype; the torch device; ``sizes=``) and looks up
the body generated for it.  A miss goes the slow way once: every value check of
:class:`~einderiv.evaluate.binding.Binder`, then the body is generated
(:mod:`einderiv.evaluate.lowering`) and cached, so the checks that depend on shapes and
dtypes run once per signature and a later call with that signature runs the body directly:
no checks but the symmetric-value one, no per-node dispatch.  Anything a body raises sends
the call to the interpreter, which gives the reference error (or result): generated code
never changes what a call raises.

Backends: numpy bodies write in place; torch bodies are functional torch code (autograd
flows through); a jax body is the interpreter traced once per signature under ``jax.jit``.
cupy and dask run the interpreter.

>>> import numpy as np, einderiv as ed
>>> x, A = ed.symbols("x[n] A[n,n]")
>>> f = ed.compile(ed.grad(x @ A @ x, "x"))
>>> f(x=np.ones(2), A=np.eye(2))
array([2., 2.])
>>> print(f.source(x=np.ones(2), A=np.eye(2)).strip())
def body(a0, a1):
    t0 = np.dot(a0, a1)
    t1 = np.dot(a0.T, a1)
    np.add(t0, t1, out=t0)
    return t0
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from einderiv.errors import EvaluationError
from einderiv.evaluate.emitter import NUMPY, TORCH, Dialect
from einderiv.evaluate.kernels import kernel_namespace
from einderiv.evaluate.lowering import lower
from einderiv.evaluate.numpy_ops import c_einsum

#: signatures kept per expression (the oldest is dropped past this)
MAX_SIGNATURES = 64

DIALECTS: dict[str, Dialect] = {"numpy": NUMPY, "torch": TORCH}


def generates(backend: str) -> bool:
    """Does ``backend`` get generated code (numpy, torch, jax) or the interpreter?"""
    return backend in DIALECTS or backend == "jax"


class Generated:
    """The generated evaluator of one :class:`~einderiv.evaluate.compiled.Compiled`."""

    def __init__(self, compiled: Any) -> None:
        self.c = compiled
        self.backend = compiled.backend
        self.kind = self.backend.name
        self.table: dict[tuple, Callable[..., Any]] = {}
        self.bodies: dict[tuple, Callable[..., Any]] = {}
        self.sources: dict[tuple, str] = {}
        #: why a signature ran on the interpreter instead (tests assert this stays empty)
        self.fallbacks: list[str] = []
        names = [sym.name for sym in compiled.symbols]
        self.names = names
        self.owners = compiled.owner_names
        self.exact = self.kind == "numpy"  # an ndarray subclass (np.matrix) goes the slow way
        self.native = _native_type(self.kind, self.backend.xp)
        self.entry = self._entry()

    # -- the entry ---------------------------------------------------------------------
    def _key_parts(self) -> tuple[list[str], str]:
        """Lines binding ``a0 ...`` and ``o0 ...`` and the signature expression."""
        lines = [f"a{j} = values[{name!r}]" for j, name in enumerate(self.names)]
        lines += [f"o{j} = values.get({name!r})" for j, name in enumerate(self.owners)]
        extra = ", a{j}.device" if self.kind == "torch" else ""
        parts = [f"a{j}.__class__, a{j}.shape, a{j}.dtype" + extra.format(j=j)
                 for j in range(len(self.names))]
        parts += [f"None if o{j} is None else (o{j}.__class__, o{j}.shape, o{j}.dtype)"
                  for j in range(len(self.owners))]
        parts.append("None if not sizes else tuple(sizes.items())")
        if self.kind == "jax":
            parts.append("SETTINGS()")
        return lines, "(" + ", ".join(parts) + ",)"

    def _entry(self) -> Callable[..., Any]:
        lines, key = self._key_parts()
        args = ", ".join(f"a{j}" for j in range(len(self.names)))
        source = ["def entry(values, sizes=None):", "    try:"]
        source += [f"        {line}" for line in lines]
        source += [f"        body = TABLE[{key}]", "    except Exception:",
                   "        return SLOW(values, sizes)", "    try:",
                   f"        return body({args})", "    except Exception as err:",
                   "        return FALLBACK(values, sizes, err)", ""]
        namespace = {"TABLE": self.table, "SLOW": self._slow, "FALLBACK": self._fallback,
                     "SETTINGS": self.backend.settings, "__builtins__": builtins}
        exec(compile("\n".join(source), "<einderiv entry>", "exec"), namespace)  # noqa: S102
        return namespace["entry"]

    def signature_key(self, values: Mapping[str, Any], sizes: Any) -> tuple | None:
        """The entry's signature of ``values`` (None where the entry could not build one)."""
        lines, key = self._key_parts()
        scope: dict[str, Any] = {"values": values, "sizes": sizes,
                                 "SETTINGS": self.backend.settings}
        try:
            exec("\n".join(lines) + f"\nKEY = {key}", scope)  # noqa: S102 - our own source
            found = scope["KEY"]
            hash(found)
        except Exception:  # noqa: BLE001 - values the entry cannot read: no fast path
            return None
        return found

    # -- the slow way: checks, generation ----------------------------------------------
    def _slow(self, values: Any, sizes: Any) -> Any:
        arrays, dim_size, placement = self.c.bind(values, sizes)
        self.c.check_limits(dim_size, placement)
        natives = self._native_dtypes(values)
        signature = (tuple(sorted(dim_size.items())), placement, natives)
        body = self.bodies.get(signature)
        if body is None:
            body = self._generate(signature, dim_size, placement, natives)
        if natives is not None:
            key = self.signature_key(values, sizes)
            if key is not None:
                if len(self.table) >= MAX_SIGNATURES:
                    self.table.pop(next(iter(self.table)))
                self.table[key] = body
        args = [arrays[name] for name in self.names]
        try:
            return body(*args)
        except Exception as err:  # noqa: BLE001 - the interpreter gives the reference answer
            return self._fallback(values, sizes, err)

    def _native_dtypes(self, values: Mapping[str, Any]) -> tuple | None:
        """The dtypes the symbols' values come in, or None if one is not a native array."""
        dtypes = []
        for name in self.names:
            value = values[name]
            if type(value) is not self.native if self.exact else not isinstance(value,
                                                                                self.native):
                return None
            dtype = self.backend.inspect(value)[1]
            if dtype is None:
                return None
            dtypes.append(dtype)
        return tuple(dtypes)

    def _generate(self, signature: tuple, dim_size: dict[str, int], placement: Any,
                  natives: tuple | None) -> Callable[..., Any]:
        try:
            body = self._build(signature, dim_size, placement, natives)
        except EvaluationError:
            raise
        except Exception as err:  # noqa: BLE001 - never a user's problem: interpret instead
            self.fallbacks.append(f"generation failed: {type(err).__name__}: {err}")

            def body(*args: Any) -> Any:
                return self.c.interpret_bound(dict(zip(self.names, args, strict=True)),
                                              dim_size, placement)

        self.bodies[signature] = body
        return body

    def _build(self, signature: tuple, dim_size: dict[str, int], placement: Any,
               natives: tuple | None) -> Callable[..., Any]:
        if self.kind == "jax":
            return self._jax(dim_size, placement)
        raw = natives if natives is not None else [None] * len(self.names)
        source, namespace = lower(self.c, dim_size, placement, raw, DIALECTS[self.kind],
                                  self.backend)
        namespace.update(self._namespace(placement))
        self.sources[signature] = source
        exec(compile(source, "<einderiv generated>", "exec"), namespace)  # noqa: S102
        return namespace["body"]

    def _namespace(self, placement: Any) -> dict[str, Any]:
        base: dict[str, Any] = {"__builtins__": builtins, "SYM": self.c.check_symmetric}
        if self.kind == "numpy":
            base.update(np=np, c_einsum=c_einsum, D=placement.dtype, **kernel_namespace())
        else:
            base.update(torch=self.backend.xp, XP=self.backend.xp, DT=placement.native,
                        DEV=placement.device, P=placement, CONFORM=self.backend.conform)
        return base

    def _jax(self, dim_size: dict[str, int], placement: Any) -> Callable[..., Any]:
        import jax

        steps: list[Any] = [None] * len(self.c.nodes)
        names, c = self.names, self.c

        def traced(*args: Any) -> Any:
            arrays = {n: c.backend.to_backend(a, placement) for n, a in zip(names, args,
                                                                             strict=True)}
            return c.interpret_bound(arrays, dim_size, placement, steps, check=False)

        jitted = jax.jit(traced)

        def body(*args: Any) -> Any:
            if c.symmetric_names:
                c.check_symmetric(dict(zip(names, args, strict=True)))
            return jitted(*args)

        return body

    def _fallback(self, values: Any, sizes: Any, err: Exception) -> Any:
        if not isinstance(err, EvaluationError):
            self.fallbacks.append(f"body raised {type(err).__name__}: {err}")
        return self.c.interpret(values, sizes)

    # -- inspection --------------------------------------------------------------------
    def source(self, values: Mapping[str, Any], sizes: Any = None) -> str:
        """The body generated for ``values``' signature (generated now if needed)."""
        self.entry(values, sizes)
        arrays, dim_size, placement = self.c.bind(values, sizes)
        signature = (tuple(sorted(dim_size.items())), placement, self._native_dtypes(values))
        return self.sources.get(signature, "")


def _native_type(kind: str, xp: Any) -> type:
    """The array type a backend's generated bodies take as they come."""
    if kind == "numpy":
        return np.ndarray
    if kind == "torch":
        return xp.Tensor
    import jax

    return jax.Array
