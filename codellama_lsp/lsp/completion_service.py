"""Completions, apart from the protocol: the scheduler, the suggestion cache and the stats on
top of the server's state; and the flow of one request (document and position in, suggestion
texts out)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass

from codellama_lsp.completion.item_range import (
    replaced_length,
    rest_of_line,
    without_closers,
    word_before,
)
from codellama_lsp.completion.policy import Decision, Mode, decide
from codellama_lsp.lsp.documents import Document, UnknownDocument
from codellama_lsp.lsp.prewarm import Cursor, Prewarmer
from codellama_lsp.lsp.scheduler import Scheduler
from codellama_lsp.lsp.settings import Settings
from codellama_lsp.lsp.state import ServerState
from codellama_lsp.lsp.stats import Stats
from codellama_lsp.lsp.suggestion_cache import SuggestionCache
from codellama_lsp.lsp.suggestions import Suggestions, suggest, suggestion_key
from codellama_lsp.syntax.parsed import ParsedDocument
from fim.engines.base import EngineError

log = logging.getLogger(__name__)

_BEFORE = 64  # characters before the cursor that must stay for an answer to count as accepted


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

    def insert_text(self, text: str) -> str:
        """`text` as an item without a range inserts it: in place of the word before the
        cursor (which clients replace), without the closers already right of it."""
        return word_before(self.document.text, self.offset) + without_closers(
            text, rest_of_line(self.document.text, self.offset))


def last_answer(item_ids: list[int], elapsed_ms: float, generated: Suggestions | None) -> dict:
    """`codellama/stats`'s `last_answer`: what clients show in their info line."""
    return {"item_ids": item_ids, "ms": round(elapsed_ms, 1), "cached": generated is None,
            "generated_tokens": generated.generated_tokens if generated else 0,
            "prompt_tokens": generated.prompt_tokens if generated else 0,
            "reused_prompt_tokens": generated.reused_prompt_tokens if generated else 0}


@dataclass(frozen=True)
class _Shown:
    """The latest answer for a document, watched for its acceptance."""

    offset: int
    before: str  # the text right before the cursor when it was shown
    items: list[tuple[int, str]]  # (item id, text)


