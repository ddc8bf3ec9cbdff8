"""KaTeX for the docs site, installed at build time from the npm registry into a local cache.

Contract: :func:`ensure_katex` returns the directory of the npm package ``katex`` at
``KATEX_VERSION``, installing it with the machine's ``npm`` into ``CACHE_DIR``
(``.cache/katex/`` at the repository root, gitignored) the first time.  Nothing of KaTeX is
committed to the repository and nothing is fetched when a page is viewed: the mkdocs hook
(``docs/hooks.py``) copies the files listed in ``SITE_FILES`` into the built site, and the
test helper ``tests/support/katex.py`` runs the same package under node.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

KATEX_VERSION = "0.19.1"
ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = ROOT / ".cache" / "katex"
# Paths inside the package's dist/ that the site needs (fonts/ is copied whole).
SITE_FILES = ("katex.min.js", "katex.min.css", "contrib/auto-render.min.js", "fonts")


class KatexInstallError(RuntimeError):
    """npm is missing or could not install KaTeX."""


def _installed_version(package: Path) -> str | None:
    try:
        return json.loads((package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def ensure_katex(cache_dir: Path = CACHE_DIR) -> Path:
    """The ``node_modules/katex`` directory of KaTeX ``KATEX_VERSION``, installed if needed.

    The install goes into a fresh temporary directory next to ``cache_dir`` that then
    replaces it, so an interrupted install never leaves a half-filled cache behind; a lock
    file beside the cache lets one build install while concurrent builds (the test suite
    on several processes) wait and then use it.
    """
    package = cache_dir / "node_modules" / "katex"
    if _installed_version(package) == KATEX_VERSION:
        return package
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(cache_dir.parent / "katex.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if _installed_version(package) == KATEX_VERSION:  # another build installed it
            return package
        return _install(cache_dir, package)


def _install(cache_dir: Path, package: Path) -> Path:
    """Install KaTeX into ``cache_dir`` (under the lock of :func:`ensure_katex`)."""
    npm = shutil.which("npm")
    if npm is None:
        raise KatexInstallError(
            "the docs install KaTeX at build time with npm, and npm is not on PATH: "
            "install Node.js and npm (Debian: apt-get install nodejs npm)"
        )
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="katex-", dir=cache_dir.parent))
    command = [
        npm, "install", "--prefix", str(staging), "--no-audit", "--no-fund", "--no-save",
        "--no-package-lock", "--loglevel=error", f"katex@{KATEX_VERSION}",
    ]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=300, env={**os.environ}
        )
        if result.returncode != 0:
            raise KatexInstallError(
                f"`{' '.join(command[1:])}` failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}"
            )
        if _installed_version(staging / "node_modules" / "katex") != KATEX_VERSION:
            raise KatexInstallError(f"npm did not install katex {KATEX_VERSION}")
        shutil.rmtree(cache_dir, ignore_errors=True)
        try:
            staging.rename(cache_dir)
        except OSError:  # a concurrent build installed it first
            if _installed_version(package) != KATEX_VERSION:
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return package


def site_files(package: Path) -> dict[str, Path]:
    """Every file the site serves, keyed by its path under ``dist/`` (``fonts/…``)."""
    dist = package / "dist"
    found: dict[str, Path] = {}
    for name in SITE_FILES:
        path = dist / name
        if not path.exists():
            raise KatexInstallError(f"katex {KATEX_VERSION} has no dist/{name}")
        paths = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in paths:
            found[file.relative_to(dist).as_posix()] = file
    return found
