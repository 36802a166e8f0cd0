"""The one scripted engine double: a real tokenizer, a model that answers what the test says.

It stands in for a 7B model where a test needs a sensible answer (the tiny random model answers
noise); the prompt, the tokenizer and everything after the engine stay real.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fim.engines.base import GenerationRequest, GenerationResult
from fim.engines.local import LoadOptions
from fim.tokenizer import Tokenizer


@dataclass
class ScriptedEngine:
    """Answers every request with `reply` (as decoded text) and `stop_reason`; records the
    requests. A cancelled request (its `cancel` set) answers "" with stop reason "cancelled"."""

    tokenizer: Tokenizer
    reply: str
    stop_reason: str = "eot"
    context_window: int = 4096
    requests: list[GenerationRequest] = field(default_factory=list)
    closed: bool = False

    def generate(self, request: GenerationRequest) -> GenerationResult:
        self.requests.append(request)
        if request.cancel.is_set():
            return GenerationResult("", "cancelled", len(request.prompt_ids), 0, 0.0, 0.0)
        generated = len(self.tokenizer.encode(self.reply)) if self.reply else 0
        return GenerationResult(self.reply, self.stop_reason, len(request.prompt_ids),
                                generated, 0.01, 0.02)

    def close(self) -> None:
        self.closed = True

    def opener(self):
        """An EnginePool opener that hands out this engine for every model."""
        def open_engine(engine: str, options: LoadOptions) -> ScriptedEngine:
            return self
        return open_engine
