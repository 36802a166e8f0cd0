"""Finding source files of our languages under a folder (workspace scans, evaluations)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from codellama_lsp.syntax import languages

# Folders that hold generated, vendored or tool files, not the project's own code.
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", ".git", ".hg", ".svn", ".venv", "venv",
                          ".tox", ".mypy_cache", ".pytest_cache", "dist", "build", "target",
                          "vendor", ".idea", ".vscode", "site-packages",
                          "dist-packages"})


def iter_source_files(root: Path, limit: int | None = None) -> Iterator[Path]:
    """Files under `root` whose extension is one of our languages, in a stable (sorted) order,
    skipping hidden and generated folders; at most `limit` of them."""
    if root.is_file():
        if languages.is_source_path(root):
            yield root
        return
    found = 0
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(names):
            if languages.is_source_path(name):
                yield Path(folder) / name
                found += 1
                if limit is not None and found >= limit:
                    return
