"""What the user changed: the editor's changes kept as line hunks, per document and across
documents, and serialized as unified diffs for a prompt.

A change is trimmed to the characters it really changed, then widened to whole lines: a hunk is
the lines as they were (`old`) and as they are now (`new`), starting at `first_line`. A change
inside the lines of a document's latest hunk is merged into it (typing a word is one hunk, not a
hunk per key), and a hunk whose lines came back to what they were is dropped (typed, then
undone). Each document keeps its newest `per_document` hunks; the newest `documents` documents
are kept.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace

from codellama_lsp.edits.text_edits import split_lines
from codellama_lsp.next_edit.edit import changed_span
from fim.prompt import to_lf

PER_DOCUMENT = 16
DOCUMENTS = 32
OTHER_DOCUMENTS_HUNKS = 4  # hunks of other documents shown beside a document's own


@dataclass(frozen=True)
class Hunk:
    uri: str
    label: str  # the path shown in the diff's headers
    first_line: int  # 0-based: where `old` was and `new` now is
    old: str  # whole lines as they were, with their line ends
    new: str  # whole lines as they are now
    seq: int = 0  # when: a larger one is newer

    @property
    def new_line_count(self) -> int:
        return line_count(self.new)

    @property
    def old_line_count(self) -> int:
        return line_count(self.old)

    def diff(self) -> str:
        """The hunk as a unified diff (LF line ends), with its file headers."""
        old, new = split_lines(to_lf(self.old)), split_lines(to_lf(self.new))
        lines = [f"--- a/{self.label}\n", f"+++ b/{self.label}\n",
                 f"@@ -{_range(self.first_line, len(old))} "
                 f"+{_range(self.first_line, len(new))} @@\n"]
        lines += [f"-{_ended(line)}" for line in old] + [f"+{_ended(line)}" for line in new]
        return "".join(lines)


def line_count(text: str) -> int:
    """Lines of `text`, split at LF only as LSP counts them ("" has none)."""
    return len(split_lines(text))


def _range(first_line: int, count: int) -> str:
    start = first_line + 1 if count else first_line  # an empty side names the line before
    return str(start) if count == 1 else f"{start},{count}"


def _ended(line: str) -> str:
    return line if line.endswith("\n") else line + "\n"


def line_hunk(before: str, start: int, end: int, text: str) -> tuple[int, str, str] | None:
    """(first line, old lines, new lines) of one change, or None where it changes nothing."""
    start, end, text = changed_span(before, start, end, text)
    if start == end and not text:
        return None
    line_start = before.rfind("\n", 0, start) + 1
    newline = before.find("\n", end)
    line_end = len(before) if newline < 0 else newline + 1
    old = before[line_start:line_end]
    new = before[line_start:start] + text + before[end:line_end]
    return before.count("\n", 0, line_start), old, new


class EditHistory:
    """The hunks of the documents edited last. Used on one thread (the event loop); the hunks
    handed out are immutable."""

    def __init__(self, per_document: int = PER_DOCUMENT, documents: int = DOCUMENTS) -> None:
        self.per_document = per_document
        self.documents = documents
        self._hunks: OrderedDict[str, list[Hunk]] = OrderedDict()  # oldest document first
        self._seq = itertools.count(1)

    def record(self, uri: str, label: str, before: str, start: int, end: int,
               text: str) -> None:
        """The document `uri`, whose text was `before`, had `before[start:end]` replaced by
        `text`."""
        found = line_hunk(before, start, end, text)
        if found is None:
            return
        first_line, old, new = found
        hunks = self._hunks.setdefault(uri, [])
        self._hunks.move_to_end(uri)
        merged = _merge(hunks[-1], first_line, old, new) if hunks else None
        if merged is not None:
            hunks.pop()
            if merged.old != merged.new:
                hunks.append(replace(merged, seq=next(self._seq)))
        else:
            hunks.append(Hunk(uri, label, first_line, old, new, next(self._seq)))
        del hunks[:-self.per_document]
        if not hunks:
            del self._hunks[uri]
        while len(self._hunks) > self.documents:
            self._hunks.popitem(last=False)

    def latest(self, uri: str) -> Hunk | None:
        """The newest hunk of `uri`: its `new` lines stand at `first_line` in the document now."""
        hunks = self._hunks.get(uri)
        return hunks[-1] if hunks else None

    def recent(self, uri: str, others: int = OTHER_DOCUMENTS_HUNKS) -> list[Hunk]:
        """`uri`'s hunks and the newest `others` hunks of other documents, newest first."""
        own = list(self._hunks.get(uri, []))
        rest = sorted((h for key, hunks in self._hunks.items() if key != uri for h in hunks),
                      key=lambda h: h.seq, reverse=True)[:others]
        return sorted(own + rest, key=lambda h: h.seq, reverse=True)

    def forget(self, uri: str) -> None:
        self._hunks.pop(uri, None)

    def __len__(self) -> int:
        return sum(len(hunks) for hunks in self._hunks.values())


def _merge(last: Hunk, first_line: int, old: str, new: str) -> Hunk | None:
    """`last` with a change of its own lines folded in, or None where the change lies
    elsewhere."""
    relative = first_line - last.first_line
    if relative < 0 or relative + line_count(old) > last.new_line_count:
        return None
    lines = split_lines(last.new)
    offset = sum(len(line) for line in lines[:relative])
    if last.new[offset:offset + len(old)] != old:
        return None
    return replace(last, new=last.new[:offset] + new + last.new[offset + len(old):])


def render_diffs(hunks: list[Hunk], count: Callable[[str], int], budget: int) -> str:
    """The hunks' diffs, in the order given (newest first), as many as fit in `budget` tokens."""
    parts: list[str] = []
    used = 0
    for hunk in hunks:
        diff = hunk.diff()
        cost = count(diff)
        if used + cost > budget:
            break
        parts.append(diff)
        used += cost
    return "".join(parts)
