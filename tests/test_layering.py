"""The architecture holds: imports point one way and never go round in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.paths import ROOT

pytestmark = pytest.mark.unit

PURE = ("codellama_lsp.syntax", "codellama_lsp.completion", "codellama_lsp.edits",
        "codellama_lsp.next_edit")


def _modules() -> dict[str, Path]:
    found = {}
    for package in ("fim", "codellama_lsp"):
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imports(path: Path) -> set[str]:
    """Every module `path` imports: at the top, inside functions (lazily) and for type checking
    only; a cycle through a lazy or type-only import is still a cycle in the design."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
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
    edges = {name: {t for t in _imports(path) if t in modules and t != name}
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


def test_lazy_and_type_only_imports_count(tmp_path):
    module = tmp_path / "module.py"
    module.write_text("from typing import TYPE_CHECKING\n"
                      "if TYPE_CHECKING:\n    from fim.engines.local import LoadOptions\n"
                      "def f():\n    import fim.models\n", encoding="utf-8")
    assert {"fim.engines.local", "fim.models"} <= _imports(module)


def test_no_module_imports_private_names_of_another():
    """A name another module needs is public, in the module it fits (`_x` is the module's own)."""
    private = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    ("fim", "codellama_lsp")):
                private += [(name, f"{node.module}.{alias.name}") for alias in node.names
                            if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert private == []
