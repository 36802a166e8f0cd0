"""Pre-warming: when a document is opened or the cursor rests, the prompt a completion there
would send is computed into the document's KV cache at low priority, so that the first
suggestion computes only the tail.

One pre-warm at a time (on a one-thread `Runner`): a newer one (for any document) and any real
completion request cancel it, and the engine gives way to a waiting generation between chunks by
itself. Only the in-process engine with kept KV caches can pre-warm; otherwise a pre-warm does
nothing, and while the model loads the latest one waits for it. The last cursor of the documents
used most recently is kept, to pre-warm there when one is opened again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from codellama_lsp.lsp.documents import UnknownDocument
from codellama_lsp.lsp.model_loading import LoadState
from codellama_lsp.lsp.runner import Runner, Work
from codellama_lsp.lsp.state import ServerState
from codellama_lsp.lsp.stats import Stats
from codellama_lsp.lsp.suggestions import prefill_suggestion
from codellama_lsp.syntax.positions import PositionError

log = logging.getLogger(__name__)

PREWARM_METHOD = "codellama/prewarm"
REST_S = 0.15  # the cursor must rest this long: moving on before costs no model time
LOAD_POLL_S = 0.5  # a pre-warm waiting for the model checks this often whether it is moot
REMEMBERED_CURSORS = 128  # documents whose last cursor is kept


@dataclass(frozen=True)
class Cursor:
    uri: str
    line: int
    character: int


def parse_cursor(params: Any) -> Cursor | None:
    """`{textDocument: {uri}, position: {line, character}}` (a dict, or pygls's namedtuples) as a
    Cursor; None, with a log line, for anything else."""
    document, position = _field(params, "textDocument"), _field(params, "position")
    uri = _field(document, "uri")
    line, character = _field(position, "line"), _field(position, "character")
    if not isinstance(uri, str) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in (line, character)):
        log.warning("%s ignored: params must be {textDocument: {uri}, position: {line, "
                    "character}}, got %r", PREWARM_METHOD, params)
        return None
    return Cursor(uri, line, character)


def _field(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        return value.get(name)
    return getattr(value, name, None) if hasattr(value, "_fields") else None


class RecentCursors:
    """The last cursor of each of the `limit` documents used most recently."""

    def __init__(self, limit: int = REMEMBERED_CURSORS) -> None:
        self.limit = limit
        self._cursors: OrderedDict[str, Cursor] = OrderedDict()

    def __len__(self) -> int:
        return len(self._cursors)

    def get(self, uri: str) -> Cursor | None:
        cursor = self._cursors.get(uri)
        if cursor is not None:
            self._cursors.move_to_end(uri)
        return cursor

    def put(self, cursor: Cursor) -> None:
        self._cursors[cursor.uri] = cursor
        self._cursors.move_to_end(cursor.uri)
        while len(self._cursors) > self.limit:
            self._cursors.popitem(last=False)


class Prewarmer:
    """Pre-warms the document cache `cache_key(uri)` names for the latest cursor it was given.
    Used on the event loop only."""

    def __init__(self, state: ServerState, stats: Stats, cache_key: Callable[[str], str],
                 rest_s: float = REST_S) -> None:
        self.state = state
        self.stats = stats
        self.cache_key = cache_key
        self.rest_s = rest_s
        self.runner = Runner(1, "prewarm", state.freed_memory.give_back)
        self._cancel = threading.Event()
        self._task: asyncio.Future | None = None  # kept: a task nobody holds may be collected
        self.cursors = RecentCursors()

    def request(self, cursor: Cursor) -> None:
        """Pre-warm at `cursor` once it has rested, cancelling the pre-warm before; a cursor
        outside the open documents is ignored (one log line)."""
        try:
            self._offset(cursor)
        except (UnknownDocument, PositionError) as exc:
            # An info line only: a client may well race a close or an edit (Neovim logs every
            # stderr line as an error).
            log.info("%s ignored: %s", PREWARM_METHOD, exc)
            return
        self.cancel()
        self.cursors.put(cursor)
        self._cancel = cancel = threading.Event()
        self._task = asyncio.ensure_future(self._run(cursor, cancel))

    def opened(self, uri: str) -> None:
        """A document was opened: pre-warm at its last known cursor (if it still lies in the
        text), else at its start."""
        cursor = self.cursors.get(uri)
        try:
            if cursor is not None:
                self._offset(cursor)
        except PositionError:
            cursor = None  # the file changed while it was closed
        self.request(cursor or Cursor(uri, 0, 0))

    def remember(self, cursor: Cursor) -> None:
        """A completion was asked for at `cursor`: where to pre-warm when it is opened again."""
        self.cursors.put(cursor)

    def cancel(self) -> None:
        """Stop the running pre-warm (within one chunk) or the one waiting for its rest."""
        self._cancel.set()

    def shutdown(self) -> None:
        self.cancel()
        self.runner.shutdown()

    def _offset(self, cursor: Cursor) -> int:
        document = self.state.documents.get(cursor.uri)
        return document.index.offset(cursor.line, cursor.character, self.state.encoding)

    async def _run(self, cursor: Cursor, cancel: threading.Event) -> None:
        await asyncio.sleep(self.rest_s)
        if cancel.is_set():
            return
        job = await self._job(cursor, cancel)
        if job is None or cancel.is_set():
            return
        self.stats.prewarms += 1
        try:
            computed = await self.runner.run(job, cancel)
        except Exception as exc:  # noqa: BLE001 - a pre-warm is an extra: completions go on
            log.warning("pre-warm of %s failed: %s", cursor.uri, exc)
            return
        self.stats.prewarmed_tokens += computed
        log.debug("pre-warmed %d ids of %s", computed, cursor.uri)

    async def _job(self, cursor: Cursor, cancel: threading.Event) -> Work[int] | None:
        """What to run in the pre-warm thread for `cursor`, or None: pre-warming off, no
        engine that can pre-warm, completions off for the language, or the cursor no longer in
        the document. A cursor that rests while the model loads is pre-warmed once it is
        loaded (the first file an editor opens), unless a newer one took its place."""
        loader = self.state.models.completion
        while loader.state is LoadState.LOADING and not cancel.is_set():
            await loader.engine(LOAD_POLL_S)
        settings = self.state.settings
        if not (settings.prewarm and settings.engine == "local" and settings.kv_reuse):
            return None
        if loader.state is not LoadState.READY or cancel.is_set():
            return None
        engine = await loader.engine(0)
        try:
            document = self.state.documents.get(cursor.uri)
            offset = self._offset(cursor)
        except (UnknownDocument, PositionError) as exc:
            log.debug("no pre-warm: %s", exc)  # closed or edited during the rest
            return None
        if engine is None or not settings.enabled_for(document.language_id):
            return None
        snapshot, snippets = document.parsed.snapshot(), self.state.snippets
        key = self.cache_key(cursor.uri)
        return lambda cancel: prefill_suggestion(engine, snapshot, offset, settings, cancel,
                                                 snippets, key)
