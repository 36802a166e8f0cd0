"""One completion: the prompt for a cursor, the engine's answer, and its line ends."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from codellama_lsp.context import prompt_for_cursor
from fim.engine import Engine, GenerationRequest, GenerationResult
from fim.prompt import Prompt, choose_format


@dataclass(frozen=True)
class CompletionOptions:
    max_new_tokens: int = 128
    temperature: float = 0.0
    top_p: float = 0.95
    spm: bool = False
    seed: int | None = None
    stop: tuple[str, ...] = field(default_factory=tuple)


@dataclass
class Completion:
    text: str  # what to insert at the cursor, with the document's own line ends
    prompt: Prompt
    result: GenerationResult


def complete(engine: Engine, prefix: str, suffix: str, options: CompletionOptions,
             newline: str = "\n", cancel: threading.Event | None = None) -> Completion:
    """Complete between `prefix` and `suffix` (document text, any line ends)."""
    fmt = choose_format(engine.tokenizer, options.spm)
    prompt = prompt_for_cursor(engine.tokenizer, prefix, suffix, fmt, engine.context_window,
                               options.max_new_tokens)
    request = GenerationRequest(prompt.ids, options.max_new_tokens, options.temperature,
                                options.top_p, list(options.stop), seed=options.seed)
    if cancel is not None:
        request.cancel = cancel
    result = engine.generate(request)
    text = result.text.replace("\n", newline) if newline != "\n" else result.text
    return Completion(text, prompt, result)
