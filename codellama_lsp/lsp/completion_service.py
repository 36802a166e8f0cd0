"""What the server knows and does for completions, apart from the protocol: its settings, the
open documents, the model, the scheduler, the cache and the stats; and the flow of one request
(document and position in, suggestion texts out)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from dataclasses import dataclass

from codellama_lsp.completion.item_range import replaced_length, rest_of_line
from codellama_lsp.completion.policy import Mode, decide
from codellama_lsp.completion.snippets import SnippetSource
from codellama_lsp.lsp.documents import Change, Document, DocumentStore, UnknownDocument
from codellama_lsp.lsp.engine_pool import EnginePool
from codellama_lsp.lsp.model_loading import ModelLoader
from codellama_lsp.lsp.scheduler import Scheduler
from codellama_lsp.lsp.settings import Settings
from codellama_lsp.lsp.stats import Stats
from codellama_lsp.lsp.suggestion_cache import SuggestionCache
from codellama_lsp.lsp.suggestions import Suggestions, cache_key, suggest
from codellama_lsp.syntax.parsed import ParsedDocument
from codellama_lsp.syntax.positions import Encoding
from fim.engines.base import Engine, EngineError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """Suggestions for a cursor, with the document as it was when they were made."""

    document: Document
    offset: int
    texts: list[str]
    item_ids: list[int]  # one per text: the argument of the accept command

    def replaced_end(self, text: str) -> int:
        """Where the text that `text` replaces ends (see item_range)."""
        return self.offset + replaced_length(text, rest_of_line(self.document.text, self.offset))


class SuggestionService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.documents = DocumentStore()
        self.scheduler = Scheduler()
        self.cache = SuggestionCache()
        self.stats = Stats()
        # Engines are shared with the edits (one engine where the instruct model is the
        # completion model): the pool, not the loader, closes those no longer wanted.
        self.engines = EnginePool()
        self.loader = ModelLoader(close_replaced=False)
        self.snippets = SnippetSource()
        # Engines keep one KV cache per key: this server's, one per document.
        self.cache_key = f"lsp-{uuid.uuid4().hex[:12]}"

    def set_workspace(self, root: str | None) -> None:
        """Where definitions from files that are not open are looked for."""
        documents = {d.path: d.text for d in self.documents.all() if d.path}
        self.snippets = SnippetSource(root, documents)

    def warm_snippets(self) -> None:
        """Index the workspace's files in the background, not during the first completion."""
        snippets = self.snippets

        def warm() -> None:
            try:
                count = snippets.warm()
                log.info("indexed %d workspace files for cross-file context", count)
            except Exception as exc:  # noqa: BLE001 - indexing is an extra; completions go on
                log.warning("workspace indexing failed: %s", exc)

        threading.Thread(target=warm, name="codellama-index", daemon=True).start()

    def open(self, uri: str, language_id: str, version: int, text: str) -> None:
        document = self.documents.open(uri, language_id, version, text)
        if document.path:
            self.snippets.set_document(document.path, text)

    def change(self, uri: str, version: int, changes: list[Change], encoding: Encoding) -> None:
        """Apply an editor's changes; raises UnknownDocument for a URI never opened."""
        document = self.documents.change(uri, version, changes, encoding)
        if document.path:
            self.snippets.record_edit(document.path, document.last_edit_offset, document.text)

    def load_engine(self, settings: Settings) -> Engine:
        """The completion engine for `settings` (runs in the loading thread): engines the
        settings no longer name are dropped first, as two models at once may not fit."""
        self.engines.retain(settings.engine_keys())
        return self.engines.get(settings.engine, settings.load_options())

    async def answer(self, uri: str, line: int, character: int, encoding: Encoding,
                     invoked: bool) -> Answer | None:
        """Suggestions at (line, character) of `uri`, or None: no such document, language
        off, no model, superseded by a newer request, or the document changed meanwhile.
        Raises PositionError for a line out of range; cancelling the task cancels the work."""
        started = time.perf_counter()
        self.stats.requests += 1
        try:
            document = self.documents.get(uri)
        except UnknownDocument as exc:
            log.info("no completion: %s", exc)
            return None
        offset = document.index.offset(line, character, encoding)
        settings = self.settings
        if not settings.enabled_for(document.language_id):
            return None
        version, text = document.version, document.text
        snapshot = document.parsed.snapshot()  # the completion runs on it in another thread
        if decide(text, offset, snapshot).mode is Mode.NONE:
            self.scheduler.cancel(uri)  # e.g. mid-word: no suggestion, and older ones are stale
            return None
        key, prefix, suffix = cache_key(settings, invoked), text[:offset], text[offset:]
        hit = self.cache.get(key, prefix, suffix)
        generated: Suggestions | None = None
        if hit is not None:
            self.scheduler.cancel(uri)  # an older generation for this document is stale now
            self.stats.cache_hits += 1
            self.stats.forwarded += hit.forwarded
            texts = hit.texts
        else:
            generated = await self._generate(uri, snapshot, offset, settings, invoked)
            if generated is None:
                return None
            texts = generated.texts
            self.cache.put(key, prefix, suffix, texts)
        if uri not in self.documents or self.documents.get(uri) is not document \
                or document.version != version:
            return None  # the document changed meanwhile: these texts fit it no longer
        self._record(started, generated)
        return Answer(document, offset, texts, self.stats.shown_items(len(texts)))

    async def _generate(self, uri: str, document: ParsedDocument, offset: int,
                        settings: Settings, invoked: bool) -> Suggestions | None:
        debounce_s = 0.0 if invoked else settings.debounce_ms / 1000
        try:
            engine = await self.loader.engine(settings.load_wait_ms / 1000)
            if engine is None:
                return None
            result = await self.scheduler.run(
                uri, lambda cancel: suggest(engine, document, offset, settings, invoked, cancel,
                                            self.snippets, f"{self.cache_key}:{uri}"),
                debounce_s)
        except asyncio.CancelledError:  # $/cancelRequest
            self.stats.cancelled += 1
            raise
        except EngineError as exc:  # e.g. a worker gone away: no suggestion, one log line
            log.error("generation failed: %s", exc)
            return None
        if result is None:
            self.stats.superseded += 1
        return result

    def _record(self, started: float, generated: Suggestions | None) -> None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.stats.latencies_ms.append(elapsed_ms)
        if generated is not None:
            self.stats.prompt_tokens += generated.prompt_tokens
            self.stats.reused_prompt_tokens += generated.reused_prompt_tokens
            self.stats.last_engine_ms = generated.engine_s * 1000
            self.stats.engine_ms.append(self.stats.last_engine_ms)
            self.stats.overhead_ms.append(elapsed_ms - self.stats.last_engine_ms)

    def report(self) -> dict:
        """The `codellama/stats` answer."""
        return {**self.stats.snapshot(),
                "generations": self.scheduler.started,
                "max_running_per_document": self.scheduler.max_running_per_document,
                "cache_entries": len(self.cache),
                "model": {"name": self.loader.description, "state": self.loader.state.value,
                          "error": self.loader.error}}

    def close(self, uri: str) -> None:
        path = self.documents.get(uri).path if uri in self.documents else None
        if path:
            self.snippets.close_document(path)
        self.documents.close(uri)
        self.scheduler.forget(uri)
