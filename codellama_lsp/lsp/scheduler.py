"""One generation at a time per document, the newest request first.

A newer request for a document cancels the older one (its `threading.Event` is set, and the
engine checks it before every token); so does the request's own cancellation ($/cancelRequest
cancels the asyncio task). The newer generation starts only once the older has stopped, so at
most one runs per document. Automatic triggers wait a short debounce first: typing on cancels the
wait before any model time is spent, and ends it at once (the request answers nothing then, not
a debounce later). The generations run on a `Runner`'s threads.

`run` is the whole of it; a caller with work to prepare on the event loop once the debounce is
over (and only then) takes a `Claim` itself: `claim(key)`, `Claim.pause`, `run_claimed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from codellama_lsp.lsp.runner import Runner

T = TypeVar("T")


class Claim:
    """One request's claim on its key, from its debounce to its end; stopped by a newer claim
    on the key, `Scheduler.cancel` or `forget`, or its task's cancellation. Used on the event
    loop (the cancel event is also read by the work's thread)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.cancel = threading.Event()
        self._woken: asyncio.Future[None] | None = None  # the pause's, while it lasts

    @property
    def stopped(self) -> bool:
        return self.cancel.is_set()

    def stop(self) -> None:
        self.cancel.set()
        _wake(self._woken)

    async def pause(self, seconds: float) -> bool:
        """Wait `seconds`, ending at once where the claim is stopped first; whether it still
        stands."""
        if seconds > 0 and not self.stopped:
            # A future and a timer: the cheapest wait that a stop can end (no task of its own).
            loop = asyncio.get_running_loop()
            self._woken = loop.create_future()
            timer = loop.call_later(seconds, _wake, self._woken)
            try:
                await self._woken
            finally:
                timer.cancel()
                self._woken = None
        return not self.stopped


def _wake(woken: asyncio.Future[None] | None) -> None:
    if woken is not None and not woken.done():
        woken.set_result(None)


class Scheduler:
    def __init__(self, max_threads: int = 4,
                 when_idle: Callable[[], None] | None = None) -> None:
        self.runner = Runner(max_threads, "generation", when_idle)
        # Touched on the event loop only.
        self._latest: dict[str, Claim] = {}
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
        supersedes it first (then None, at once). Cancelling the calling task cancels the
        work."""
        with self.claim(key) as claim:
            if not await claim.pause(debounce_s):
                return None
            return await self.run_claimed(claim, work)

    @contextlib.contextmanager
    def claim(self, key: str) -> Iterator[Claim]:
        """The newest claim on `key` (the older one is stopped) for the block; leaving the
        block stops it (its work has stopped by then)."""
        claim = Claim(key)
        older = self._latest.get(key)
        if older is not None:
            older.stop()
        self._latest[key] = claim
        try:
            yield claim
        finally:
            claim.stop()
            if self._latest.get(key) is claim:
                del self._latest[key]

    async def run_claimed(self, claim: Claim, work: Callable[[threading.Event], T]) -> T | None:
        """Run `work(cancel)` in a thread once the claim's document has its turn; None where
        the claim is stopped first or meanwhile."""
        key = claim.key
        async with self._turns.setdefault(key, asyncio.Lock()):
            if claim.stopped:
                return None
            # The runner returns once the thread has stopped: the document's turn is held
            # until then, so the next generation never runs beside this one.
            result = await self.runner.run(
                lambda event: self._counted(key, work, event), claim.cancel)
            # Work cut short by a newer request answers for text that has moved on.
            return None if claim.stopped else result

    def cancel(self, key: str) -> None:
        """Cancel the latest work for `key` (answered otherwise, e.g. from the cache)."""
        claim = self._latest.get(key)
        if claim is not None:
            claim.stop()

    def forget(self, key: str) -> None:
        """Cancel and drop what is kept for `key` (its document was closed)."""
        claim = self._latest.pop(key, None)
        if claim is not None:
            claim.stop()
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
        for claim in list(self._latest.values()):
            claim.stop()
        self.runner.shutdown()
