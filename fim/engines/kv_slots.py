"""KV cache slots: kept caches keyed by their user (a document, an edit, a worker user), least
recently used dropped beyond a number of slots or a budget of tokens.

A slot holds the ids its cache covers. The next request with the same key recomputes only from
the first id where its prompt differs (in SPM order typing at the cursor changes only the tail).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


@dataclass
class Slot:
    ids: list[int]
    cache: Any  # a transformers DynamicCache holding exactly `ids`


class SlotStore:
    """At most `capacity` slots holding at most `token_budget` ids together (None: no bound);
    a slot is taken out while its user's request runs."""

    def __init__(self, capacity: int, token_budget: int | None = None) -> None:
        self.capacity = capacity
        self.token_budget = token_budget
        self._slots: OrderedDict[str, Slot] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> Slot | None:
        """Remove and return `key`'s slot (None if it has none, or it is in use)."""
        with self._lock:
            return self._slots.pop(key, None)

    def put(self, key: str, slot: Slot) -> None:
        """Keep `slot` for `key`, dropping the least recently used beyond the bounds (the slot
        just put is kept even when it alone is over the token budget)."""
        if self.capacity <= 0:
            return
        with self._lock:
            self._slots[key] = slot
            self._slots.move_to_end(key)
            while len(self._slots) > 1 and self._over_bounds():
                self._slots.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._slots.clear()

    def keys(self) -> list[str]:
        """The keys held, least recently used first."""
        with self._lock:
            return list(self._slots)

    @property
    def tokens(self) -> int:
        return sum(len(slot.ids) for slot in self._slots.values())

    def _over_bounds(self) -> bool:
        if len(self._slots) > self.capacity:
            return True
        return self.token_budget is not None and self.tokens > self.token_budget

    def __len__(self) -> int:
        return len(self._slots)
