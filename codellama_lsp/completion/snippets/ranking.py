"""Which snippets a cursor gets, best first: definitions of the names used near it, weighed by
how near, and the regions edited recently."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from codellama_lsp.syntax.tags import Definition

NEAR_LINES_BEFORE = 40  # where "used near the cursor" looks
NEAR_LINES_AFTER = 8
RECENT_EDIT_CONTEXT = 3  # lines shown around a recent edit

_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


@dataclass(frozen=True)
class Snippet:
    path: str  # relative path shown in the comment's first line
    text: str
    source: str  # "definition" or "recent"
    file: str  # the file as the source knows it
    first_line: int
    last_line: int


Exclude = Callable[[Snippet], bool]


def names_near(text: str, offset: int) -> dict[str, float]:
    """Identifiers used near the cursor, weighted by how near (nearer lines weigh more)."""
    start = offset
    for _ in range(NEAR_LINES_BEFORE):
        start = text.rfind("\n", 0, start)
        if start < 0:
            start = 0
            break
    end = offset
    for _ in range(NEAR_LINES_AFTER):
        found = text.find("\n", end + 1)
        if found < 0:
            end = len(text)
            break
        end = found
    cursor_line = text.count("\n", start, offset)
    weights: dict[str, float] = {}
    for number, line in enumerate(text[start:end].split("\n")):
        distance = abs(number - cursor_line)
        for name in _IDENTIFIER.findall(line):
            if len(name) > 1:
                weights[name] = weights.get(name, 0.0) + 1.0 / (1 + distance)
    return weights


def recent_regions(edits: Sequence[tuple[str, int]], texts: Callable[[str], str | None],
                   relative: Callable[[str], str], exclude: Exclude) -> list[Snippet]:
    """The regions around recent edits ((path, line), oldest first), newest first; `texts`
    gives a file's current text (None: no longer open)."""
    found = []
    for path, line in reversed(edits):
        text = texts(path)
        if text is None:
            continue
        lines = text.split("\n")
        first = max(0, line - RECENT_EDIT_CONTEXT)
        last = min(len(lines) - 1, line + RECENT_EDIT_CONTEXT)
        region = "\n".join(lines[first:last + 1]).strip("\n")
        if not region.strip():
            continue
        snippet = Snippet(relative(path), region, "recent", path, first, last)
        if not exclude(snippet):
            found.append(snippet)
    return found


def rank(wanted: Mapping[str, float], sources: Sequence[Mapping[str, Sequence[Definition]]],
         recent: Sequence[Snippet], family: str, relative: Callable[[str], str],
         exclude: Exclude) -> list[Snippet]:
    """Definitions of the `wanted` names and the `recent` regions, best first.

    A definition weighs what the uses of its name weigh (`names_near`); ties go to the earlier
    of the `sources` (the current document, then open documents, then the workspace). A recent
    edit weighs 1 when newest, 1/2 before that, ... Only definitions of the `family` count
    (any, where it is empty); each place once.
    """
    found: list[tuple[float, int, Snippet]] = []
    seen: set[tuple[str, int]] = set()
    for order, definitions in enumerate(sources):
        for name, weight in wanted.items():
            for definition in definitions.get(name, ()):
                key = (definition.path, definition.first_line)
                if key in seen or (family and definition.family != family):
                    continue
                seen.add(key)
                snippet = Snippet(relative(definition.path), definition.text, "definition",
                                  definition.path, definition.first_line, definition.last_line)
                if not exclude(snippet):
                    found.append((-weight, order, snippet))
    for age, snippet in enumerate(recent):
        found.append((-1.0 / (1 + age), len(sources), snippet))
    found.sort(key=lambda item: (item[0], item[1]))
    return [snippet for _, _, snippet in found]
