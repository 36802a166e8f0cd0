"""The token budget: what fits, what is dropped first, and what is never cut."""

from __future__ import annotations

import pytest

from codellama_lsp.completion.cursor_prompt import prompt_for_cursor
from fim.budget import fit_window
from fim.prompt import FimFormat
from fim.tokenizer import load_tokenizer

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def tok(tiny_model):
    return load_tokenizer(tiny_model)


def _size(tok, window) -> int:
    return len(tok.encode(window.prefix)) + len(tok.encode_infilling(window.suffix))


def _lines(n: int, tag: str) -> str:
    return "".join(f"{tag}_{i} = compute({i}, value)\n" for i in range(n))


def test_small_text_is_untouched(tok):
    window = fit_window(tok, "a = 1\nb = ", "2\n", 1000)
    assert (window.prefix, window.suffix, window.truncated) == ("a = 1\nb = ", "2\n", False)


@pytest.mark.parametrize("budget", [60, 150, 400])
def test_window_fits_and_drops_far_whole_lines(tok, budget):
    prefix = _lines(200, "before") + "    result = comp"
    suffix = "ute(x)\n" + _lines(200, "after")
    window = fit_window(tok, prefix, suffix, budget)
    assert window.truncated
    assert _size(tok, window) <= budget
    assert prefix.endswith(window.prefix) and suffix.startswith(window.suffix)
    # Whole lines only: the kept prefix starts a line, the kept suffix ends one.
    assert window.prefix == prefix or prefix[-len(window.prefix) - 1] == "\n"
    assert window.suffix.endswith("\n")
    assert window.prefix.endswith("    result = comp") and window.suffix.startswith("ute(x)\n")


def test_prefix_gets_three_quarters(tok):
    window = fit_window(tok, _lines(300, "b"), _lines(300, "a"), 400)
    pre, suf = len(tok.encode(window.prefix)), len(tok.encode_infilling(window.suffix))
    assert 0.65 <= pre / (pre + suf) <= 0.85


def test_short_suffix_gives_its_share_to_the_prefix(tok):
    suffix = "\nprint(x)\n"
    window = fit_window(tok, _lines(300, "b"), suffix, 400)
    assert window.suffix == suffix
    assert _size(tok, window) > 350


def test_short_prefix_gives_its_share_to_the_suffix(tok):
    prefix = "import os\n"
    window = fit_window(tok, prefix, _lines(300, "a"), 400)
    assert window.prefix == prefix
    assert _size(tok, window) > 350


def test_cursor_line_is_kept_whole(tok):
    long_line = "x = [" + ", ".join(str(i) for i in range(20))
    window = fit_window(tok, _lines(50, "b") + long_line, "]\n" + _lines(50, "a"), 120)
    assert window.prefix.endswith(long_line) and window.suffix.startswith("]\n")
    assert _size(tok, window) <= 120


def test_line_longer_than_budget_is_cut_at_its_far_ends(tok):
    minified = "var a=" + "f(1);" * 500
    window = fit_window(tok, minified, ";g(2)" * 200, 100)
    assert _size(tok, window) <= 100
    assert minified.endswith(window.prefix) and window.prefix


def test_prompt_plus_answer_fits_context_window(tok):
    prefix, suffix = _lines(2000, "b"), _lines(2000, "a")
    for fmt in (FimFormat.PSM, FimFormat.SPM):
        prompt = prompt_for_cursor(tok, prefix, suffix, fmt, 1024, 128)
        assert len(prompt.ids) + 128 <= 1024
        assert len(prompt.ids) > 800  # the budget is used, not wasted
