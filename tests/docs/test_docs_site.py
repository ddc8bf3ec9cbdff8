"""The built docs site in headless Chromium with the network off: every formula renders.

The site is built with ``mkdocs build --strict`` (which installs KaTeX with npm into the
site), served on 127.0.0.1, and every page is loaded in ``/usr/bin/chromium --headless``
where no host but loopback is reachable.  Locally the tests skip when chromium, npm or
mkdocs is missing (``apt-get install chromium``); in CI (``EINDERIV_CI=1``) a skip fails.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support import browser
from support.dom import read_math

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site, built from this checkout into a temporary directory."""
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        pytest.skip("mkdocs/mkdocs-material are not installed (they are in the [test] extra)")
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed; the docs build installs KaTeX with it")
    out = tmp_path_factory.mktemp("docs") / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def _pages(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))


@pytest.fixture(scope="module")
def loaded(site) -> dict[str, browser.Loaded]:
    """Every page of the site as Chromium rendered it, by its path in the site."""
    if not browser.CHROMIUM.exists():
        pytest.skip("chromium is not installed: apt-get install chromium (.ci/run does)")
    pages = _pages(site)
    with browser.serve(site) as base, ThreadPoolExecutor(max_workers=2) as pool:
        urls = [f"{base}/{page.removesuffix('index.html')}" for page in pages]
        return dict(zip(pages, pool.map(browser.load, urls), strict=True))


def test_every_page_is_loaded(site, loaded):
    assert set(loaded) == set(_pages(site))
    assert {"index.html", "gallery/rnn-step/index.html", "404.html"} <= set(loaded)


def test_every_formula_renders_and_none_is_an_error(site, loaded):
    problems = []
    total = 0
    for page, result in loaded.items():
        written = (site / page).read_text().count('class="arithmatex"')
        report = read_math(result.dom)
        total += report.formulas
        if not (written == report.formulas == report.rendered == report.katex):
            problems.append(f"{page}: {written} formulas written, {report.formulas} in the DOM, "
                            f"{report.rendered} rendered, {report.katex} .katex elements")
        if report.errors:
            problems.append(f"{page}: KaTeX errors {report.errors}")
        if report.raw:
            problems.append(f"{page}: raw TeX left as text {report.raw[:3]}")
    assert not problems, "\n".join(problems)
    assert total > 100  # the gallery alone has hundreds
    assert read_math(loaded["gallery/rnn-step/index.html"].dom).formulas > 50
    assert read_math(loaded["notebook/index.html"].dom).formulas > 10  # the example notebook


def test_pages_load_katex_from_the_site_and_nothing_from_another_host(loaded):
    for page, result in loaded.items():
        assert not result.off_host(), (page, result.off_host())
    rnn = [url for _, url in loaded["gallery/rnn-step/index.html"].requests]
    assert any(url.endswith("/assets/katex/katex.min.js") for url in rnn), rnn
    assert any(re.search(r"/assets/katex/fonts/KaTeX_\w+-\w+\.woff2$", url) for url in rnn), rnn


def test_built_pages_reference_no_other_host(site):
    resource = re.compile(
        r"<(?:script|img|iframe|source)\b[^>]*\bsrc=\"(?:https?:)?//"
        r"|<link\b[^>]*\bhref=\"(?:https?:)?//"
    )
    for page in _pages(site):
        found = resource.findall((site / page).read_text())
        assert not found, (page, found)
    for css in (site / "assets").rglob("*.css"):
        assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", css.read_text()), css


def test_the_browser_in_these_tests_is_offline(site, tmp_path):
    if not browser.CHROMIUM.exists():
        pytest.skip("chromium is not installed: apt-get install chromium (.ci/run does)")
    probe = tmp_path / "probe.html"
    probe.write_text(
        '<!doctype html><html><body><p id="probe">pending</p>'
        '<script src="https://cdn.jsdelivr.net/npm/katex@0.16.9/dist/katex.min.js"></script>'
        '<script>document.getElementById("probe").textContent = "katex: " + typeof katex;'
        "</script></body></html>"
    )
    with browser.serve(tmp_path) as base:
        result = browser.load(f"{base}/probe.html")
    assert '<p id="probe">katex: undefined</p>' in result.dom  # the CDN was unreachable
    assert result.off_host() == ["https://cdn.jsdelivr.net/npm/katex@0.16.9/dist/katex.min.js"]


def test_gallery_sub_steps_nest_in_the_rendered_page(loaded):
    rnn = read_math(loaded["gallery/rnn-step/index.html"].dom)
    assert rnn.nested_lists >= 5  # the product rule's sub-steps, in each of the five derivations
