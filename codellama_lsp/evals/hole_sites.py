"""Where holes can be cut from a source file, for the evaluations that cut them
(`codellama eval truncation`, `codellama eval holes`)."""

from __future__ import annotations

from collections.abc import Iterator

from codellama_lsp.syntax.parsed import BODY_TYPES, ParsedDocument


def _nodes(document: ParsedDocument, named_only: bool) -> Iterator:
    """Every node of the document's syntax tree (none without a tree), depth first."""
    if document.tree is None:
        return
    stack = [document.tree.root_node]
    while stack:
        node = stack.pop()
        stack.extend(node.named_children if named_only else node.children)
        yield node


def line_candidates(text: str) -> list[list[tuple[int, int]]]:
    """For each line with at least two non-blank characters: its possible (start, end) holes."""
    found = []
    position = 0
    for line in text.split("\n"):
        content = line.rstrip()
        indent = len(content) - len(content.lstrip())
        if len(content) - indent >= 2:
            found.append([(position + col, position + len(content))
                          for col in range(indent, len(content))])
        position += len(line) + 1
    return found


def block_candidates(document: ParsedDocument) -> list[tuple[int, int, int]]:
    """Statements and members that begin their line: (start, end) character offsets, and
    where the text after their enclosing body's last statement begins."""
    text = document.text
    found: list[tuple[int, int, int]] = []
    for node in _nodes(document, named_only=True):
        parent = node.parent
        if parent is None or parent.type not in BODY_TYPES or "comment" in node.type:
            continue
        if not node.is_named or node.type in ("ERROR", "statement_list") or node.has_error:
            continue
        start = document.char_offset(node.start_byte)
        end = document.char_offset(node.end_byte)
        line_start = text.rfind("\n", 0, start) + 1
        if end > start and not text[line_start:start].strip():
            last = parent.named_children[-1]
            found.append((start, end, max(end, document.char_offset(last.end_byte))))
    found.sort()
    return found


def word_candidates(document: ParsedDocument) -> list[tuple[int, int, int]]:
    """Identifiers of at least two characters (the syntax tree's leaves whose type names an
    identifier): their (start, end) character offsets and where their line's text ends."""
    text = document.text
    found: list[tuple[int, int, int]] = []
    for node in _nodes(document, named_only=False):
        if node.children or not node.type.endswith("identifier"):
            continue
        start = document.char_offset(node.start_byte)
        end = document.char_offset(node.end_byte)
        word = text[start:end]
        if len(word) >= 2 and "\n" not in word and word.isidentifier():
            line_end = text.find("\n", end)
            line_end = len(text) if line_end < 0 else line_end
            found.append((start, end, len(text[:line_end].rstrip())))
    found.sort()
    return found
