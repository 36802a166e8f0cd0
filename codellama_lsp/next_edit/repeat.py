"""Repeated edits: the transformation just applied to one line, suggested for the next similar
line (an argument added to a call is suggested for the next call of the same function).

The latest hunk must change one line into one line. Its change (the characters between the
common start and end) is first placed in the syntax tree: the smallest node around it that is
more than the change, its type and its head (the called function, the defined name), and where
in that node the change sits, counted from the node's start or its end, whichever is nearer.
Another node of the same type and head, with the same text on the anchored side and the changed
text at the same place, gets the same change. Without such a node (or a tree), the change
widened to whole words is looked for as words in the lines around. The nearest match after the
edited line is suggested, else the nearest before it, within `WINDOW_LINES` lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from codellama_lsp.next_edit.edit import NextEdit, changed_span, line_start, minimal_edit
from codellama_lsp.next_edit.history import Hunk
from codellama_lsp.next_edit.nodes import head, node_over, nodes_of_type, span_of
from codellama_lsp.syntax.parsed import ParsedDocument

WINDOW_LINES = 60
_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class LineChange:
    """One line's change: `old[start:end]` became `inserted` (offsets in the old line)."""

    old: str
    new: str
    start: int
    end: int
    inserted: str


def line_change(hunk: Hunk) -> LineChange | None:
    if hunk.old_line_count != 1 or hunk.new_line_count != 1:
        return None
    start, end, inserted = changed_span(hunk.old, 0, len(hunk.old), hunk.new)
    return LineChange(hunk.old, hunk.new, start, end, inserted)


def repeat_edit(document: ParsedDocument, hunk: Hunk) -> NextEdit | None:
    """The latest hunk's change applied to the next similar line of the document (where
    `hunk.new` now stands at `hunk.first_line`)."""
    change = line_change(hunk)
    if change is None:
        return None
    base = line_start(document.text, hunk.first_line)
    return (_structural(document, hunk, change, base)
            or _textual(document, hunk, change, base))


def _structural(document: ParsedDocument, hunk: Hunk, change: LineChange,
                base: int) -> NextEdit | None:
    start = base + change.start
    end = start + len(change.inserted)
    node = node_over(document, start, end)
    while node is not None and (node.child_count == 0 or span_of(document, node) == (start, end)):
        node = node.parent  # up to a node that holds more than the change
    if node is None or node.parent is None:
        return None
    text = document.text
    node_start, node_end = span_of(document, node)
    removed = change.old[change.start:change.end]
    from_end = node_end - end <= start - node_start
    if from_end:
        anchor, distance = text[end:node_end], node_end - end
    else:
        anchor, distance = text[node_start:start], start - node_start
    name = head(document, node)
    first = max(0, hunk.first_line - WINDOW_LINES)
    matches = []
    for other in nodes_of_type(document, node.type, first, hunk.first_line + WINDOW_LINES):
        other_start, other_end = span_of(document, other)
        if other_start < base + len(hunk.new) and other_end > base:
            continue  # the edited line itself
        if head(document, other) != name:
            continue
        if from_end:
            region_end = other_end - distance
            region_start = region_end - len(removed)
            done = text[region_start - len(change.inserted):region_start] == change.inserted
            same_anchor = text[region_end:other_end] == anchor
        else:
            region_start = other_start + distance
            region_end = region_start + len(removed)
            done = text[region_end:region_end + len(change.inserted)] == change.inserted
            same_anchor = text[other_start:region_start] == anchor
        if region_start < other_start or region_end > other_end or not same_anchor \
                or text[region_start:region_end] != removed or (not removed and done):
            continue
        edit = minimal_edit(text, region_start, region_end, change.inserted, "repeat")
        if edit is not None:
            matches.append(edit)
    return _nearest(matches, base)


def _textual(document: ParsedDocument, hunk: Hunk, change: LineChange,
             base: int) -> NextEdit | None:
    """The change widened to whole words, where those words stand on another line."""
    old, new = change.old, change.new
    left, right = change.start, change.end
    while left > 0 and _WORD.match(old[left - 1]):
        left -= 1
    while right < len(old) and _WORD.match(old[right]):
        right += 1
    old_words = old[left:right]
    new_words = new[left:right + len(new) - len(old)]
    if len(old_words.strip()) < 2 or old_words == new_words:
        return None
    pattern, done = _words(old_words), _words(new_words) if new_words.strip() else None
    text = document.text
    lines = text.split("\n")
    order = [*range(hunk.first_line + 1, min(len(lines), hunk.first_line + 1 + WINDOW_LINES)),
             *range(hunk.first_line - 1, max(-1, hunk.first_line - 1 - WINDOW_LINES), -1)]
    for number in order:
        line = lines[number]
        found = pattern.search(line)
        if found is None or (done is not None and done.search(line)):
            continue
        at = line_start(text, number) + found.start()
        edit = minimal_edit(text, at, at + len(old_words), new_words, "repeat")
        if edit is not None:
            return edit
    return None


def _words(words: str) -> re.Pattern[str]:
    """`words` where they stand as whole words."""
    return re.compile((r"\b" if _WORD.match(words[0]) else "") + re.escape(words)
                      + (r"\b" if _WORD.match(words[-1]) else ""))


def _nearest(edits: list[NextEdit], base: int) -> NextEdit | None:
    """The first edit after `base`, else the last one before it."""
    after = [edit for edit in edits if edit.start >= base]
    if after:
        return min(after, key=lambda edit: edit.start)
    return max(edits, key=lambda edit: edit.start, default=None)

