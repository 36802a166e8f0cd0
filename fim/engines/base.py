"""The Engine protocol: token ids in, generated text out, whatever runs the model."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

from fim.tokenizer import Tokenizer


class EngineError(RuntimeError):
    """The model could not be loaded or could not generate."""


@dataclass
class GenerationRequest:
    prompt_ids: list[int]
    max_new_tokens: int = 128
    temperature: float = 0.0  # 0 means greedy
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    cancel: threading.Event = field(default_factory=threading.Event)
    seed: int | None = None
    # A key under which an engine may keep this caller's KV cache (one editor, one user).
    cache_key: str = "default"


@dataclass
class GenerationResult:
    text: str
    stop_reason: str  # "eot" | "eos" | "stop" | "length" | "cancelled"
    prompt_tokens: int
    generated_tokens: int
    time_to_first_token_s: float
    total_s: float
    reused_prompt_tokens: int = 0

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "stop_reason": self.stop_reason,
            "prompt_tokens": self.prompt_tokens,
            "generated_tokens": self.generated_tokens,
            "reused_prompt_tokens": self.reused_prompt_tokens,
            "time_to_first_token_ms": round(self.time_to_first_token_s * 1000, 2),
            "total_ms": round(self.total_s * 1000, 2),
        }


class Engine(Protocol):
    """Anything that turns prompt ids into a completion."""

    tokenizer: Tokenizer
    context_window: int

    def generate(self, request: GenerationRequest) -> GenerationResult: ...


def find_stop(text: str, stops: list[str]) -> int | None:
    """Index where the earliest stop string begins in `text`, if any."""
    hits = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return min(hits) if hits else None
