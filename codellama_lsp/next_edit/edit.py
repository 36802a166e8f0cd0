"""One suggested edit: a range of a document's text and what replaces it."""

from __future__ import annotations

from dataclasses import dataclass

RULE_SOURCES = ("rename", "repeat")
MODEL_SOURCES = ("fim", "instruct")


@dataclass(frozen=True)
class NextEdit:
    start: int  # character offsets into the text the edit was computed on
    end: int
    text: str  # what replaces text[start:end]
    source: str  # "rename", "repeat", "fim" or "instruct"

    def apply(self, text: str) -> str:
        return text[:self.start] + self.text + text[self.end:]


def changed_span(before: str, start: int, end: int, text: str) -> tuple[int, int, str]:
    """`before[start:end] -> text` trimmed to the characters that really change."""
    old = before[start:end]
    head = 0
    limit = min(len(old), len(text))
    while head < limit and old[head] == text[head]:
        head += 1
    tail = 0
    while tail < limit - head and old[-1 - tail] == text[-1 - tail]:
        tail += 1
    return start + head, end - tail, text[head:len(text) - tail]


def minimal_edit(text: str, start: int, end: int, new: str, source: str) -> NextEdit | None:
    """`text[start:end] -> new` as the smallest edit that does the same; None where it changes
    nothing."""
    start, end, new = changed_span(text, start, end, new)
    if start == end and not new:
        return None
    return NextEdit(start, end, new, source)


def line_start(text: str, line: int) -> int:
    """The offset where 0-based `line` of `text` starts (the text's end past its last line)."""
    offset = 0
    for _ in range(line):
        found = text.find("\n", offset)
        if found < 0:
            return len(text)
        offset = found + 1
    return offset
