"""Open the engine a setting names: "local" (the model in this process) or a server URL."""

from __future__ import annotations

from fim.engine import Engine, EngineError
from fim.local import LoadOptions, LocalEngine


def open_engine(engine: str, options: LoadOptions) -> Engine:
    """The engine for `engine` ("local", or an http(s) URL of a serving engine)."""
    if engine == "local":
        return LocalEngine.load(options)
    if engine.startswith(("http://", "https://")):
        raise EngineError("remote engines are not available yet")
    raise EngineError(f"unknown engine {engine!r} (use 'local' or an http(s):// URL)")
