"""Suggestions for a cursor in a document: the one place where the server asks the model.

An automatic trigger gets one greedy suggestion; an invoked trigger up to `invoked_items`
distinct ones, sampled with seeds 0, 1, ... (distinct, non-empty texts only).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from codellama_lsp.completion import CompletionOptions, complete
from codellama_lsp.settings import Settings
from codellama_lsp.source import detect_newline
from fim.engine import Engine


@dataclass(frozen=True)
class Suggestions:
    texts: list[str]  # distinct, non-empty, with the document's line ends
    generations: int
    engine_s: float  # time inside engine.generate, all generations together


def options_for(settings: Settings, invoked: bool, seed: int | None = None) -> CompletionOptions:
    if not invoked:
        return CompletionOptions(max_new_tokens=settings.max_new_tokens, temperature=0.0,
                                 spm=settings.fim_format == "spm")
    return CompletionOptions(max_new_tokens=settings.max_new_tokens,
                             temperature=settings.invoked_temperature, top_p=settings.top_p,
                             spm=settings.fim_format == "spm", seed=seed)


def cache_key(settings: Settings, invoked: bool) -> str:
    """What, besides the text, decides the suggestions (see `options_for`)."""
    fields = [settings.engine, settings.model, settings.fim_format, settings.context_window,
              settings.max_new_tokens]
    if invoked:
        fields += ["invoked", settings.invoked_items, settings.invoked_temperature,
                   settings.top_p]
    return repr(fields)


def suggest(engine: Engine, text: str, offset: int, settings: Settings, invoked: bool,
            cancel: threading.Event) -> Suggestions:
    """Suggestions to insert at `offset` of the document `text`.

    To complete with document structure (tree-sitter scope, clean-up, snippets from other
    files), call that pipeline here instead of `complete` on plain prefix and suffix.
    """
    prefix, suffix, newline = text[:offset], text[offset:], detect_newline(text)
    runs = settings.invoked_items if invoked else 1
    texts: list[str] = []
    engine_s = 0.0
    generations = 0
    for seed in range(runs):
        if cancel.is_set():
            break
        result = complete(engine, prefix, suffix, options_for(settings, invoked, seed),
                          newline=newline, cancel=cancel)
        engine_s += result.result.total_s
        generations += 1
        if result.result.stop_reason == "cancelled":
            break
        if result.text.strip() and result.text not in texts:
            texts.append(result.text)
    return Suggestions(texts, generations, engine_s)
