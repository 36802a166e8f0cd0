"""Old and new text of whole lines as minimal line edits (changed lines only) and a unified diff.

Positions are LSP's: 0-based lines, characters in UTF-16 code units unless another position
`Encoding` is asked for. Every edit starts at a line start; only an edit that reaches the end of
a file without a final newline ends inside a line.
All edits of one list refer to the original text, as LSP's `TextEdit[]` does.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from codellama_lsp.syntax.positions import Encoding, units


@dataclass(frozen=True)
class Position:
    line: int  # 0-based
    character: int  # code units of the position encoding (LSP's default: UTF-16)


@dataclass(frozen=True)
class TextEdit:
    start: Position
    end: Position
    new_text: str

    def as_lsp(self) -> dict:
        """The edit as an LSP `TextEdit` JSON object."""
        return {"range": {"start": vars(self.start), "end": vars(self.end)},
                "newText": self.new_text}


def split_lines(text: str) -> list[str]:
    """Lines with their ends kept; split at LF only (CRLF stays on its line; a lone CR or a
    form feed is no line break for editors that count lines as LSP does)."""
    lines = text.split("\n")
    last = lines.pop()
    result = [line + "\n" for line in lines]
    if last:
        result.append(last)
    return result


def code_units(text: str, encoding: Encoding = Encoding.UTF16) -> int:
    """Length of `text` in the code units of an LSP position encoding."""
    return units(text, Encoding(encoding))


def line_edits(old: str, new: str, first_line: int = 0,
               encoding: Encoding = Encoding.UTF16) -> list[TextEdit]:
    """Minimal edits turning `old` (whole lines starting at line `first_line`) into `new`;
    characters counted in the code units of position `encoding`."""
    old_lines, new_lines = split_lines(old), split_lines(new)
    # The common head and tail first: SequenceMatcher alone may pair a repeated line with the
    # wrong copy and turn one changed line into an insertion plus a deletion.
    head = 0
    while head < min(len(old_lines), len(new_lines)) and old_lines[head] == new_lines[head]:
        head += 1
    tail = 0
    while (tail < min(len(old_lines), len(new_lines)) - head
           and old_lines[-1 - tail] == new_lines[-1 - tail]):
        tail += 1
    old_middle = old_lines[head:len(old_lines) - tail]
    new_middle = new_lines[head:len(new_lines) - tail]
    matcher = difflib.SequenceMatcher(None, old_middle, new_middle, autojunk=False)
    edits = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        edits.append(TextEdit(_line_start(old_lines, head + i1, first_line, encoding),
                              _line_start(old_lines, head + i2, first_line, encoding),
                              "".join(new_middle[j1:j2])))
    return edits


def _line_start(lines: list[str], index: int, first_line: int, encoding: Encoding) -> Position:
    """Where line `index` of `lines` starts; past the last line, where the text ends."""
    if index < len(lines) or not lines or lines[-1].endswith("\n"):
        return Position(first_line + index, 0)
    return Position(first_line + len(lines) - 1, code_units(lines[-1], encoding))


def apply_edits(text: str, edits: list[TextEdit], encoding: Encoding = Encoding.UTF16) -> str:
    """`text` with `edits` applied (all positions refer to `text`, as in LSP)."""
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)

    def offset(position: Position) -> int:
        if position.line >= len(lines):
            return len(text)
        line = lines[position.line]
        units = 0
        for index, char in enumerate(line):
            if units >= position.character:
                return starts[position.line] + index
            units += code_units(char, encoding)
        return starts[position.line] + len(line)

    result = text
    for edit in sorted(edits, key=lambda e: (e.start.line, e.start.character), reverse=True):
        result = result[:offset(edit.start)] + edit.new_text + result[offset(edit.end):]
    return result


def unified_diff(old: str, new: str, path: str, context: int = 3) -> str:
    """A unified diff (`--- a/PATH`, `+++ b/PATH`) that `patch -p1` and `git apply` accept."""
    lines = difflib.unified_diff(split_lines(old), split_lines(new), f"a/{path}", f"b/{path}",
                                 n=context)
    out = []
    for line in lines:
        if line.endswith("\n"):
            out.append(line)
        else:  # the last line of a file without a final newline
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)
