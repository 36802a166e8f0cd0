"""The snippets' sources: the documents the editor has open, their recent edits, and the
workspace's files (`index.py`).

The editor's thread (the server's event loop) is the one writer of the open documents and
edits: each change publishes a new immutable `EditorView` by one reference swap, and a
completion's thread reads the view it finds, without a lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from codellama_lsp.completion.snippets.index import (
    MAX_FILE_CHARS,
    MAX_WORKSPACE_FILES,
    Definitions,
    WorkspaceIndex,
)
from codellama_lsp.completion.snippets.ranking import (
    RECENT_EDIT_CONTEXT,
    Exclude,
    Snippet,
    names_near,
    rank,
    recent_regions,
)
from codellama_lsp.syntax import languages
from codellama_lsp.syntax.parsed import ParsedDocument
from codellama_lsp.syntax.tags import definitions

RECENT_EDITS = 16
CURRENT_REINDEX_S = 1.0  # the current document's definitions are refreshed at most this often


@dataclass(frozen=True)
class EditorView:
    """The open documents and the recent edits at one moment; never changed afterwards."""

    documents: Mapping[str, str] = field(default_factory=dict)  # path -> text
    edits: tuple[tuple[str, int], ...] = ()  # (path, line), oldest first


@dataclass(frozen=True)
class _Found:
    text: str  # the text the definitions were found in (compared by identity)
    definitions: Definitions
    at: float  # time.monotonic() when found


class SnippetSource:
    """Definitions and recent edits from the open documents and the files under `root`."""

    def __init__(self, root: str | Path | None = None,
                 documents: dict[str, str] | None = None,
                 max_files: int = MAX_WORKSPACE_FILES) -> None:
        self.root = Path(root).resolve() if root else None
        self.workspace = WorkspaceIndex(self.root, max_files)
        self._view = EditorView(dict(documents or {}))
        self._writing = threading.Lock()  # between writers only; readers take `_view` as is
        # Open documents' definitions, found by whichever completion thread first needs them.
        # An entry depends on its text only and is never changed: two threads that race find
        # the same definitions, and either entry is right.
        self._found: dict[str, _Found] = {}

    # The editor's side: open documents and their edits.
    def set_document(self, path: str, text: str) -> None:
        with self._writing:
            view = self._view
            self._view = EditorView({**view.documents, path: text}, view.edits)

    def close_document(self, path: str) -> None:
        with self._writing:
            view = self._view
            documents = {p: t for p, t in view.documents.items() if p != path}
            self._view = EditorView(documents, view.edits)
        self._found.pop(path, None)

    def record_edit(self, path: str, offset: int, text: str | None = None) -> None:
        """Remember that the document at `path` was edited at character `offset`."""
        with self._writing:
            view = self._view
            documents = view.documents if text is None else {**view.documents, path: text}
            source = documents.get(path)
            if source is None:
                return
            line = source.count("\n", 0, min(offset, len(source)))
            # One entry per region: an edit near a remembered one replaces it.
            kept = tuple((p, n) for p, n in view.edits
                         if not (p == path and abs(n - line) <= RECENT_EDIT_CONTEXT))
            self._view = EditorView(documents, (kept + ((path, line),))[-RECENT_EDITS:])

    def invalidate(self, path: str | None = None, listing_changed: bool = False) -> None:
        """Forget the index of a file changed on disk (all files when `path` is None); with
        `listing_changed` (a file created or deleted), the list of workspace files too."""
        self.workspace.invalidate(path, listing_changed)

    def warm(self, near: str | None = None) -> int:
        """Index every workspace file now (else it happens on first use); their number."""
        return len(self.workspace.snapshot(near).files)

    # The prompt's side.
    def snippets_for(self, document: ParsedDocument, offset: int,
                     exclude: Exclude = lambda s: False) -> list[Snippet]:
        """Snippets for a cursor at `offset` of `document`, best first (see `ranking.rank`):
        definitions from the current document, then the open documents, then the workspace,
        of the document's language family only; and recent edits."""
        view = self._view
        current = document.path or "<document>"
        sources: list[Definitions] = []
        own = self._document_definitions(current, document)
        if own is not None:
            sources.append(own)
        for path, text in view.documents.items():
            if path != current:
                other = self._text_definitions(path, text)
                if other is not None:
                    sources.append(other)
        wanted = names_near(document.text, offset)
        sources.append(self._workspace_definitions(document.path, view, wanted))
        relative = _Relative(self.root)
        recent = recent_regions(
            view.edits, lambda p: document.text if p == document.path else view.documents.get(p),
            relative, exclude)
        return rank(wanted, sources, recent, languages.family(document.language), relative,
                    exclude)

    def _workspace_definitions(self, near: str | None, view: EditorView,
                               wanted: Mapping[str, float]) -> Definitions:
        """The workspace's definitions of the `wanted` names, but for the files open in the
        editor (their text there is newer, and counted already)."""
        hidden = set(view.documents)
        if near:
            hidden |= {near, str(Path(near).resolve())}
        by_name = self.workspace.snapshot(near).by_name
        return {name: tuple(d for d in by_name.get(name, ()) if d.path not in hidden)
                for name in wanted}

    def _document_definitions(self, path: str, document: ParsedDocument) -> Definitions | None:
        """The current document's definitions, found anew at most every CURRENT_REINDEX_S
        (typing changes its text at every keystroke)."""
        found = self._found.get(path)
        if found is not None and (found.text is document.text or
                                  time.monotonic() - found.at < CURRENT_REINDEX_S):
            return found.definitions
        if document.tree is None or document.language is None:
            return None
        found = _Found(document.text, definitions(document, path), time.monotonic())
        self._found[path] = found
        return found.definitions

    def _text_definitions(self, path: str, text: str) -> Definitions | None:
        found = self._found.get(path)
        if found is not None and found.text is text:
            return found.definitions
        if len(text) > MAX_FILE_CHARS or languages.detect(path) is None:
            return None
        found = _Found(text, definitions(ParsedDocument(text, path=path), path),
                       time.monotonic())
        self._found[path] = found
        return found.definitions


class _Relative:
    """Paths relative to the workspace root where they lie under it (one call's memo)."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self._known: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        known = self._known.get(path)
        if known is None:
            known = self._known[path] = relative_path(self.root, path)
        return known


def relative_path(root: Path | None, path: str) -> str:
    """`path` relative to `root` where it lies under it; else an absolute path's file name,
    or the path itself."""
    if root is not None:
        try:
            return Path(path).resolve().relative_to(root).as_posix()
        except (ValueError, OSError):
            pass
    return Path(path).name if path.startswith("/") else path