class CompletionService:
    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.scheduler = Scheduler(when_idle=state.freed_memory.give_back)
        self.cache = SuggestionCache()
        self.stats = Stats()
        # Engines keep one KV cache per key: this server's, one per document.
        self.kv_cache_key = f"lsp-{uuid.uuid4().hex[:12]}"
        self._shown: dict[str, _Shown] = {}
        self.prewarmer = Prewarmer(state, self.stats, self.document_cache_key)

    def document_cache_key(self, uri: str) -> str:
        """The engine's KV cache key for `uri`: completions and pre-warms share it."""
        return f"{self.kv_cache_key}:{uri}"

    def start(self) -> None:
        """The client is ready: load the model and index the workspace."""
        self.state.models.load_completion(self.state.settings)
        self.state.index_workspace()

    def settings_changed(self, before: Settings) -> None:
        """Cached suggestions made under other settings can never be served again."""
        if suggestion_key(before, False) != suggestion_key(self.state.settings, False):
            self.cache.clear()

    async def answer(self, uri: str, line: int, character: int, invoked: bool
                     ) -> Answer | None:
        """Suggestions at (line, character) of `uri`, or None: no such document, language
        off, no model, superseded by a newer request, or the document changed meanwhile.
        Raises PositionError for a line out of range; cancelling the task cancels the work."""
        started = time.perf_counter()
        self.stats.requests += 1
        self.prewarmer.cancel()  # a real request goes first
        try:
            document = self.state.documents.get(uri)
        except UnknownDocument as exc:
            log.info("no completion: %s", exc)
            return None
        offset = document.index.offset(line, character, self.state.encoding)
        self.prewarmer.remember(Cursor(uri, line, character))
        settings = self.state.settings
        if not settings.enabled_for(document.language_id):
            return None
        version, text = document.version, document.text
        snapshot = document.parsed.snapshot()  # the completion runs on it in another thread
        decision = decide(text, offset, snapshot)  # once: the generations are given it
        if decision.mode is Mode.NONE:
            self.scheduler.cancel(uri)  # e.g. mid-word: no suggestion, and older ones are stale
            return None
        key, prefix, suffix = suggestion_key(settings, invoked), text[:offset], text[offset:]
        hit = self.cache.get(key, prefix, suffix)
        generated: Suggestions | None = None
        if hit is not None:
            self.scheduler.cancel(uri)  # an older generation for this document is stale now
            self.stats.cache_hits += 1
            self.stats.forwarded += hit.forwarded
            texts = hit.texts
        else:
            generated = await self._generate(uri, snapshot, offset, decision, settings,
                                             invoked)
            if generated is None:
                return None
            texts = generated.texts
            self.cache.put(key, prefix, suffix, texts)
        if not self.state.documents.is_current(document, version):
            return None  # the document changed meanwhile: these texts fit it no longer
        elapsed_ms = self._record(started, generated)
        answer = Answer(document, offset, texts, self.stats.shown_items(texts))
        if texts:
            self.stats.last_answer = last_answer(answer.item_ids, elapsed_ms, generated)
        self._shown[uri] = _Shown(offset, text[max(0, offset - _BEFORE):offset],
                                  list(zip(answer.item_ids, texts)))
        return answer

    def document_changed(self, document: Document) -> None:
        """Count the latest answer's item as accepted when its whole text now stands at its
        place: clients that never run the accept command (eglot) are counted too."""
        shown = self._shown.get(document.uri)
        if shown is None:
            return
        text, offset = document.text, shown.offset
        if text[max(0, offset - len(shown.before)):offset] != shown.before:
            del self._shown[document.uri]  # edited before the cursor: the answer is moot
            return
        for item_id, item in shown.items:
            if text.startswith(item, offset):
                self.stats.accept(item_id, from_changes=True)
                del self._shown[document.uri]
                return

    async def _generate(self, uri: str, document: ParsedDocument, offset: int,
                        decision: Decision, settings: Settings, invoked: bool
                        ) -> Suggestions | None:
        debounce_s = 0.0 if invoked else settings.debounce_ms / 1000
        try:
            engine = await self.state.models.completion.engine(settings.load_wait_ms / 1000)
            if engine is None:
                return None
            result = await self.scheduler.run(
                uri, lambda cancel: suggest(engine, document, offset, settings, invoked, cancel,
                                            self.state.snippets,
                                            self.document_cache_key(uri), decision),
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

    def _record(self, started: float, generated: Suggestions | None) -> float:
        """Count the answer's latency and tokens; its milliseconds."""
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.stats.latencies_ms.append(elapsed_ms)
        if generated is not None:
            self.stats.prompt_tokens += generated.prompt_tokens
            self.stats.reused_prompt_tokens += generated.reused_prompt_tokens
            self.stats.generated_tokens += generated.generated_tokens
            self.stats.healed += generated.healed
            if generated.first_token_s is not None:
                self.stats.last_first_token_ms = generated.first_token_s * 1000
                self.stats.first_token_ms.append(self.stats.last_first_token_ms)
            self.stats.last_engine_ms = generated.engine_s * 1000
            self.stats.engine_ms.append(self.stats.last_engine_ms)
            self.stats.overhead_ms.append(elapsed_ms - self.stats.last_engine_ms)
        return elapsed_ms

    def report(self) -> dict:
        """The `codellama/stats` answer."""
        loader = self.state.models.completion
        return {**self.stats.snapshot(),
                "generations": self.scheduler.started,
                "max_running_per_document": self.scheduler.max_running_per_document,
                "cache_entries": len(self.cache),
                "model": {"name": loader.description, "state": loader.state.value,
                          "error": loader.error}}

    def shutdown(self) -> None:
        self.prewarmer.shutdown()
        self.scheduler.shutdown()

    def forget(self, uri: str) -> None:
        """The document was closed."""
        self.scheduler.forget(uri)
        self._shown.pop(uri, None)
