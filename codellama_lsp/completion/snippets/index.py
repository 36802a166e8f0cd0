"""The workspace's definitions, by name, for files the editor has not open.

One owner: only a build (one at a time, under `_building`) reads the files and writes the
index's state, and it publishes what it found as an immutable `WorkspaceSnapshot` by one
reference swap. Completion threads read the published snapshot without a lock. A file changed
on disk bumps the generation; a snapshot built under an older generation answers the thread
that asked for it, and the next reader builds again (reading the changed files anew), so no
change is lost to a build that was under way when it came.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from codellama_lsp.syntax.parsed import ParsedDocument
from codellama_lsp.syntax.tags import Definition, definitions
from codellama_lsp.syntax.workspace_files import iter_source_files

MAX_WORKSPACE_FILES = 300
MAX_FILE_CHARS = 512 * 1024

Definitions = Mapping[str, tuple[Definition, ...]]


@dataclass(frozen=True)
class WorkspaceSnapshot:
    """The workspace's definitions as one build found them; never changed afterwards."""

    generation: int  # the changes it has seen (-1: none built yet)
    files: tuple[Path, ...] = ()
    by_name: Definitions = field(default_factory=dict)


class WorkspaceIndex:
    def __init__(self, root: Path | None, max_files: int = MAX_WORKSPACE_FILES) -> None:
        self.root = root
        self.max_files = max_files
        self._published = WorkspaceSnapshot(-1)
        # What files changed since the last build (any thread writes it, under `_changes`).
        self._changes = threading.Lock()
        self._generation = 0
        self._changed: set[str] = set()
        self._everything_changed = False
        self._listing_changed = False
        # The build's own state: touched only under `_building`.
        self._building = threading.Lock()
        self._listing: tuple[Path, ...] | None = None
        self._files: dict[str, Definitions] = {}

    def invalidate(self, path: str | None = None, listing_changed: bool = False) -> None:
        """Files changed on disk: `path` (every file where None); with `listing_changed`, files
        came or went. The next snapshot reads them anew."""
        names = {path, str(Path(path).resolve())} if path is not None else set()
        with self._changes:
            self._generation += 1
            self._changed |= names
            self._everything_changed |= path is None
            self._listing_changed |= listing_changed or path is None

    def snapshot(self, near: str | None = None) -> WorkspaceSnapshot:
        """The definitions as of now: the published snapshot where nothing changed since it was
        built (no lock taken), else a new one (built here, or by the build under way). The
        files nearest `near` come first where the list of files is made."""
        published = self._published
        if published.generation == self._generation:
            return published
        with self._building:
            if self._published.generation != self._generation:
                self._published = self._build(near)
            return self._published

    def _build(self, near: str | None) -> WorkspaceSnapshot:
        with self._changes:
            generation = self._generation
            changed, self._changed = self._changed, set()
            everything, self._everything_changed = self._everything_changed, False
            relist, self._listing_changed = self._listing_changed, False
        if everything:
            self._files.clear()
        for name in changed:
            self._files.pop(name, None)
        if relist or self._listing is None:
            self._listing = self._list(near)
        by_name: dict[str, list[Definition]] = {}
        for path in self._listing:
            found = self._files.get(str(path))
            if found is None:
                found = self._files[str(path)] = _read_definitions(path)
            for name, items in found.items():
                by_name.setdefault(name, []).extend(items)
        listed = {str(path) for path in self._listing}
        for gone in [name for name in self._files if name not in listed]:
            del self._files[gone]
        return WorkspaceSnapshot(generation, self._listing,
                                 {name: tuple(items) for name, items in by_name.items()})

    def _list(self, near: str | None) -> tuple[Path, ...]:
        """The workspace's source files, at most `max_files`, the nearest to `near` first."""
        if self.root is None:
            return ()
        files = list(iter_source_files(self.root, limit=self.max_files * 20))
        anchor = Path(near).resolve().parent if near else self.root
        # Files nearest the current one first: same folder, then its neighbours.
        files.sort(key=lambda p: (_distance(p.parent, anchor), str(p)))
        return tuple(files[: self.max_files])


def _read_definitions(path: Path) -> Definitions:
    """The definitions of a file on disk (none where it is too large, unreadable or not
    UTF-8)."""
    try:
        if path.stat().st_size > MAX_FILE_CHARS:
            return {}
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    return definitions(ParsedDocument(text, path=str(path)), str(path))


def _distance(folder: Path, anchor: Path) -> int:
    """Folders between two folders (0 for the same one)."""
    a, b = folder.parts, anchor.parts
    common = 0
    while common < min(len(a), len(b)) and a[common] == b[common]:
        common += 1
    return (len(a) - common) + (len(b) - common)
