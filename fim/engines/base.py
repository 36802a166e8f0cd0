"""The Engine protocol: token ids in, generated text out, whatever runs the model."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from fim.tokenizer import Tokenizer


class EngineError(RuntimeError):
    """The model could not be loaded or could not generate."""


class StopReason(str, Enum):
    """Why a generation ended; the values are what JSON and the wire carry."""

    EOT = "eot"  # the model ended the infilling
    EOS = "eos"
    STOP = "stop"  # a stop string
    LENGTH = "length"  # max_new_tokens
    TIME = "time"  # the request's time cap, at the first line end after it
    CANCELLED = "cancelled"
    ERROR = "error"  # the worker's generation failed (a stream's last word)

    def __str__(self) -> str:
        return self.value


@dataclass
class GenerationRequest:
    prompt_ids: list[int]
    max_new_tokens: int = 128
    temperature: float = 0.0  # 0 means greedy
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    cancel: threading.Event = field(default_factory=threading.Event)
    seed: int | None = None
    # A key under which an engine may keep this caller's KV cache (one document, one user).
    cache_key: str = "default"
    # After this many seconds, stop at the first line end (automatic triggers); None: no cap.
    max_time_s: float | None = None
    # Token healing: the text the prompt's end was backed off by (`Prompt.heal_text`). The first
    # generated pieces must spell it; an engine returns the text after it.
    heal_text: str = ""


@dataclass
class GenerationResult:
    text: str
    stop_reason: StopReason
    prompt_tokens: int
    generated_tokens: int
    time_to_first_token_s: float
    total_s: float
    reused_prompt_tokens: int = 0

    def __post_init__(self) -> None:
        self.stop_reason = StopReason(self.stop_reason)  # a plain string from a caller or a wire

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "stop_reason": str(self.stop_reason),
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
    # Whether it keeps to `GenerationRequest.heal_text`; where not, prompts are not healed.
    can_heal: bool

    def generate(self, request: GenerationRequest) -> GenerationResult: ...

    def prefill(self, request: GenerationRequest) -> int:
        """Compute `request`'s prompt into its kept cache ahead of time, at low priority (any
        generation or `request.cancel` stops it); return how many ids it computed. Engines
        that keep no cache here do nothing and return 0."""
        ...

    def close(self) -> None:
        """Release what the engine holds (caches, connections); it is not used afterwards."""
        ...


def find_stop(text: str, stops: list[str]) -> int | None:
    """Index where the earliest stop string begins in `text`, if any."""
    hits = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return min(hits) if hits else None
