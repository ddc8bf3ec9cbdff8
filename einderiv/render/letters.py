"""Index letters: how output and summed indices are named in index and einsum forms."""

from __future__ import annotations

from einderiv.ir.nodes import (
    Product,
)

OUT_LETTERS = "abcdefgh"
SUM_LETTERS = "ijklpqrstuvwxyz"
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


# -- index form -----------------------------------------------------------------------


def index_names(node: Product) -> dict[int, str]:
    """Letters for a product's labels: outputs ``a, b, ...``, summed ``i, j, ...``."""
    names: dict[int, str] = {}
    for pos, label in enumerate(node.out):
        names[label] = OUT_LETTERS[pos] if pos < len(OUT_LETTERS) else f"o{pos}"
    k = 0
    for _, labels in node.factors:
        for label in labels:
            if label not in names:
                if node.ldims[label] == "1":  # a size-1 axis: its only index is 1
                    names[label] = "1"
                    continue
                names[label] = SUM_LETTERS[k] if k < len(SUM_LETTERS) else f"s{k}"
                k += 1
    return names
