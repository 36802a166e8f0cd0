"""Suggestions for a cursor in a document: the one place where the server asks the model.

The syntax-aware pipeline decides whether and how much to suggest, adds definitions from other
files and cleans the answer up (`complete_in_document`). An automatic trigger gets one greedy
suggestion; an invoked trigger up to `invoked_items` distinct ones, sampled with seeds 0, 1, ...
(distinct, non-empty texts only).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from codellama_lsp.completion.pipeline import (
    CompletionOptions,
    complete_in_document,
    prefill_in_document,
)
from codellama_lsp.completion.policy import Decision
from codellama_lsp.completion.snippets import SnippetSource
from codellama_lsp.lsp.settings import Settings
from codellama_lsp.syntax.parsed import ParsedDocument
from fim.engines.base import Engine, GenerationRequest, GenerationResult, StopReason


@dataclass(frozen=True)
class Suggestions:
    texts: list[str]  # distinct, non-empty, with the document's line ends
    generations: int
    engine_s: float  # time inside engine.generate, all generations together
    prompt_tokens: int = 0  # all generations together
    reused_prompt_tokens: int = 0  # of those, the ones a kept KV cache covered
    generated_tokens: int = 0  # all generations together
    first_token_s: float | None = None  # the first generation's time to its first token
    healed: int = 0  # generations whose prompt token healing backed off


def options_for(settings: Settings, invoked: bool, seed: int | None = None,
                kv_cache_key: str = "default") -> CompletionOptions:
    if not invoked:
        cap = settings.max_time_ms / 1000 if settings.max_time_ms else None
        return CompletionOptions(max_new_tokens=settings.max_new_tokens, temperature=0.0,
                                 spm=settings.fim_format == "spm", kv_cache_key=kv_cache_key,
                                 max_time_s=cap, token_healing=settings.token_healing)
    return CompletionOptions(max_new_tokens=settings.max_new_tokens,
                             temperature=settings.invoked_temperature, top_p=settings.top_p,
                             spm=settings.fim_format == "spm", seed=seed,
                             kv_cache_key=kv_cache_key, token_healing=settings.token_healing)


def suggestion_key(settings: Settings, invoked: bool) -> str:
    """The SuggestionCache's key: what, besides the text, decides the suggestions (see
    `options_for`)."""
    fields = [settings.engine, settings.model, settings.fim_format, settings.token_healing,
              settings.context_window, settings.max_new_tokens, settings.max_time_ms]
    if invoked:
        fields += ["invoked", settings.invoked_items, settings.invoked_temperature,
                   settings.top_p]
    return repr(fields)


def suggest(engine: Engine, document: ParsedDocument, offset: int, settings: Settings,
            invoked: bool, cancel: threading.Event, snippets: SnippetSource | None = None,
            kv_cache_key: str = "default", decision: Decision | None = None) -> Suggestions:
    """Suggestions to insert at character `offset` of `document` (a snapshot: the editor
    may go on editing the live document meanwhile); `decision`, the policy's for this cursor
    where the caller has it already."""
    runs = settings.invoked_items if invoked else 1
    engine = _Counted(engine)
    texts: list[str] = []
    engine_s = 0.0
    generations = 0
    for seed in range(runs):
        if cancel.is_set():
            break
        result = complete_in_document(engine, document, offset,
                                      options_for(settings, invoked, seed, kv_cache_key),
                                      cancel=cancel, snippets=snippets, decision=decision)
        generations += 1
        if result is None:  # cleaned up to nothing, or cancelled
            continue
        engine_s += result.result.total_s
        if result.result.stop_reason == StopReason.CANCELLED:
            break
        if result.text.strip() and result.text not in texts:
            texts.append(result.text)
    return Suggestions(texts, generations, engine_s, engine.prompt_tokens,
                       engine.reused_prompt_tokens, engine.generated_tokens,
                       engine.first_token_s, engine.healed)


def prefill_suggestion(engine: Engine, document: ParsedDocument, offset: int,
                       settings: Settings, cancel: threading.Event,
                       snippets: SnippetSource | None = None,
                       kv_cache_key: str = "default") -> int:
    """Compute the prompt that `suggest` would send for this cursor into its KV cache ahead of
    time (the same options as an automatic trigger's: the prompt is the same for both);
    returns the ids computed. What a pre-warm runs."""
    return prefill_in_document(engine, document, offset,
                               options_for(settings, False, None, kv_cache_key), cancel,
                               snippets)


class _Counted:
    """An engine that counts the prompt and generated tokens of every generation (also those
    whose answer cleans up to nothing), the healed ones, and the first one's time to its first
    token."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.tokenizer = engine.tokenizer
        self.context_window = engine.context_window
        self.can_heal = engine.can_heal
        self.prompt_tokens = self.reused_prompt_tokens = self.generated_tokens = 0
        self.healed = 0
        self.first_token_s: float | None = None

    def generate(self, request: GenerationRequest) -> GenerationResult:
        result = self.engine.generate(request)
        self.prompt_tokens += result.prompt_tokens
        self.reused_prompt_tokens += result.reused_prompt_tokens
        self.generated_tokens += result.generated_tokens
        self.healed += bool(request.heal_text)  # set only where the engine keeps to it
        if self.first_token_s is None:
            self.first_token_s = result.time_to_first_token_s
        return result

    def prefill(self, request: GenerationRequest) -> int:
        return self.engine.prefill(request)

    def close(self) -> None:
        self.engine.close()
