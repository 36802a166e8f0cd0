"""What to complete at a cursor: nothing, one line, one statement, or a block. The rules, in
the order they are tried (the README has them as a table):

| # | where the cursor is                                          | mode      |
|---|--------------------------------------------------------------|-----------|
| 1 | a word character right of the cursor (in or before a word)   | none      |
| 2 | inside a string or a comment (by the tree)                   | line      |
| 3 | mid-line: text other than whitespace right of the cursor     | line      |
| 4 | an empty line that starts an empty block (the line above      | block     |
|   | opens a block, none of whose lines follow) or ends the text   |           |
| 5 | an empty line above lines indented deeper than the line above | line      |
|   | it (what is missing is their block's header)                  |           |
| 6 | any other empty line (between statements)                     | statement |
| 7 | end of a line that opens a block (`:` of a Python compound    | block     |
|   | statement, `{`, `case ...:`, Bash `then`/`do`)               |           |
| 8 | end of any other line                                        | line      |

Between statements the suggestion is one statement (a compound one with its body), as Copilot
offers several lines only at the start of an empty block: a run of lines there mostly repeats
or contradicts the code that follows.

Without a tree (unknown language, very large file) rule 2 is skipped and a Python header over
several lines is not seen to open a block; the others read the text.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from codellama_lsp.syntax.parsed import ParsedDocument


class Mode(str, enum.Enum):
    NONE = "none"
    LINE = "line"
    STATEMENT = "statement"
    BLOCK = "block"


@dataclass(frozen=True)
class Decision:
    mode: Mode
    reason: str


_WORD = re.compile(r"\w")
_NON_BLANK = re.compile(r"\S")
_PY_BLOCK_START = re.compile(r"^(async\s+)?(def|class|if|elif|else|for|while|try|except|finally|"
                             r"with|match|case)\b")
_PY_COMPOUND = {"function_definition", "class_definition", "if_statement", "elif_clause",
                "else_clause", "for_statement", "while_statement", "try_statement",
                "except_clause", "finally_clause", "with_statement", "match_statement",
                "case_clause", "except_group_clause"}
_C_CASE = re.compile(r"^(case\b.*|default\s*):$")
_BASH_OPENERS = ("then", "do", "else", "{", "in")
# Inside these the text is code again, even within a string.
_CODE_IN_STRING = {"interpolation", "template_substitution", "string_interpolation"}


def decide(text: str, offset: int, document: ParsedDocument | None = None) -> Decision:
    """The mode for a cursor at character `offset` of `text` (the document's text)."""
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    line_end = len(text) if line_end < 0 else line_end
    before = text[line_start:offset]
    after = text[offset:line_end].rstrip("\r")
    if after[:1] and _WORD.match(after[0]):
        return Decision(Mode.NONE, "word characters right of the cursor")
    if document is not None and in_string_or_comment(document, offset):
        return Decision(Mode.LINE, "inside a string or comment")
    if after.strip():
        return Decision(Mode.LINE, "mid-line")
    language = document.language.name if document and document.language else None
    if not before.strip():
        return _empty_line(text, line_start, line_end, language, document)
    if opens_block(before, language, document, offset):
        return Decision(Mode.BLOCK, "after a line that opens a block")
    return Decision(Mode.LINE, "end of a line")


def _empty_line(text: str, line_start: int, line_end: int, language: str | None,
                document: ParsedDocument | None) -> Decision:
    """Rules 4 to 6 (an empty line)."""
    below = _NON_BLANK.search(text, line_end)
    if below is None:
        return Decision(Mode.BLOCK, "empty line at the end of the text")
    above, above_end = _without_comment(*_line_above(text, line_start), document)
    next_line = text[text.rfind("\n", 0, below.start()) + 1:below.start()]
    deeper = bool(above) and _indent_width(next_line) > _indent_width(above)
    if above and opens_block(above, language, document, above_end):
        if not deeper:
            return Decision(Mode.BLOCK, "empty line that starts an empty block")
    elif deeper:
        return Decision(Mode.LINE, "empty line above lines indented deeper: their header")
    return Decision(Mode.STATEMENT, "empty line between statements")


def _line_above(text: str, line_start: int) -> tuple[str, int]:
    """The nearest non-blank line above the line starting at `line_start` (trailing
    whitespace off; "" for none) and where it ends, read back line by line: the cost is the
    distance, not the text's size."""
    end = line_start - 1
    while end >= 0:
        start = text.rfind("\n", 0, end) + 1
        line = text[start:end].rstrip()
        if line.strip():
            return line, start + len(line)
        end = start - 1
    return "", 0


def _without_comment(line: str, end: int,
                     document: ParsedDocument | None) -> tuple[str, int]:
    """The line (ending at character `end`) without a comment at its end, by the tree (`if x:
    # why` opens a block); as it is without a tree."""
    if document is None or document.tree is None or not line:
        return line, end
    at = document.byte_offset(end)
    node = document.tree.root_node.descendant_for_byte_range(at - 1, at)
    if node is None or "comment" not in node.type:
        return line, end
    start = end - len(line)
    code = document.text[start:max(start, document.char_offset(node.start_byte))].rstrip()
    return code, start + len(code)


def _indent_width(line: str) -> int:
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    return indent.count(" ") + 8 * indent.count("\t")


def in_string_or_comment(document: ParsedDocument, offset: int) -> bool:
    """Whether the cursor is inside a string or comment node (not in an interpolation)."""
    if document.tree is None:
        return False
    at = document.byte_offset(offset)
    node = document.tree.root_node.descendant_for_byte_range(max(at - 1, 0), at)
    while node is not None:
        kind = node.type
        if kind in _CODE_IN_STRING:
            return False
        if "comment" in kind:
            # A line comment runs to the line's end, which is where its node ends.
            text = document.text
            closed = text[document.char_offset(node.end_byte) - 2:
                          document.char_offset(node.end_byte)] == "*/"
            if node.start_byte < at < node.end_byte or (at == node.end_byte and not closed):
                return True
        elif ("string" in kind or kind in {"char_literal", "character_literal", "heredoc_body"}) \
                and node.start_byte < at < node.end_byte:
            return True
        node = node.parent
    return False


def opens_block(before: str, language: str | None, document: ParsedDocument | None = None,
                offset: int = 0) -> bool:
    """Whether the line's text left of the cursor ends by opening a block."""
    stripped = before.strip()
    if language == "python":
        if not stripped.endswith(":"):
            return False
        if _PY_BLOCK_START.match(stripped):
            return True
        return _python_colon_opens(document, offset - (len(before) - len(before.rstrip())) - 1)
    if language == "bash":
        words = re.split(r"[\s;]+", stripped)
        return bool(words) and words[-1] in _BASH_OPENERS
    if stripped.endswith("{"):
        return True
    if stripped.endswith(":") and _C_CASE.match(stripped):
        return True
    if language is None:
        # No syntax: a colon that ends a line opens a block in the indentation languages.
        return stripped.endswith(":") and bool(_PY_BLOCK_START.match(stripped))
    return False


def _python_colon_opens(document: ParsedDocument | None, colon: int) -> bool:
    """A `:` ending a multi-line `def`/`if` header: ask the tree whose colon it is."""
    if document is None or document.tree is None or colon < 0:
        return False
    at = document.byte_offset(colon)
    node = document.tree.root_node.descendant_for_byte_range(at, at + 1)
    return node is not None and node.type == ":" and node.parent is not None \
        and node.parent.type in _PY_COMPOUND
