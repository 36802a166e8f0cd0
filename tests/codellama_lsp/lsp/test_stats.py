"""What `codellama/stats` says was accepted, as editors report it."""

from __future__ import annotations

import pytest

from codellama_lsp.lsp.stats import Stats

pytestmark = pytest.mark.unit


def test_a_word_then_a_line_then_the_rest_is_one_partial_and_one_whole_accept():
    stats = Stats()
    (item,) = stats.shown_items(["total = a + b\nreturn total"])
    assert stats.accept(item, 5)  # "total": editors send the running total
    assert stats.accept(item, 13)  # the rest of the line
    assert not stats.accept(item, 13)  # told twice: counted once
    assert stats.accept(item)  # Tab: all of it
    snapshot = stats.snapshot()
    assert (snapshot["accepted"], snapshot["accepted_partial"]) == (1, 1)
    assert snapshot["accepted_chars"] == len("total = a + b\nreturn total")
    assert not stats.accept(item)  # a whole item is closed


def test_unknown_items_and_bad_lengths_count_nothing():
    stats = Stats()
    (item,) = stats.shown_items(["x"])
    assert not stats.accept(item + 1)
    assert not stats.accept(item, "3")
    assert not stats.accept(item, True)
    assert not stats.accept(item, 0)
    assert stats.snapshot()["accepted_chars"] == 0
