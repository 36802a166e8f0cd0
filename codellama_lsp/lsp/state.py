"""The server's one state, shared by the completion and the edit services: the settings, the
open documents, the models (from one engine pool), the workspace's cross-file context and the
negotiated position encoding."""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types

from codellama_lsp.completion.snippets import SnippetSource
from codellama_lsp.lsp.client_window import ClientWindow
from codellama_lsp.lsp.documents import Change, Document, DocumentStore
from codellama_lsp.lsp.engine_pool import EnginePool
from codellama_lsp.lsp.model_loading import Models
from codellama_lsp.lsp.process_memory import FreedMemory
from codellama_lsp.lsp.settings import Settings, update_settings
from codellama_lsp.next_edit.history import EditHistory
from codellama_lsp.syntax.positions import Encoding

log = logging.getLogger(__name__)


@dataclass
class ServerState:
    settings: Settings
    window: ClientWindow
    engines: EnginePool = field(default_factory=EnginePool)
    documents: DocumentStore = field(default_factory=DocumentStore)
    snippets: SnippetSource = field(default_factory=SnippetSource)
    encoding: Encoding = Encoding.UTF16
    # Memory the model's threads freed, given back to the system once they run dry.
    freed_memory: FreedMemory = field(default_factory=FreedMemory)
    # What the user changed, for next-edit suggestions.
    history: EditHistory = field(default_factory=EditHistory)
    models: Models = field(init=False)

    def __post_init__(self) -> None:
        self.models = Models(self.engines, self.window)

    # -- settings ------------------------------------------------------------------------------

    def apply_settings(self, raw: Any, reload: bool = False) -> Settings:
        """Take the valid values of `raw` (each invalid one shown as a warning); with `reload`,
        load the completion model anew if the settings name another. The settings before."""
        update = update_settings(self.settings, raw)
        for error in update.errors:
            log.warning("%s", error)
            self.window.show(types.MessageType.Warning, f"codellama: {error}")
        before, self.settings = self.settings, update.settings
        after = self.settings
        if reload and (before.engine, before.load_options()) != (after.engine,
                                                                  after.load_options()):
            self.models.load_completion(after)
        return before

    # -- the workspace and its documents -------------------------------------------------------

    def set_workspace(self, root: str | None) -> None:
        """Where definitions from files that are not open are looked for."""
        documents = {d.path: d.text for d in self.documents.all() if d.path}
        self.snippets = SnippetSource(root, documents)

    def index_workspace(self) -> None:
        """Index the workspace's files in the background, not during the first completion."""
        snippets = self.snippets

        def index() -> None:
            try:
                count = snippets.warm()
                log.info("indexed %d workspace files for cross-file context", count)
            except Exception as exc:  # noqa: BLE001 - indexing is an extra; completions go on
                log.warning("workspace indexing failed: %s", exc)

        threading.Thread(target=index, name="codellama-index", daemon=True).start()

    def files_changed(self, paths: list[str], listing_changed: bool) -> None:
        """Files changed outside the editor: their definitions are read again when next
        needed (and the list of files, where files came or went)."""
        for path in paths:
            self.snippets.invalidate(path, listing_changed)

    def open(self, uri: str, language_id: str, version: int, text: str) -> Document:
        document = self.documents.open(uri, language_id, version, text)
        if document.path:
            self.snippets.set_document(document.path, text)
        return document

    def change(self, uri: str, version: int, changes: list[Change]) -> Document:
        """Apply an editor's changes; raises UnknownDocument for a URI never opened."""
        document = self.documents.change(uri, version, changes, self.encoding,
                                         self._record_edit)
        if document.path:
            self.snippets.record_edit(document.path, document.last_edit_offset, document.text)
        return document

    def _record_edit(self, document: Document, before: str, start: int, end: int,
                     text: str) -> None:
        self.history.record(document.uri, self.label(document), before, start, end, text)

    def label(self, document: Document) -> str:
        """How a document is named in diffs: its path in the workspace, else its file name."""
        path = document.path
        if path is None:
            return document.uri.rsplit("/", 1)[-1] or document.uri
        root = self.snippets.root
        if root is not None:
            with contextlib.suppress(ValueError):
                return Path(path).relative_to(root).as_posix()
        return Path(path).name

    def close(self, uri: str) -> None:
        path = self.documents.get(uri).path if uri in self.documents else None
        if path:
            self.snippets.close_document(path)
        self.documents.close(uri)
        self.history.forget(uri)  # reopened, its lines may be others
