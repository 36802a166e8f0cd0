"""The suggestion cache: exact hits, forwarding while the user types a suggestion, LRU order."""

from __future__ import annotations

import pytest

from codellama_lsp.lsp.suggestion_cache import SuggestionCache

pytestmark = pytest.mark.unit


def test_exact_hit_and_a_different_key_misses():
    cache = SuggestionCache()
    cache.put("greedy", "def f(", ")\n", ["x, y"])
    assert cache.get("greedy", "def f(", ")\n").texts == ["x, y"]
    assert cache.get("sampled", "def f(", ")\n") is None
    assert cache.get("greedy", "def f(", ")\n\n") is None


def test_typing_the_start_of_a_suggestion_forwards_the_rest():
    cache = SuggestionCache()
    cache.put("k", "print(", ")", ['"hello")', "x)"])
    hit = cache.get("k", 'print("he', ")")
    assert hit.forwarded and hit.texts == ['llo")']
    assert cache.get("k", 'print("hx', ")") is None  # typed something else
    assert cache.get("k", 'print("hello")', ")") is None  # typed all of it: nothing left


def test_least_recently_used_entries_go_first():
    cache = SuggestionCache(capacity=2)
    cache.put("k", "a", "", ["1"])
    cache.put("k", "b", "", ["2"])
    cache.get("k", "a", "")
    cache.put("k", "c", "", ["3"])
    assert cache.get("k", "b", "") is None and cache.get("k", "a", "") is not None
    assert len(cache) == 2


def test_large_contexts_keep_fewer_entries():
    cache = SuggestionCache(capacity=10, max_chars=100)
    cache.put("k", "a" * 40, "", ["1"])
    cache.put("k", "b" * 40, "", ["2"])
    cache.put("k", "c" * 40, "", ["3"])  # 120 characters: the oldest goes
    assert cache.get("k", "a" * 40, "") is None and len(cache) == 2
    cache.put("k", "d" * 101, "", ["4"])  # larger than the whole cache: not kept
    assert cache.get("k", "d" * 101, "") is None and len(cache) == 2
