"""Rename propagation: an identifier changed at one occurrence suggests the same change at the
other occurrences in its scope.

The latest hunk must change identifiers only, each from one name to another (`old` -> `new`,
the same pair each time); the changed token must be an identifier in the syntax tree. The scope
is the innermost function, class, lambda, ... around it (a definition's own name is looked for
around the definition), widened to the next one out while it holds no other occurrence of
`old`. Occurrences of `old` of the same role (a plain name, a member `x.old`, a keyword
argument `f(old=1)`) become `new`, in one edit that spans them (at most `MAX_SPAN_LINES` lines,
nearest the cursor first). Where `new` already names something else in that scope and no
earlier hunk made the same rename, the user switched to another name rather than renamed one:
no suggestion.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from tree_sitter import Node

from codellama_lsp.next_edit.edit import NextEdit, line_start
from codellama_lsp.next_edit.history import Hunk
from codellama_lsp.next_edit.nodes import (
    enclosing_scopes,
    identifiers,
    is_identifier,
    node_over,
    role,
    span_of,
)
from codellama_lsp.syntax.parsed import ParsedDocument

MAX_SPAN_LINES = 120
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")
_NAME = re.compile(r"[^\W\d]\w*")


@dataclass(frozen=True)
class Renaming:
    old: str
    new: str
    offsets: list[int]  # where `new` stands in the hunk's new lines (character offsets)


def renaming(hunk: Hunk) -> Renaming | None:
    """The one identifier renaming a hunk makes, if that is all it does."""
    old_tokens, new_tokens = _TOKEN.findall(hunk.old), _TOKEN.findall(hunk.new)
    matcher = difflib.SequenceMatcher(None, old_tokens, new_tokens, autojunk=False)
    pair: tuple[str, str] | None = None
    offsets = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag != "replace" or i2 - i1 != 1 or j2 - j1 != 1:
            return None
        changed = (old_tokens[i1], new_tokens[j1])
        if not all(_NAME.fullmatch(token) for token in changed) or pair not in (None, changed):
            return None
        pair = changed
        offsets.append(sum(len(token) for token in new_tokens[:j1]))
    if pair is None:
        return None
    return Renaming(pair[0], pair[1], offsets)


def rename_edit(document: ParsedDocument, hunks: list[Hunk], cursor: int) -> NextEdit | None:
    """The rest of the renaming that `hunks[0]` (the document's newest hunk; its lines stand
    at its `first_line` now) began; `hunks[1:]` are the document's older hunks."""
    if not hunks or document.tree is None:
        return None
    latest = hunks[0]
    found = renaming(latest)
    if found is None:
        return None
    base = line_start(document.text, latest.first_line)
    renamed = _renamed_node(document, base + found.offsets[0], found.new)
    if renamed is None:
        return None
    wanted = role(renamed)
    hunk_span = (base, base + len(latest.new))
    for scope in enclosing_scopes(renamed):
        others = [node for node in identifiers(document, scope, found.old)
                  if role(node) == wanted]
        if not others:
            continue
        if _names_something_else(document, scope, found, wanted, hunk_span) \
                and not _renamed_before(hunks[1:], found):
            return None
        return _covering_edit(document, others, found.new, cursor)
    return None


def _renamed_node(document: ParsedDocument, offset: int, name: str) -> Node | None:
    node = node_over(document, offset, offset + len(name))
    if node is None or not is_identifier(node) or span_of(document, node) != (
            offset, offset + len(name)):
        return None
    return node


def _names_something_else(document: ParsedDocument, scope: Node, found: Renaming,
                          wanted: tuple[str, str], hunk_span: tuple[int, int]) -> bool:
    """Whether `new` stands in the scope outside the latest hunk's lines."""
    for node in identifiers(document, scope, found.new):
        start, _ = span_of(document, node)
        if role(node) == wanted and not hunk_span[0] <= start < hunk_span[1]:
            return True
    return False


def _renamed_before(older: list[Hunk], found: Renaming) -> bool:
    for hunk in older:
        earlier = renaming(hunk)
        if earlier is not None and (earlier.old, earlier.new) == (found.old, found.new):
            return True
    return False


def _covering_edit(document: ParsedDocument, nodes: list[Node], new: str,
                   cursor: int) -> NextEdit:
    """One edit over the occurrences nearest the cursor that fit in `MAX_SPAN_LINES` lines."""
    text = document.text
    spans = sorted((span_of(document, node) for node in nodes),
                   key=lambda span: abs(span[0] - cursor))
    chosen = [spans[0]]
    for span in spans[1:]:
        low = min(s for s, _ in chosen + [span])
        high = max(e for _, e in chosen + [span])
        if text.count("\n", low, high) < MAX_SPAN_LINES:
            chosen.append(span)
    chosen.sort()
    start, end = chosen[0][0], chosen[-1][1]
    pieces = []
    position = start
    for span_start, span_end in chosen:
        pieces.append(text[position:span_start] + new)
        position = span_end
    return NextEdit(start, end, "".join(pieces), "rename")

