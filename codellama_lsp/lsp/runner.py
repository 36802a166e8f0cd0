"""Blocking work (a generation, an edit, a pre-warm) in threads, awaited from the event loop and
cancellable.

`Runner.run(work)` runs `work(cancel)` in one of at most `threads` threads and awaits it.
Cancelling the awaiting task ($/cancelRequest, a newer request) sets `cancel`, which the work
checks often (the engines before every token), and waits, shielded, until the thread has let the
work go: what the caller runs next never overlaps it. The threads are daemons, so work stuck in
a call that does not check `cancel` (a remote engine that does not answer) never holds up the
process's exit; `shutdown` cancels all work and returns at once.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

Work = Callable[[threading.Event], T]


@dataclass(frozen=True)
class _Job(Generic[T]):
    work: Work[T]
    cancel: threading.Event
    future: Future[T]


class Runner:
    def __init__(self, threads: int, name: str,
                 when_idle: Callable[[], None] | None = None) -> None:
        self.name = name
        self.max_threads = threads
        self.when_idle = when_idle  # called in a runner's thread whose work left none behind
        self.started = 0  # work that began in a thread
        self.running = 0  # work in a thread now
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads = 0
        self._outstanding = 0  # work queued or running: a thread is started while it is more
        self._lock = threading.Lock()  # the counts, the threads and the work in flight
        self._cancels: set[threading.Event] = set()
        self._closed = False

    async def run(self, work: Work[T], cancel: threading.Event | None = None) -> T:
        """`work(cancel)`'s result (or exception), from a thread. Cancelling the calling task
        sets `cancel` and returns (CancelledError) only once the work has stopped, or is
        dropped where it had not started; after `shutdown`, at once (the event loop may be
        ending), and a new call raises CancelledError."""
        cancel = cancel if cancel is not None else threading.Event()
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise asyncio.CancelledError(f"{self.name} runner is shut down")
            self._cancels.add(cancel)
        try:
            self._submit(_Job(work, cancel, future))
            waiting = asyncio.wrap_future(future)
            try:
                return await asyncio.shield(waiting)
            except asyncio.CancelledError:
                cancel.set()
                future.cancel()  # not started yet: it never will be
                if not self._closed:  # after shutdown nothing runs next: no need to wait
                    await asyncio.wait([waiting])
                raise
        finally:
            with self._lock:
                self._cancels.discard(cancel)

    def cancel_all(self) -> None:
        """Set the cancel event of all work queued or running."""
        with self._lock:
            cancels = list(self._cancels)
        for cancel in cancels:
            cancel.set()

    def shutdown(self) -> None:
        """Cancel all work, take no more, and let the threads end once their work has stopped;
        returns at once."""
        with self._lock:
            self._closed = True
            threads = self._threads
        self.cancel_all()
        for _ in range(threads):
            self._jobs.put(None)

    def _submit(self, job: _Job) -> None:
        with self._lock:
            self._outstanding += 1
            start = self._threads < min(self._outstanding, self.max_threads)
            if start:
                self._threads += 1
                name = f"{self.name}-{self._threads}"
        self._jobs.put(job)
        if start:
            threading.Thread(target=self._serve, name=name, daemon=True).start()

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            self._do(job)
            with self._lock:
                self._outstanding -= 1
                idle = self._outstanding == 0
            if idle and self.when_idle is not None:
                self.when_idle()

    def _do(self, job: _Job) -> None:
        if not job.future.set_running_or_notify_cancel():
            return  # its caller was cancelled before it started
        with self._lock:
            self.started += 1
            self.running += 1
        try:
            result = job.work(job.cancel)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
            self._stopped()
            job.future.set_exception(exc)
        else:
            self._stopped()
            job.future.set_result(result)

    def _stopped(self) -> None:
        # Counted before the awaiting task hears of it: it may report the counts at once.
        with self._lock:
            self.running -= 1
