"""Source files on disk and cursor locations in them (`FILE:LINE[:COL]`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from codellama_lsp.errors import UserError

MAX_FILE_BYTES = 10 * 1024 * 1024
_LOCATION = re.compile(r"^(?P<path>.+?):(?P<line>-?\d+)(?::(?P<col>-?\d+))?$")


@dataclass(frozen=True)
class Location:
    path: Path
    line: int  # 1-based
    column: int | None  # 1-based, in characters; None: end of the line


@dataclass(frozen=True)
class SourceFile:
    path: Path
    text: str  # as on disk, line ends included
    newline: str  # "\r\n" where the file uses CRLF, else "\n"


def parse_location(spec: str) -> Location:
    """`path:LINE[:COL]` (1-based) as a Location."""
    match = _LOCATION.match(spec)
    if not match:
        raise UserError(f"expected FILE:LINE[:COL], got {spec!r}")
    column = match["col"]
    return Location(Path(match["path"]), int(match["line"]), int(column) if column else None)


def read_source(path: Path) -> SourceFile:
    """Read a UTF-8 text file, refusing binaries and files too large to complete in."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    if len(data) > MAX_FILE_BYTES:
        raise UserError(f"{path}: file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    if b"\0" in data[:8192]:
        raise UserError(f"{path}: binary file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return SourceFile(path, text, detect_newline(text))


def detect_newline(text: str) -> str:
    """The file's line end: CRLF when most of its lines end so."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf * 2 >= text.count("\n") else "\n"


def cursor_offset(text: str, line: int, column: int | None) -> int:
    """Offset in `text` of 1-based `line` and character `column` (None: end of the line)."""
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()  # the empty string after the last newline is no line of its own
    if not lines:
        lines = [""]
    if not 1 <= line <= len(lines):
        raise UserError(f"line {line} is out of range (the file has {len(lines)} lines)")
    content = lines[line - 1].removesuffix("\r")
    if column is None:
        column = len(content) + 1
    if not 1 <= column <= len(content) + 1:
        raise UserError(f"column {column} is out of range (line {line} has "
                        f"{len(content)} characters)")
    start = sum(len(item) + 1 for item in lines[: line - 1])
    return start + column - 1
