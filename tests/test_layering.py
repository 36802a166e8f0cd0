"""The architecture holds: imports point one way and never go round in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import ROOT

PURE = ("codellama_lsp.syntax", "codellama_lsp.completion", "codellama_lsp.edits")


def _modules() -> dict[str, Path]:
    found = {}
    for package in ("fim", "codellama_lsp"):
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imports(path: Path, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_imports_point_one_way():
    wrong = []
    for name, path in _modules().items():
        for target in _imports(path):
            if name.startswith("fim") and target.startswith("codellama_lsp"):
                wrong.append((name, target))
            if name.startswith(PURE) and (target.split(".")[0] in ("pygls", "lsprotocol")
                                          or target.startswith("codellama_lsp.lsp")):
                wrong.append((name, target))
    assert wrong == []


def test_no_import_cycles():
    modules = _modules()
    edges = {name: {t for t in _imports(path, top_level_only=True) if t in modules and t != name}
             for name, path in modules.items()}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        for target in edges[name]:
            assert target not in path, f"import cycle: {' -> '.join(path + [target])}"
            if target not in done:
                visit(target, path + [target])
        done.add(name)

    for name in modules:
        if name not in done:
            visit(name, [name])
