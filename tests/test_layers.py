"""The package is in layers: no import circle, no upward import, no borrowed private names.

The layers, bottom to top, are DESIGN.md's: a module may import from its own layer's
package (without a circle) and from layers below, never from a layer above -- function-
level imports included, since they tie modules together just the same.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1] / "einderiv"

#: module or package -> layer (bottom = 0); a module takes the layer of its closest entry
LAYERS: dict[str, int] = {
    "einderiv.errors": 0,
    "einderiv.ir": 1,
    "einderiv.functions": 2,
    "einderiv.rewrite": 3,
    "einderiv.build": 4,
    "einderiv.text": 4,
    "einderiv.derive": 5,
    "einderiv.render": 6,
    "einderiv.evaluate": 6,
    "einderiv.codewriter": 7,
    "einderiv.testing": 7,
    "einderiv.sampling": 7,
    "einderiv.terminal": 0,
    "einderiv.claims": 8,
    "einderiv.explanation": 9,
    "einderiv.cli": 10,
    "einderiv.__main__": 11,
    "einderiv": 10,  # the package's face: re-exports every layer (the CLI may use it)
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


def _layer(module: str) -> int:
    parts = module.split(".")
    for k in range(len(parts), 0, -1):
        key = ".".join(parts[:k])
        if key in LAYERS:
            return LAYERS[key]
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def _imports(module: str, path: Path) -> list[tuple[str, list[str], int]]:
    """``(target module, imported names, line)`` for every einderiv import in the file."""
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [
                (a.name, [], node.lineno) for a in node.names if a.name.startswith("einderiv")
            ]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("einderiv"):
                found.append((target, [a.name for a in node.names], node.lineno))
    return found


def _graph() -> nx.DiGraph:
    modules = _modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for module, path in modules.items():
        for target, names, _ in _imports(module, path):
            for name in names:  # `from einderiv.ir import nodes` imports a module
                if f"{target}.{name}" in modules:
                    graph.add_edge(module, f"{target}.{name}")
            if target in modules and target != module:
                graph.add_edge(module, target)
    return graph


def test_every_module_has_a_layer():
    for module in _modules():
        _layer(module)


def test_no_import_circle():
    graph = _graph()
    # a package's __init__ importing its own modules is its face, not a circle
    faces = [(a, b) for a, b in graph.edges if b.startswith(a + ".")]
    graph.remove_edges_from(faces)
    circles = [c for c in nx.simple_cycles(graph)]
    assert not circles, f"import circles: {circles}"


def test_no_upward_import():
    modules = _modules()
    upward = []
    for module, path in modules.items():
        for target, names, line in _imports(module, path):
            submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules]
            for imported in submodules or [target]:  # `from einderiv import build`
                if _layer(imported) > _layer(module):
                    upward.append(f"{path.relative_to(ROOT.parent)}:{line} imports {imported}")
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def test_no_private_name_of_another_module_is_imported():
    borrowed = []
    for module, path in _modules().items():
        for target, names, line in _imports(module, path):
            if target == module:
                continue
            for name in names:
                if name.startswith("_") and not name.startswith("__"):
                    borrowed.append(f"{path.relative_to(ROOT.parent)}:{line} {target}.{name}")
    assert not borrowed, "private names imported across modules:\n" + "\n".join(borrowed)


def test_no_module_is_much_over_600_lines():
    long = {
        str(p.relative_to(ROOT.parent)): n
        for p in ROOT.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 650
    }
    assert not long, f"modules over ~600 lines (split them along their seams): {long}"


def test_the_layer_checks_catch_a_circle_and_an_upward_import(tmp_path, monkeypatch):
    """The checks themselves can fail: a fake low module importing a high one is caught."""
    fake = tmp_path / "einderiv"
    (fake / "ir").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "ir" / "__init__.py").write_text("from einderiv.cli import main\n")
    (fake / "cli.py").write_text("from einderiv.ir import thing\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", fake)
    try:
        test_no_upward_import()
    except AssertionError as err:
        assert "einderiv/ir/__init__.py:1 imports einderiv.cli" in str(err)
    else:  # pragma: no cover - the check must fail here
        raise AssertionError("an upward import went unnoticed")
    try:
        test_no_import_circle()
    except AssertionError as err:
        assert "circles" in str(err)
    else:  # pragma: no cover
        raise AssertionError("an import circle went unnoticed")
