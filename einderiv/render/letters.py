"""Index letters: how output and summed indices are named in index and einsum forms."""

from __future__ import annotations

from einderiv.errors import ShapeError
from einderiv.ir.nodes import (
    Product,
)

OUT_LETTERS = "abcdefgh"
SUM_LETTERS = "ijklpqrstuvwxyz"
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def letter(label: int) -> str:
    """The einsum letter of ``label``; a ShapeError past the 52 that np.einsum knows.

    >>> letter(0), letter(51)
    ('a', 'Z')
    """
    if 0 <= label < len(LETTERS):
        return LETTERS[label]
    raise ShapeError(
        f"this product has more than {len(LETTERS)} indices, more than np.einsum can name "
        "(a-z, A-Z), so it has no numpy or einsum form; use to_index() to read it, or "
        "evaluate() for its values"
    )


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
