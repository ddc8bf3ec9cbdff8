"""mkdocs hooks: the built site carries its own KaTeX, so math renders without a network.

Contract: ``on_files`` installs KaTeX at build time (``docs/katex_assets.py``: npm into the
gitignored ``.cache/katex/``) and adds its files to the site under ``assets/katex/``, where
``extra_javascript`` and ``extra_css`` in ``mkdocs.yml`` point.  No page loads anything from a
CDN, and no KaTeX file is committed to the repository.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

SITE_PREFIX = "assets/katex"


def _katex_assets():
    """The sibling module ``katex_assets`` (mkdocs loads hooks by path, not as a package)."""
    path = Path(__file__).with_name("katex_assets.py")
    spec = importlib.util.spec_from_file_location("einderiv_docs_katex_assets", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def on_files(files: Files, config) -> Files:
    """Add KaTeX's script, stylesheet, auto-render extension and fonts to the site's files."""
    assets = _katex_assets()
    try:
        package = assets.ensure_katex()
        wanted = assets.site_files(package)
    except assets.KatexInstallError as err:
        raise PluginError(f"KaTeX for the docs: {err}") from None
    for relative, source in wanted.items():
        files.append(
            File.generated(config, f"{SITE_PREFIX}/{relative}", abs_src_path=str(source))
        )
    return files
