"""Open the engine a setting names: "local" (the model in this process) or a server URL.

A URL is `[PROTOCOL+]http(s)://host:port[?model=NAME]`, PROTOCOL one of openai (the default: our
worker `codellama serve`, vLLM), tgi, llamacpp, llamacpp-infill, ollama (see fim.engines.remote).
"""

from __future__ import annotations

from fim.engines.base import Engine, EngineError
from fim.engines.local import LocalEngine
from fim.engines.options import LoadOptions
from fim.models import resolve_options


def open_engine(engine: str, options: LoadOptions) -> Engine:
    """The engine for `engine` ("local", or the URL of a serving engine).

    For a URL, `options.model` names the tokenizer used here to build prompt ids (the served
    model's) and `options.context_window` bounds prompts; the API key comes from
    $CODELLAMA_API_KEY.
    """
    if engine == "local":
        return LocalEngine.load(options)
    if "://" in engine:
        from fim.engines.remote import RemoteEngine

        options = resolve_options(options)  # the tokenizer of demo, auto
        return RemoteEngine.open(engine, options.model, options.context_window)
    raise EngineError(f"unknown engine {engine!r} (use 'local' or an http(s):// URL, optionally "
                      "prefixed by openai+, tgi+, llamacpp+, llamacpp-infill+ or ollama+)")
