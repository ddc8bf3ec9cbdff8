"""Reading a rendered page's DOM: its formulas (arithmatex and KaTeX), math errors, nested lists.

Contract: :func:`read_math` walks the HTML that a browser serialized (``--dump-dom``) with
the standard library's parser and reports, per page, what a reader would see: each
``arithmatex`` element (one per formula that the Markdown wrote) and whether KaTeX rendered
it, every ``.katex`` and ``.katex-error`` element, TeX delimiters left as visible text, and
the lists nested inside a list item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()
)
# Text inside these is not prose a reader sees as text (code, scripts, KaTeX's own markup).
HIDDEN = frozenset({"code", "pre", "script", "style", "textarea", "annotation"})


@dataclass
class MathReport:
    """What one page shows of its math."""

    formulas: int = 0  # arithmatex elements
    rendered: int = 0  # arithmatex elements holding a .katex element
    katex: int = 0  # .katex elements anywhere
    errors: list[str] = field(default_factory=list)  # text of .katex-error elements
    raw: list[str] = field(default_factory=list)  # visible text with \( or \[ in it
    nested_lists: int = 0  # <ul>/<ol> directly inside an <li>


class _Walker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.report = MathReport()
        # open elements: (tag, classes, the formula record this element opened or None)
        self.stack: list[tuple[str, frozenset[str], list[bool] | None]] = []

    def _open_formula(self) -> list[bool] | None:
        for _, _, formula in reversed(self.stack):
            if formula is not None:
                return formula
        return None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = frozenset((dict(attrs).get("class") or "").split())
        report = self.report
        if tag in ("ul", "ol") and self.stack and self.stack[-1][0] == "li":
            report.nested_lists += 1
        formula = None
        if "arithmatex" in classes:
            report.formulas += 1
            formula = [False]
        if "katex" in classes:
            report.katex += 1
            inside = self._open_formula()
            if inside is not None and not inside[0]:
                inside[0] = True
                report.rendered += 1
        if "katex-error" in classes:
            report.errors.append(dict(attrs).get("title") or "")
        if tag not in VOID:
            self.stack.append((tag, classes, formula))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.handle_starttag(tag, attrs)
            self.handle_endtag(tag)
        else:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        if any(tag in HIDDEN or "katex" in classes for tag, classes, _ in self.stack):
            return
        if "\\(" in data or "\\[" in data:
            self.report.raw.append(data.strip()[:120])


def read_math(html: str) -> MathReport:
    """The math report of one page's serialized DOM."""
    walker = _Walker()
    walker.feed(html)
    walker.close()
    return walker.report
