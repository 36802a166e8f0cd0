"""Fit the text around the cursor into a token budget, dropping whole far lines first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from fim.tokenizer import Tokenizer

PREFIX_SHARE = 0.75
TOKENS_PER_EDGE_LINE = 256  # a window's far edges fall on every (budget / 256)th line (Edges)


@dataclass(frozen=True)
class Edges:
    """Where the window may end: only where the lines dropped before the prefix (counted from
    the document's start) and after the suffix (from its end) are multiples of a step, one line
    per 256 tokens of budget (at most 16: up to about 4% of the budget left unused).

    A window that fills its budget exactly moves both far edges with every token typed: in SPM
    order a new suffix end, or in any order a new prefix start, recomputes the whole KV cache.
    Edges on every step-th line stay put while typing, and lines inserted at the cursor shift
    neither.
    """

    lines_before: int = 0  # document lines before the given prefix text
    lines_after: int = 0  # document lines after the given suffix text

    def step(self, budget: int) -> int:
        return max(1, min(16, budget // TOKENS_PER_EDGE_LINE))


@dataclass(frozen=True)
class Window:
    prefix: str
    suffix: str
    truncated: bool


def line_counter(tokenizer: Tokenizer) -> Callable[[str], int]:
    """A cached token count of one line: lines repeat from one keystroke to the next."""

    @lru_cache(maxsize=1 << 13)  # as many lines as the line tokenizer keeps (~1.5 MB)
    def count(line: str) -> int:
        return len(tokenizer.encode_infilling(line))

    return count


def fit_window(tokenizer: Tokenizer, prefix: str, suffix: str, budget: int,
               count: Callable[[str], int] | None = None,
               prefix_share: float = PREFIX_SHARE, edges: Edges = Edges()) -> Window:
    """The largest window around the cursor whose prefix and suffix ids fit in `budget`.

    The prefix gets `prefix_share` of the budget and the suffix the rest; a side that needs less
    gives its share to the other. Whole lines farthest from the cursor go first; the cursor's
    own line is kept whole (cut at its far ends only if it alone exceeds the budget).
    """
    if budget <= 0:
        return Window("", "", bool(prefix or suffix))
    # A token covers at least one byte; +1 for the implicit leading space.
    if len(prefix.encode()) + len(suffix.encode()) + 1 <= budget:
        return Window(prefix, suffix, False)
    count = count or line_counter(tokenizer)

    head, newline, cursor_part = prefix.rpartition("\n")
    pre_lines = [line + "\n" for line in head.split("\n")] if newline else []
    first, newline, tail = suffix.partition("\n")
    cursor_suffix = first + newline
    suf_lines = [line + "\n" for line in tail.split("\n")] if tail else []
    if suf_lines:
        suf_lines[-1] = suf_lines[-1][:-1]  # the file's last line has no newline of its own

    available = budget - count(cursor_part) - count(cursor_suffix) - 1
    if available < 0:
        return _cut_cursor_line(tokenizer, cursor_part, cursor_suffix, budget)

    pre_need = _need(pre_lines[::-1], count, available)
    suf_need = _need(suf_lines, count, available)
    pre_budget = int(available * prefix_share)
    if suf_need <= available - pre_budget:
        pre_budget = available - suf_need
    elif pre_need <= pre_budget:
        pre_budget = pre_need
    step = edges.step(budget)
    keep_pre = _on_edge(_take(pre_lines[::-1], count, pre_budget), len(pre_lines),
                        edges.lines_before, step)
    keep_suf = _take(suf_lines, count, available - _sum(pre_lines[::-1][:keep_pre], count))
    keep_suf = _on_edge(keep_suf, len(suf_lines), edges.lines_after, step)

    while True:
        window_prefix = "".join(pre_lines[len(pre_lines) - keep_pre:]) + cursor_part
        window_suffix = cursor_suffix + "".join(suf_lines[:keep_suf])
        total = (len(tokenizer.encode(window_prefix))
                 + len(tokenizer.encode_infilling(window_suffix)))
        if total <= budget or keep_pre + keep_suf == 0:
            break
        # Lines merge across boundaries a little differently from the per-line counts.
        if keep_pre >= keep_suf * 3:
            keep_pre = _on_edge(keep_pre - 1, len(pre_lines), edges.lines_before, step)
        else:
            keep_suf = _on_edge(keep_suf - 1, len(suf_lines), edges.lines_after, step)
    if total > budget:
        return _cut_cursor_line(tokenizer, cursor_part, cursor_suffix, budget)
    truncated = keep_pre < len(pre_lines) or keep_suf < len(suf_lines)
    return Window(window_prefix, window_suffix, truncated)


def _on_edge(keep: int, total: int, dropped: int, step: int) -> int:
    """The most lines, at most `keep` of `total`, whose far edge is on a `step`-th line (the
    lines dropped, `dropped` beyond the given ones, a multiple of `step`), or 0."""
    keep -= (keep - total - dropped) % step
    return max(keep, 0)


def _need(lines: list[str], count: Callable[[str], int], cap: int) -> int:
    """Tokens of `lines`, counted only up to just past `cap`."""
    total = 0
    for line in lines:
        total += count(line)
        if total > cap:
            break
    return total


def _take(lines: list[str], count: Callable[[str], int], budget: int) -> int:
    """How many of `lines` (nearest first) fit in `budget`."""
    used = 0
    for taken, line in enumerate(lines):
        used += count(line)
        if used > budget:
            return taken
    return len(lines)


def _sum(lines: list[str], count: Callable[[str], int]) -> int:
    return sum(count(line) for line in lines)


def _cut_cursor_line(tokenizer: Tokenizer, before: str, after: str, budget: int) -> Window:
    """Last resort for a line longer than the whole budget (minified code): cut its far ends."""
    while before or after:
        total = len(tokenizer.encode(before)) + len(tokenizer.encode_infilling(after))
        if total <= budget:
            break
        if len(before) * 3 >= len(after):
            before = before[len(before) // 4 + 1:]
        else:
            after = after[: len(after) * 3 // 4]
    return Window(before, after, True)
