"""Every formula in the docs is LaTeX that KaTeX renders, and the KaTeX check catches bad ones.

The formulas are read exactly as the site gets them: each page through Python-Markdown with
the site's arithmatex settings, then every ``arithmatex`` element's TeX.  Locally the tests
skip without node/npm; in CI (``EINDERIV_CI=1``) a skip fails.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from support.katex import katex_errors, missing_tools

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXTENSIONS = ["tables", "admonition", "pymdownx.arithmatex", "pymdownx.superfences"]


@pytest.fixture(autouse=True)
def _node():
    if missing_tools():
        pytest.skip(f"{' and '.join(missing_tools())} not installed; the KaTeX check needs them")


def page_math(path: Path) -> tuple[list[str], list[str]]:
    """The TeX of every display and every inline formula of one Markdown page."""
    markdown = pytest.importorskip("markdown")
    body = markdown.markdown(
        path.read_text(), extensions=EXTENSIONS,
        extension_configs={"pymdownx.arithmatex": {"generic": True}},
    )
    display, inline = [], []
    for tag, tex in re.findall(r'<(span|div) class="arithmatex">(.*?)</\1>', body, flags=re.S):
        tex = html.unescape(tex)
        opener, closer = ("\\[", "\\]") if tag == "div" else ("\\(", "\\)")
        assert tex.startswith(opener) and tex.endswith(closer), (path.name, tex)
        (display if tag == "div" else inline).append(tex[2:-2])
    return display, inline


def _site_pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if "dev" not in p.relative_to(DOCS).parts)


def test_katex_check_reports_what_katex_refuses():
    good = [
        r"\frac{\partial f_{ab}}{\partial W_{cd}}",
        r"dWaa_{ab} = \sum_{i} dz_{ai} a\_prev_{bi}",
    ]
    bad = ["h_{0}_{c}", r"\left(x + y", r"\frac{1}{2", r"\notacommand{x}"]
    found = katex_errors([good[0], bad[0], good[1], *bad[1:]])
    assert [tex for tex, _ in found] == bad
    messages = dict(found)
    assert "Double subscript" in messages["h_{0}_{c}"]
    assert "right" in messages[r"\left(x + y"]
    assert r"\notacommand" in messages[r"\notacommand{x}"]
    assert katex_errors(["h_{0}_{c}"], display=False)[0][0] == "h_{0}_{c}"
    assert katex_errors(good) == [] and katex_errors([]) == []


def test_gallery_pages_have_math():
    for page in sorted((DOCS / "gallery").glob("*.md")):
        if page.name == "index.md":
            continue
        display, inline = page_math(page)
        assert display and inline, page.name


@pytest.mark.parametrize("page", _site_pages(), ids=lambda p: p.relative_to(DOCS).as_posix())
def test_every_formula_in_the_docs_renders_in_katex(page):
    display, inline = page_math(page)
    refused = katex_errors(display) + katex_errors(inline, display=False)
    assert not refused, "\n".join(f"{tex!r}: {error}" for tex, error in refused)
