"""Spelling a dim's size in numpy (X.shape[0])."""

from __future__ import annotations

from einderiv.errors import EinderivError
from einderiv.ir.nodes import (
    Expr,
    Symbol,
    size_owners,
)
from einderiv.ir.traversal import topological

# -- einsum form ----------------------------------------------------------------------


class SizeSource:
    """Finds a numpy spelling for the size of a dim (``W.shape[0]``)."""

    def __init__(self, root: Expr) -> None:
        self.root = root
        self.where: dict[str, str] = {}
        for node in topological(root):
            if isinstance(node, Symbol):
                for axis, dim in enumerate(node.dims):
                    self.where.setdefault(dim, f"{node.name}.shape[{axis}]")

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
