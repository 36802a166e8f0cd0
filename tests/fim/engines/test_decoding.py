"""The shared decoding parts: prompt-lookup drafts, incremental text, stop rules, cache slots."""

from __future__ import annotations

import time

import pytest

from fim.engines.base import StopReason
from fim.engines.decoding import StopRules, TextTail, lookup_draft
from fim.engines.kv_slots import Slot, SlotStore

pytestmark = pytest.mark.unit


def test_a_draft_copies_what_followed_the_last_ngram_earlier():
    ids = [5, 6, 7, 8, 9, 1, 2, 5, 6, 7]
    assert lookup_draft(ids, most=3) == [8, 9, 1]
    assert lookup_draft(ids, most=10) == [8, 9, 1, 2, 5, 6, 7]
    assert lookup_draft([1, 2, 3, 4], most=3) == []  # the last n-gram never occurred before
    assert lookup_draft(ids, most=0) == []


def test_incremental_text_equals_decoding_it_whole(tiny_engine):
    tokenizer = tiny_engine.tokenizer
    text = 'def f(x):\n    """Ünïcødé ☃ — émoji 🦙"""\n    return  x  +  1\n'
    ids = tokenizer.encode(text)
    tail = TextTail(tokenizer)
    pieces = [tail.add(token) for token in ids]
    assert tail.text == tokenizer.decode_infilling(ids)
    assert "".join(pieces) == tail.text
    assert all("\ufffd" not in piece for piece in pieces)


def test_stop_strings_are_found_across_token_boundaries(tiny_engine):
    tokenizer = tiny_engine.tokenizer
    ids = tokenizer.encode("alpha = beta\ngamma = delta\n")
    rules = StopRules(tokenizer, tokenizer.stop_ids(), ["a\ngam"], 100, time.perf_counter())
    reasons = [rules.accept(token) for token in ids]
    assert StopReason.STOP in reasons
    assert rules.text() == tokenizer.decode_infilling(ids).split("a\ngam")[0]


def test_past_the_time_cap_the_text_ends_at_the_next_line_end(tiny_engine):
    tokenizer = tiny_engine.tokenizer
    ids = tokenizer.encode("first = 1\nsecond = 2\n")
    rules = StopRules(tokenizer, tokenizer.stop_ids(), [], 100, time.perf_counter() - 1,
                      max_time_s=0.5)
    reasons = [rules.accept(token) for token in ids]
    assert StopReason.TIME in reasons
    assert rules.text().strip() == "first = 1"


def test_stop_reasons_keep_their_wire_values():
    assert [str(r) for r in StopReason][:5] == ["eot", "eos", "stop", "length", "time"]
    assert StopReason("cancelled") == "cancelled"


def test_slots_drop_the_least_recently_used_beyond_the_token_budget():
    store = SlotStore(capacity=8, token_budget=10)
    store.put("doc-a", Slot([1] * 4, None))
    store.put("edit", Slot([2] * 4, None))
    assert store.keys() == ["doc-a", "edit"]
    store.put("doc-b", Slot([3] * 4, None))  # 12 ids: doc-a, the oldest, goes
    assert store.keys() == ["edit", "doc-b"]
    store.put("huge", Slot([4] * 50, None))  # alone over the budget, but kept
    assert store.keys() == ["huge"]
