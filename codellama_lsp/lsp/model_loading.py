"""The models, loaded in the background so that the editor never waits on them.

Completion requests that come while the model loads wait a bounded time, then get nothing; a
failed load is kept and reported once (window/showMessage), and requests get nothing until the
settings change. The instruct model for edits is loaded on the first edit, whose error tells a
failed load (a window/showMessage too would tell the user twice). Both come from one
EnginePool: where the instruct model is the completion model, one engine serves both.
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

from lsprotocol import types

from codellama_lsp.lsp.client_window import ClientWindow
from codellama_lsp.lsp.engine_pool import EnginePool
from codellama_lsp.lsp.settings import Settings
from fim.engines.base import Engine
from fim.engines.local import LoadOptions

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

    It never closes an engine: whoever hands them out (the EnginePool) does.
    """

    def __init__(self) -> None:
        self._future: Future[Engine] | None = None
        self._outcome: Future[LoadOutcome] | None = None
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
        self._future, self._description, self._error = engine_future, description, None
        self._outcome = outcome

        def run() -> None:
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
            outcome.set_result(LoadOutcome(description, engine, None,
                                           time.perf_counter() - started))

        threading.Thread(target=run, name="model-loading", daemon=True).start()
        return outcome

    def is_latest(self, outcome: Future[LoadOutcome]) -> bool:
        """Whether `outcome` (from `start`) is that of the latest load, not of one made moot."""
        return outcome is self._outcome

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


_COMPLETIONS_OFF = "Completions are off until the settings name a model that loads."
_EDITS_OFF = "Edits are off until the settings name an instruct model that loads."


class Models:
    """The completion and instruct engines of one server, from one EnginePool."""

    def __init__(self, engines: EnginePool, window: ClientWindow) -> None:
        self.engines = engines
        self.completion = ModelLoader()
        self.instruct = ModelLoader()
        self._window = window
        self._instruct_key: tuple[str, LoadOptions] | None = None
        # Edits waiting on the current instruct load that did not give up: where one is, its
        # answer tells the user why the load failed, and the server says it no second time.
        self._instruct_waiting = 0
        self._opening = threading.Lock()
        # The $/progress report open while completion models load: one from the first load
        # to the last of those that replace each other (a setting changed meanwhile), so that
        # no client reads the end of a replaced load as "ready".
        self._progress: str | None = None
        self._progress_lock = asyncio.Lock()

    def load_completion(self, settings: Settings) -> None:
        """Start loading the completion model `settings` name (progress shown; a failure
        shown once)."""
        log.info("loading %s (engine %s)", settings.model, settings.engine)
        outcome = self.completion.start(settings.model, lambda: self._open(
            settings, settings.load_options()))
        asyncio.ensure_future(self._report(self.completion, outcome, "model", _COMPLETIONS_OFF,
                                           progress=True))

    async def instruct_engine(self, settings: Settings, wait_s: float) -> Engine | None:
        """The instruct engine `settings` name, loading it on first use; None if it failed or
        is still loading after `wait_s`. A failure is told once: by the edit waiting for the
        load (its error), or, where every edit gave up waiting, by a window/showMessage."""
        key = (settings.engine, settings.instruct_load_options())
        if key != self._instruct_key:
            self._instruct_key, self._instruct_waiting = key, 0
            log.info("loading instruct model %s for edits", settings.instruct_model)
            outcome = self.instruct.start(settings.instruct_model, lambda: self._open(
                settings, settings.instruct_load_options()))
            asyncio.ensure_future(self._report(
                self.instruct, outcome, "instruct model", _EDITS_OFF, progress=False,
                show_failure=lambda: self._instruct_waiting == 0))
        self._instruct_waiting += 1
        engine = await self.instruct.engine(wait_s)
        if engine is None and self.instruct.state is LoadState.LOADING:
            self._instruct_waiting -= 1  # gave up waiting: a failure would be told to nobody
        return engine

    def instruct_failed(self, settings: Settings) -> bool:
        """Whether the instruct model `settings` name failed to load."""
        return (self._instruct_key == (settings.engine, settings.instruct_load_options())
                and self.instruct.state is LoadState.FAILED)

    def _open(self, settings: Settings, options: LoadOptions) -> Engine:
        """Runs in a loading thread, one load at a time: two first imports of transformers in
        two threads can fail ("cannot import name AutoModelForCausalLM"), and two models at once
        may not fit. Engines the settings no longer name are dropped first."""
        with self._opening:
            self.engines.retain(settings.engine_keys())
            return self.engines.get(settings.engine, options)

    async def _report(self, loader: ModelLoader, outcome: Future[LoadOutcome], what: str,
                      off: str, progress: bool,
                      show_failure: Callable[[], bool] = lambda: True) -> None:
        """Logs a load's outcome. Where the load is the latest of `loader`: one
        window/showMessage if it failed (and `show_failure()`: nobody else tells it), saying
        what is off until when; and with `progress`, the end of the $/progress report."""
        if progress:
            await self._show_loading(f"loading {loader.description}")
        result: LoadOutcome = await asyncio.wrap_future(outcome)
        if result.error is None:
            message = f"loaded {what} {result.description} in {result.seconds:.1f}s"
            log.info("%s", message)
        else:
            message = f"cannot load {what} {result.description}: {result.error}"
            log.error("%s", message)
        if not loader.is_latest(outcome):
            log.info("%s %s was replaced by another before it was ready", what,
                     result.description)
            return
        if result.error is not None and show_failure():
            self._window.show(types.MessageType.Error, f"codellama: {message}. {off}")
        if progress and self._progress is not None:
            self._window.end_progress(self._progress, message)
            self._progress = None

    async def _show_loading(self, message: str) -> None:
        """Begin the $/progress report, or where one is open, give it `message`."""
        async with self._progress_lock:
            if self._progress is None:
                self._progress = await self._window.begin_progress("Code Llama", message)
            else:
                self._window.report_progress(self._progress, message)
