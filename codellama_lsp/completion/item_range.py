"""How much of the text right of the cursor a completion replaces.

Editors auto-close brackets and quotes: typing `print(` leaves `print(|)`. A completion
`"hi")` already contains that `)`, so its item must replace it, or accepting it gives `"hi"))`.
Only closing brackets, quotes and end-of-statement punctuation are taken over this way: matching
words right of the cursor against the completion's end would replace code by coincidence.
"""

from __future__ import annotations

import re

_CLOSERS = frozenset(")]}>\"'`;:, ")


def replaced_length(completion: str, rest_of_line: str) -> int:
    """Characters at the start of `rest_of_line` (the line right of the cursor) that the
    completion ends with, so that the item's range covers them; 0 for none."""
    completion = completion.rstrip(" \t")
    for length in range(len(rest_of_line), 0, -1):
        head = rest_of_line[:length]
        if head.endswith(" ") or not set(head) <= _CLOSERS:
            continue
        if completion.endswith(head):
            return length
    return 0


def rest_of_line(text: str, offset: int) -> str:
    """The text from `offset` to the end of its line (line end excluded)."""
    ends = [i for i in (text.find("\n", offset), text.find("\r", offset)) if i >= 0]
    return text[offset:min(ends)] if ends else text[offset:]


_WORD_END = re.compile(r"\w*\Z")


def word_before(text: str, offset: int) -> str:
    """The word characters right before `offset` (what editors replace with a completion item
    that has no range of its own)."""
    line_start = max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset)) + 1
    found = _WORD_END.search(text, line_start, offset)
    return found.group(0) if found else ""


def without_closers(completion: str, rest_of_line: str) -> str:
    """`completion` without the closing characters it ends with that are already right of the
    cursor (for an item inserted at the cursor, replacing nothing to its right)."""
    replaced = replaced_length(completion, rest_of_line)
    return completion.rstrip(" \t")[:-replaced] if replaced else completion
