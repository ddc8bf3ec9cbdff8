"""KaTeX as a checker of LaTeX strings: which strings it refuses, and its message for each.

Runs node with the npm package ``katex``, installed by the same code and into the same
cache as the docs site (``docs/katex_assets.py``), so a string passes here exactly when the
site can render it.  Node.js and npm are needed (``.ci/run`` runs on a machine that has them).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Reads a JSON list of strings on stdin and writes, for each, null or KaTeX's error message.
_CHECK = r"""
const katex = require(process.argv[1]);
const displayMode = process.argv[2] === "display";
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const errors = JSON.parse(input).map((tex) => {
    try {
      katex.renderToString(tex, { displayMode, throwOnError: true });
      return null;
    } catch (err) {
      return String(err && err.message ? err.message : err);
    }
  });
  process.stdout.write(JSON.stringify(errors));
});
"""


def katex_assets():
    """The module ``docs/katex_assets.py`` (KaTeX's version, cache and installer)."""
    path = ROOT / "docs" / "katex_assets.py"
    spec = importlib.util.spec_from_file_location("einderiv_docs_katex_assets", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def missing_tools() -> list[str]:
    """The programs this checker needs that are not on PATH (``node``, ``npm``)."""
    return [tool for tool in ("node", "npm") if shutil.which(tool) is None]


def katex_errors(strings: list[str], *, display: bool = True) -> list[tuple[str, str]]:
    """The strings KaTeX refuses to render, each with KaTeX's error message, in input order.

    ``display`` renders in display mode (a ``$$...$$`` block) rather than inline.  Raises
    ``RuntimeError`` when node cannot run the check at all.
    """
    if not strings:
        return []
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not on PATH; the KaTeX check runs KaTeX under Node.js")
    package = katex_assets().ensure_katex()
    result = subprocess.run(
        [node, "-e", _CHECK, str(package), "display" if display else "inline"],
        input=json.dumps(list(strings)), capture_output=True, text=True, timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the KaTeX check failed to run:\n{result.stderr}")
    verdicts = json.loads(result.stdout)
    return [(tex, error) for tex, error in zip(strings, verdicts, strict=True) if error]
