"""KV cache slots: one kept cache per user (editor), a bounded number, least recently used out.

A slot holds the ids its cache covers. The next request of the same user recomputes only from the
first id where its prompt differs (in SPM order typing at the cursor changes only the tail).
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
    """At most `capacity` slots; a slot is taken out while its user's request runs."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._slots: OrderedDict[str, Slot] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> Slot | None:
        """Remove and return `key`'s slot (None if it has none, or it is in use)."""
        with self._lock:
            return self._slots.pop(key, None)

    def put(self, key: str, slot: Slot) -> None:
        """Keep `slot` for `key`, dropping the least recently used beyond capacity."""
        if self.capacity <= 0:
            return
        with self._lock:
            self._slots[key] = slot
            self._slots.move_to_end(key)
            while len(self._slots) > self.capacity:
                self._slots.popitem(last=False)

    def __len__(self) -> int:
        return len(self._slots)


def common_prefix(a: list[int], b: list[int]) -> int:
    """How many leading ids `a` and `b` share."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n
