"""The model, loaded in the background so that the editor never waits on it.

Requests that come while it loads wait a bounded time, then get nothing; a failed load is kept
(and reported once by the caller), and requests get nothing until the settings change.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from enum import Enum

from fim.engines.base import Engine

log = logging.getLogger(__name__)


class LoadState(str, Enum):
    IDLE = "idle"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class LoadOutcome:
    description: str  # what was loaded, e.g. the model's name
    engine: Engine | None
    error: str | None
    seconds: float


class ModelLoader:
    """Loads one engine at a time in a thread; a new `start` makes earlier loads moot.

    With `close_replaced`, the engine a new `start` replaces is closed; without, whoever hands
    out the engines (an EnginePool shared with another loader) closes them.
    """

    def __init__(self, close_replaced: bool = True) -> None:
        self._close_replaced = close_replaced
        self._future: Future[Engine] | None = None
        self._description = ""
        self._error: str | None = None

    @property
    def state(self) -> LoadState:
        future = self._future
        if future is None:
            return LoadState.IDLE
        if not future.done():
            return LoadState.LOADING
        return LoadState.FAILED if future.exception() is not None else LoadState.READY

    @property
    def error(self) -> str | None:
        return self._error

    @property
    def description(self) -> str:
        return self._description

    def start(self, description: str, load: Callable[[], Engine]) -> Future[LoadOutcome]:
        """Begin loading with `load()` in a thread; the returned future gives the outcome."""
        engine_future: Future[Engine] = Future()
        outcome: Future[LoadOutcome] = Future()
        previous = self._future
        self._future, self._description, self._error = engine_future, description, None

        def run() -> None:
            if self._close_replaced:
                _close(previous)  # before loading: two models at once may not fit
            started = time.perf_counter()
            try:
                engine = load()
            except Exception as exc:  # noqa: BLE001 - any failure is reported, never fatal
                message = str(exc).strip().splitlines()[0] if str(exc).strip() \
                    else type(exc).__name__
                if self._future is engine_future:
                    self._error = message
                engine_future.set_exception(exc)
                outcome.set_result(LoadOutcome(description, None, message,
                                               time.perf_counter() - started))
                return
            engine_future.set_result(engine)
            if self._future is not engine_future and self._close_replaced:
                _close(engine_future)  # settings changed while it loaded: nobody will use it
            outcome.set_result(LoadOutcome(description, engine, None,
                                           time.perf_counter() - started))

        threading.Thread(target=run, name="model-loading", daemon=True).start()
        return outcome

    async def engine(self, wait_s: float) -> Engine | None:
        """The engine, waiting up to `wait_s` while it loads; None if absent or failed."""
        future = self._future
        if future is None:
            return None
        if not future.done():
            try:
                await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), wait_s)
            except asyncio.TimeoutError:
                return None
            except Exception:  # noqa: BLE001 - the failure is reported by the loader's caller
                return None
        if future.exception() is not None:
            return None
        return future.result()


def _close(future: Future[Engine] | None) -> None:
    """Release an engine that has been replaced (a remote engine's connection and thread)."""
    if future is None or not future.done() or future.exception() is not None:
        return
    try:
        future.result().close()
    except Exception as exc:  # noqa: BLE001 - a failed close must not stop the new load
        log.warning("closing the previous engine failed: %s", exc)
