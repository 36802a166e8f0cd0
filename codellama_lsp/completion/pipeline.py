"""One completion: the prompt for a cursor, the engine's answer, and its line ends."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from codellama_lsp.completion.cleanup import clean, document_cleanup_context
from codellama_lsp.completion.cursor_prompt import DocumentPrompt, document_prompt
from codellama_lsp.completion.policy import Decision, Mode, decide
from codellama_lsp.completion.snippets import SnippetSource
from codellama_lsp.errors import UserError
from codellama_lsp.syntax.parsed import ParsedDocument
from codellama_lsp.syntax.source_files import detect_newline
from fim.engines.base import Engine, GenerationRequest, GenerationResult, StopReason
from fim.prompt import Prompt, choose_format, to_lf


@dataclass(frozen=True)
class CompletionOptions:
    max_new_tokens: int = 128
    temperature: float = 0.0
    top_p: float = 0.95
    spm: bool = False
    seed: int | None = None
    stop: tuple[str, ...] = field(default_factory=tuple)
    # Whose KV cache a serving engine keeps for this request (one per editor).
    kv_cache_key: str = "default"
    max_time_s: float | None = None  # then stop at the first line end (automatic triggers)
    token_healing: bool = True  # where the engine can keep to it (`Engine.can_heal`)


@dataclass
class Completion:
    text: str  # what to insert at the cursor, with the document's own line ends
    prompt: Prompt
    result: GenerationResult
    mode: Mode | None = None  # the policy's mode (None: completed without a document)
    raw: str = ""  # the model's answer before clean-up (LF)

    @property
    def healed(self) -> bool:
        """Whether the prompt was backed off before the partial word at the cursor."""
        return bool(self.prompt.heal_text)


def complete_in_document(engine: Engine, document: ParsedDocument, offset: int,
                         options: CompletionOptions, cancel: threading.Event | None = None,
                         snippets: SnippetSource | None = None,
                         decision: Decision | None = None) -> Completion | None:
    """Complete at character `offset` of `document`: the policy decides whether and how much
    (None: no suggestion here; `decision` where the caller has decided already), the prompt
    carries cross-file `snippets` (None: none), and the answer is cleaned up. An empty cleaned
    answer is None too. The document may be edited meanwhile (from another thread): the
    completion works on a snapshot taken first."""
    document = document.snapshot()
    text = document.text
    if not 0 <= offset <= len(text):
        raise UserError(f"cursor offset {offset} is outside the document "
                        f"({len(text)} characters)")
    if decision is None:
        decision = decide(text, offset, document)
    if decision.mode is Mode.NONE:
        return None
    built = _cursor_prompt(engine, document, offset, options, snippets)
    stop = list(options.stop)
    if decision.mode is Mode.LINE and "\n" not in stop:
        stop.append("\n")  # one line wanted: don't generate the next ones
    request = GenerationRequest(built.prompt.ids, options.max_new_tokens, options.temperature,
                                options.top_p, stop, seed=options.seed,
                                cache_key=options.kv_cache_key, max_time_s=options.max_time_s,
                                heal_text=built.prompt.heal_text)
    if cancel is not None:
        request.cancel = cancel
    result = engine.generate(request)
    context = document_cleanup_context(decision.mode, document, offset)
    cleaned = clean(result.text, context, result.stop_reason == StopReason.LENGTH)
    if cleaned is None or result.stop_reason == StopReason.CANCELLED:
        return None
    newline = detect_newline(text)
    shown = cleaned.replace("\n", newline) if newline != "\n" else cleaned
    return Completion(shown, built.prompt, result, decision.mode, to_lf(result.text))


def prefill_in_document(engine: Engine, document: ParsedDocument, offset: int,
                        options: CompletionOptions, cancel: threading.Event | None = None,
                        snippets: SnippetSource | None = None) -> int:
    """Compute ahead of time, into the KV cache under `options.kv_cache_key`, the prompt that
    `complete_in_document` would build for this cursor (so that a completion there computes
    only its tail); the engine gives way to any generation. Returns the ids computed."""
    document = document.snapshot()
    if not 0 <= offset <= len(document.text):
        raise UserError(f"cursor offset {offset} is outside the document "
                        f"({len(document.text)} characters)")
    built = _cursor_prompt(engine, document, offset, options, snippets)
    request = GenerationRequest(built.prompt.ids, options.max_new_tokens,
                                cache_key=options.kv_cache_key, heal_text=built.prompt.heal_text)
    if cancel is not None:
        request.cancel = cancel
    return engine.prefill(request)


def _cursor_prompt(engine: Engine, document: ParsedDocument, offset: int,
                   options: CompletionOptions, snippets: SnippetSource | None) -> DocumentPrompt:
    """The one prompt for a cursor: completions and their pre-warming must agree on it (healed
    where asked and the engine can keep to it: it then shares its start with the unhealed one,
    so a kept KV cache serves both)."""
    fmt = choose_format(engine.tokenizer, options.spm)
    return document_prompt(engine.tokenizer, document, offset, fmt, engine.context_window,
                           options.max_new_tokens, snippets,
                           heal=options.token_healing and engine.can_heal)
