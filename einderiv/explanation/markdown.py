"""Markdown text that notebooks display rendered: a ``str`` with ``_repr_markdown_``.

>>> text = Markdown("# Title")
>>> isinstance(text, str), text._repr_markdown_()
(True, '# Title')
>>> text.splitlines()
['# Title']
"""

from __future__ import annotations


class Markdown(str):
    """A ``str`` of Markdown that a notebook shows rendered.

    Everything that reads a ``str`` keeps working; Jupyter (IPython's display) calls
    ``_repr_markdown_`` instead of showing an escaped string.
    """

    __slots__ = ()

    def _repr_markdown_(self) -> str:
        return str(self)
