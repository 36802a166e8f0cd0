"""Engines shared by model: where the instruct model is the completion model, one engine (one
copy of the weights) serves both completions and edits."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from fim.engines.base import Engine, EngineError
from fim.engines.factory import open_engine
from fim.engines.local import LoadOptions

Opener = Callable[[str, LoadOptions], Engine]
Key = tuple[str, LoadOptions]

log = logging.getLogger(__name__)


class EnginePool:
    """Opens each (engine, load options) once, on first use, and hands out that engine after.

    A model that fails to load is not remembered: the next call tries again (and raises again).
    """

    def __init__(self, opener: Opener = open_engine) -> None:
        self._opener = opener
        self._engines: dict[tuple[str, LoadOptions], Engine] = {}
        self._loading: dict[tuple[str, LoadOptions], threading.Lock] = {}
        self._lock = threading.Lock()
        self._retains = 0  # how many times `retain` ran, and what it last kept
        self._wanted: set[Key] = set()

    def get(self, engine: str, options: LoadOptions) -> Engine:
        """The engine for `engine` ("local" or a URL) with `options`, opened if need be.

        Callers of an engine already open are never held up by another model loading.
        """
        key = (engine, options)
        with self._lock:
            if key in self._engines:
                return self._engines[key]
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:  # concurrent first callers of one key wait for a single load
            with self._lock:
                if key in self._engines:
                    return self._engines[key]
                retains = self._retains
            opened = self._opener(engine, options)
            with self._lock:
                # Settings that no longer name it came while it loaded: nobody will use it.
                moot = self._retains != retains and key not in self._wanted
                if not moot:
                    self._engines[key] = opened
            if moot:
                _close(opened)
                raise EngineError(f"{options.model}: replaced by newer settings while it loaded")
            return opened

    def loaded(self) -> list[tuple[str, LoadOptions]]:
        with self._lock:
            return list(self._engines)

    def retain(self, wanted: set[Key]) -> None:
        """Drop and close every engine not in `wanted`: the
        settings name other models now, and two models at once may not fit."""
        with self._lock:
            self._retains, self._wanted = self._retains + 1, set(wanted)
            dropped = [self._engines.pop(key) for key in list(self._engines)
                       if key not in wanted]
        for engine in dropped:
            _close(engine)


def _close(engine: Engine) -> None:
    try:
        engine.close()
    except Exception as exc:  # noqa: BLE001 - a failed close must not stop a load
        log.warning("closing an engine no longer used failed: %s", exc)
