"""One generation at a time per document, the newest request first.

A newer request for a document cancels the older one (its `threading.Event` is set, and the
engine checks it before every token); so does the request's own cancellation ($/cancelRequest
cancels the asyncio task). The newer generation starts only once the older has stopped, so at
most one runs per document. Automatic triggers wait a short debounce first: typing on cancels the
wait before any model time is spent. The generations run on a `Runner`'s threads.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

from codellama_lsp.lsp.runner import Runner

T = TypeVar("T")


class Scheduler:
    def __init__(self, max_threads: int = 4,
                 when_idle: Callable[[], None] | None = None) -> None:
        self.runner = Runner(max_threads, "generation", when_idle)
        # Touched on the event loop only.
        self._latest: dict[str, threading.Event] = {}
        self._turns: dict[str, asyncio.Lock] = {}
        # Counted in the generation threads.
        self._count_lock = threading.Lock()
        self._running: dict[str, int] = {}
        self.max_running_per_document = 0  # the most that ever ran at once for one document

    @property
    def started(self) -> int:
        """Generations started."""
        return self.runner.started

    async def run(self, key: str, work: Callable[[threading.Event], T],
                  debounce_s: float = 0.0) -> T | None:
        """Run `work(cancel)` in a thread, after `debounce_s`, unless a newer call for `key`
        supersedes it first (then None). Cancelling the calling task cancels the work."""
        cancel = threading.Event()
        older = self._latest.get(key)
        if older is not None:
            older.set()
        self._latest[key] = cancel
        try:
            if debounce_s > 0:
                await asyncio.sleep(debounce_s)
            async with self._turns.setdefault(key, asyncio.Lock()):
                if cancel.is_set():
                    return None
                # The runner returns once the thread has stopped: the document's turn is held
                # until then, so the next generation never runs beside this one.
                result = await self.runner.run(
                    lambda event: self._counted(key, work, event), cancel)
                # Work cut short by a newer request answers for text that has moved on.
                return None if cancel.is_set() else result
        except asyncio.CancelledError:
            cancel.set()
            raise
        finally:
            if self._latest.get(key) is cancel:
                del self._latest[key]

    def cancel(self, key: str) -> None:
        """Cancel the latest work for `key` (answered otherwise, e.g. from the cache)."""
        event = self._latest.get(key)
        if event is not None:
            event.set()

    def forget(self, key: str) -> None:
        """Cancel and drop what is kept for `key` (its document was closed)."""
        event = self._latest.pop(key, None)
        if event is not None:
            event.set()
        turn = self._turns.get(key)
        if turn is not None and not turn.locked():
            del self._turns[key]

    def _counted(self, key: str, work: Callable[[threading.Event], T],
                 cancel: threading.Event) -> T:
        with self._count_lock:
            self._running[key] = self._running.get(key, 0) + 1
            self.max_running_per_document = max(self.max_running_per_document,
                                                self._running[key])
        try:
            return work(cancel)
        finally:
            with self._count_lock:
                self._running[key] -= 1
                if not self._running[key]:
                    del self._running[key]

    def shutdown(self) -> None:
        """Cancel every generation, running or waiting; returns at once."""
        for event in list(self._latest.values()):
            event.set()
        self.runner.shutdown()
