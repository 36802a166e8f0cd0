"""What the server did since it started: suggestions shown, accepted, cancelled; latencies."""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field

_KEPT_LATENCIES = 10_000
_KEPT_ITEM_IDS = 1_000


def percentile(values: list[float], p: float) -> float | None:
    """The p-th percentile (0..100) by nearest rank, or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100), at least 1
    return ordered[int(rank) - 1]


@dataclass
class Stats:
    requests: int = 0
    shown: int = 0  # answers with at least one item
    items: int = 0
    accepted: int = 0  # items accepted whole (by the accept command or seen in the document)
    accepted_partial: int = 0  # items accepted in part (a word, a line)
    accepted_chars: int = 0  # characters of suggestions accepted, whole or in part
    accepted_from_changes: int = 0  # of `accepted`: seen in the document (no accept command)
    cancelled: int = 0  # by $/cancelRequest
    superseded: int = 0  # cancelled by a newer request for the same document
    cache_hits: int = 0
    prompt_tokens: int = 0  # of all generations
    reused_prompt_tokens: int = 0  # of those, covered by a kept KV cache
    generated_tokens: int = 0  # of all generations
    healed: int = 0  # generations whose prompt token healing backed off (cursor inside a word)
    forwarded: int = 0  # cache hits that served the rest of a suggestion being typed
    prewarms: int = 0  # pre-warms started (codellama/prewarm, didOpen)
    prewarmed_tokens: int = 0  # prompt ids they computed ahead of a completion
    latencies_ms: deque = field(default_factory=lambda: deque(maxlen=_KEPT_LATENCIES))
    engine_ms: deque = field(default_factory=lambda: deque(maxlen=_KEPT_LATENCIES))
    # per generated answer: the engine's time to its first token (prompt and one step)
    first_token_ms: deque = field(default_factory=lambda: deque(maxlen=_KEPT_LATENCIES))
    # per generated answer: the handler's time minus the engine's (prompt, threads, protocol)
    overhead_ms: deque = field(default_factory=lambda: deque(maxlen=_KEPT_LATENCIES))
    last_engine_ms: float | None = None  # the latest answer's time inside the engine
    last_first_token_ms: float | None = None  # and its time to the first token
    # The latest answer with items, for clients' info line: its item ids, milliseconds, tokens
    # generated, prompt ids (and those reused), and whether it came from the suggestion cache.
    last_answer: dict | None = None
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _open_items: OrderedDict = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def shown_items(self, texts: list[str]) -> list[int]:
        """Count an answer of these items; their ids, for the accept command's argument."""
        with self._lock:
            if texts:
                self.shown += 1
                self.items += len(texts)
            ids = [next(self._ids) for _ in texts]
            for item_id, text in zip(ids, texts):
                self._open_items[item_id] = (len(text), 0)  # length, accepted so far
            while len(self._open_items) > _KEPT_ITEM_IDS:
                self._open_items.popitem(last=False)
            return ids

    def accept(self, item_id: object, accepted_chars: object = None,
               from_changes: bool = False) -> bool:
        """Count what the user took of a shown item: all of it (`accepted_chars` None), or its
        first `accepted_chars` characters so far (a word, a line: editors report the running
        total). An item counts once as accepted whole and once as accepted in part."""
        if isinstance(accepted_chars, bool) or (
                accepted_chars is not None and not isinstance(accepted_chars, int)):
            return False
        with self._lock:
            if not isinstance(item_id, int) or isinstance(item_id, bool):
                return False
            if item_id not in self._open_items:
                return False
            length, before = self._open_items[item_id]
            total = length if accepted_chars is None else max(0, min(accepted_chars, length))
            if total <= before:
                return False
            self._open_items[item_id] = (length, total)
            if total >= length:
                del self._open_items[item_id]
                self.accepted += 1
                self.accepted_from_changes += from_changes
            elif before == 0:
                self.accepted_partial += 1
            self.accepted_chars += total - before
            return True

    def snapshot(self) -> dict:
        latencies, engine = list(self.latencies_ms), list(self.engine_ms)
        overhead, first = list(self.overhead_ms), list(self.first_token_ms)
        return {
            "requests": self.requests, "shown": self.shown, "items": self.items,
            "accepted": self.accepted, "accepted_partial": self.accepted_partial,
            "accepted_chars": self.accepted_chars,
            "accepted_from_changes": self.accepted_from_changes, "cancelled": self.cancelled,
            "superseded": self.superseded, "cache_hits": self.cache_hits,
            "forwarded": self.forwarded, "prompt_tokens": self.prompt_tokens,
            "reused_prompt_tokens": self.reused_prompt_tokens,
            "generated_tokens": self.generated_tokens, "healed": self.healed,
            "prewarms": self.prewarms, "prewarmed_tokens": self.prewarmed_tokens,
            "latency_ms": {"count": len(latencies), "p50": percentile(latencies, 50),
                           "p95": percentile(latencies, 95), "p99": percentile(latencies, 99)},
            "engine_ms": {"count": len(engine), "p50": percentile(engine, 50),
                          "p95": percentile(engine, 95)},
            "overhead_ms": {"p50": percentile(overhead, 50), "p95": percentile(overhead, 95)},
            "first_token_ms": {"count": len(first), "p50": percentile(first, 50),
                               "p95": percentile(first, 95)},
            "last_engine_ms": self.last_engine_ms,
            "last_first_token_ms": self.last_first_token_ms,
            "last_answer": self.last_answer,
        }
