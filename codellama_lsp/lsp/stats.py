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
    accepted: int = 0
    cancelled: int = 0  # by $/cancelRequest
    superseded: int = 0  # cancelled by a newer request for the same document
    cache_hits: int = 0
    prompt_tokens: int = 0  # of all generations
    reused_prompt_tokens: int = 0  # of those, covered by a kept KV cache
    forwarded: int = 0  # cache hits that served the rest of a suggestion being typed
    latencies_ms: deque = field(default_factory=lambda: deque(maxlen=_KEPT_LATENCIES))
    engine_ms: deque = field(default_factory=lambda: deque(maxlen=_KEPT_LATENCIES))
    # per generated answer: the handler's time minus the engine's (prompt, threads, protocol)
    overhead_ms: deque = field(default_factory=lambda: deque(maxlen=_KEPT_LATENCIES))
    last_engine_ms: float | None = None  # the latest answer's time inside the engine
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _open_items: OrderedDict = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def shown_items(self, count: int) -> list[int]:
        """Count an answer of `count` items; their ids, for the accept command's argument."""
        with self._lock:
            if count:
                self.shown += 1
                self.items += count
            ids = [next(self._ids) for _ in range(count)]
            for item_id in ids:
                self._open_items[item_id] = True
            while len(self._open_items) > _KEPT_ITEM_IDS:
                self._open_items.popitem(last=False)
            return ids

    def accept(self, item_id: object) -> bool:
        """Count the acceptance of a shown item, once per item."""
        with self._lock:
            if not isinstance(item_id, int) or self._open_items.pop(item_id, None) is None:
                return False
            self.accepted += 1
            return True

    def snapshot(self) -> dict:
        latencies, engine = list(self.latencies_ms), list(self.engine_ms)
        overhead = list(self.overhead_ms)
        return {
            "requests": self.requests, "shown": self.shown, "items": self.items,
            "accepted": self.accepted, "cancelled": self.cancelled,
            "superseded": self.superseded, "cache_hits": self.cache_hits,
            "forwarded": self.forwarded, "prompt_tokens": self.prompt_tokens,
            "reused_prompt_tokens": self.reused_prompt_tokens,
            "latency_ms": {"count": len(latencies), "p50": percentile(latencies, 50),
                           "p95": percentile(latencies, 95), "p99": percentile(latencies, 99)},
            "engine_ms": {"count": len(engine), "p50": percentile(engine, 50),
                          "p95": percentile(engine, 95)},
            "overhead_ms": {"p50": percentile(overhead, 50), "p95": percentile(overhead, 95)},
            "last_engine_ms": self.last_engine_ms,
        }
