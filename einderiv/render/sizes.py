"""Spelling a dim's size in numpy (X.shape[0])."""

from __future__ import annotations

from einderiv.errors import EinderivError
from einderiv.ir.nodes import (
    Expr,
    Symbol,
    differentials_of,
    inputs_of,
    size_owners,
)
from einderiv.ir.traversal import topological

# -- einsum form ----------------------------------------------------------------------


class SizeSource:
    """Finds a numpy spelling for the size of a dim (``W.shape[0]``)."""

    def __init__(self, root: Expr) -> None:
        self.root = root
        self.where: dict[str, str] = {}
        self.symbols: list[Symbol] = []
        for node in topological(root):
            if isinstance(node, Symbol):
                self.symbols.append(node)
        # a dim is spelled by the function's own symbols before a derivative's cotangent or
        # tangent (X.shape[0], not dout.shape[0]), each group in the body's order
        differentials = {d for d, _ in differentials_of(root)}
        for node in sorted(self.symbols, key=lambda s: s.key in differentials):
            for axis, dim in enumerate(node.dims):
                self.where.setdefault(dim, f"{node.name}.shape[{axis}]")
        seen = {s.mkey for s in self.symbols}  # a set: T inputs cost T, not T**2
        self.symbols += [s for s in inputs_of(root) if s.mkey not in seen]

    def symbol_with_dims(self, dims: tuple[str, ...]) -> str | None:
        """The name of a symbol of the expression with exactly ``dims`` (for ``np.ones_like``)."""
        return next((s.name for s in self.symbols if s.dims == dims), None)

    def __call__(self, dim: str) -> str:
        """The numpy spelling of ``dim``'s size."""
        if dim == "1":
            return "1"
        owners = size_owners(self.root, dim) if dim not in self.where else []
        if owners:
            name, axis, _ = owners[0]
            self.where[dim] = f"{name}.shape[{axis}]"
        if dim not in self.where:
            raise EinderivError(
                f"cannot write the size of dim '{dim}' in numpy: no symbol in the expression has it"
            )
        return self.where[dim]
