"""Recent suggestions: an LRU keyed by the text around the cursor, with forwarding.

Forwarding: when the user types characters that match the start of a suggestion on screen, the
new prefix is an old prefix plus those characters and the suffix is unchanged; the rest of the
suggestion is the answer, with no model call.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class CacheHit:
    texts: list[str]
    forwarded: bool  # True: the rest of an earlier suggestion the user is typing


class SuggestionCache:
    """At most `capacity` entries and `max_chars` characters of kept context (large documents
    keep fewer entries rather than much memory)."""

    def __init__(self, capacity: int = 64, max_chars: int = 8_000_000) -> None:
        self.capacity = capacity
        self.max_chars = max_chars
        self._chars = 0
        self._entries: OrderedDict[tuple[str, str, str], list[str]] = OrderedDict()

    def put(self, key: str, prefix: str, suffix: str, texts: list[str]) -> None:
        """Remember `texts` (non-empty suggestions) for this cursor context and `key` (the
        settings that shape an answer)."""
        entry = (key, prefix, suffix)
        if not texts or len(prefix) + len(suffix) > self.max_chars:
            return
        if entry not in self._entries:
            self._chars += len(prefix) + len(suffix)
        self._entries[entry] = list(texts)
        self._entries.move_to_end(entry)
        while len(self._entries) > self.capacity or self._chars > self.max_chars:
            (_, old_prefix, old_suffix), _ = self._entries.popitem(last=False)
            self._chars -= len(old_prefix) + len(old_suffix)

    def get(self, key: str, prefix: str, suffix: str) -> CacheHit | None:
        exact = self._entries.get((key, prefix, suffix))
        if exact is not None:
            self._entries.move_to_end((key, prefix, suffix))
            return CacheHit(list(exact), forwarded=False)
        for (old_key, old_prefix, old_suffix), texts in reversed(self._entries.items()):
            if old_key != key or old_suffix != suffix or len(old_prefix) >= len(prefix) \
                    or not prefix.startswith(old_prefix):
                continue
            typed = prefix[len(old_prefix):]
            rest = [t[len(typed):] for t in texts if t.startswith(typed) and len(t) > len(typed)]
            if rest:
                return CacheHit(rest, forwarded=True)
        return None

    def clear(self) -> None:
        self._entries.clear()
        self._chars = 0

    def __len__(self) -> int:
        return len(self._entries)
