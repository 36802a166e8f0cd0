"""One generation at a time per document, the newest request first.

A newer request for a document cancels the older one (its `threading.Event` is set, and the
engine checks it before every token); so does the request's own cancellation ($/cancelRequest
cancels the asyncio task). The newer generation starts only once the older has stopped, so at
most one runs per document. Automatic triggers wait a short debounce first: typing on cancels the
wait before any model time is spent.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class Scheduler:
    def __init__(self, max_threads: int = 4) -> None:
        self._executor = ThreadPoolExecutor(max_threads, thread_name_prefix="generation")
        self._latest: dict[str, threading.Event] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._count_lock = threading.Lock()
        self._running: dict[str, int] = {}
        self.started = 0  # generations started
        self.max_running_per_document = 0  # the most that ever ran at once for one document

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
            async with self._locks.setdefault(key, asyncio.Lock()):
                if cancel.is_set():
                    return None
                result = await self._in_thread(key, work, cancel)
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

    def cancel_all(self) -> None:
        for event in list(self._latest.values()):
            event.set()

    def forget(self, key: str) -> None:
        """Cancel and drop what is kept for `key` (its document was closed)."""
        event = self._latest.pop(key, None)
        if event is not None:
            event.set()
        lock = self._locks.get(key)
        if lock is not None and not lock.locked():
            del self._locks[key]

    async def _in_thread(self, key: str, work: Callable[[threading.Event], T],
                         cancel: threading.Event) -> T:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._counted, key, work, cancel)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            cancel.set()
            # Hold the document's turn until the thread has stopped (within one token), so that
            # the next generation never runs beside this one.
            await asyncio.wait([future])
            raise

    def _counted(self, key: str, work: Callable[[threading.Event], T],
                 cancel: threading.Event) -> T:
        with self._count_lock:
            self.started += 1
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
        self.cancel_all()
        self._executor.shutdown(wait=False, cancel_futures=True)
