"""The model's answer to an edit request, turned into replacement text for the selected lines.

The code is the first fenced block (preferring one tagged with the selection's language or not
tagged at all), else the whole reply. Context lines the model repeated around it are dropped,
its indentation is moved onto the selection's base indentation (tabs or spaces as the file has
them), and its lines get the file's line ends.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from codellama_lsp.errors import UserError
from codellama_lsp.syntax import languages
from fim.prompt import to_lf

_OPEN = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<tag>[^\s`]*)[^`]*$")


class NoUsableCode(UserError):
    """The reply held no code to put in place of the selection."""


@dataclass(frozen=True)
class ReplyCode:
    code: str  # LF line ends
    fenced: bool  # taken from a fenced block (else the whole reply)
    tag: str  # the block's language tag ("" where none)


@dataclass(frozen=True)
class Selection:
    """The selected lines and the context shown around them, LF-only, lines with their ends."""

    code: str
    before: str
    after: str
    newline: str  # the file's line end
    ends_with_newline: bool  # whether the selection's last line has a line end


def normal_tag(tag: str) -> str:
    """A fence tag as the edit prompt writes it ("py" -> "python")."""
    return languages.normal_fence_tag(tag)


def fenced_blocks(reply: str) -> list[tuple[str, str]]:
    """(tag, body) of each fenced block; an unclosed last block runs to the reply's end."""
    lines = to_lf(reply).split("\n")
    blocks = []
    index = 0
    while index < len(lines):
        match = _OPEN.match(lines[index])
        if not match:
            index += 1
            continue
        fence = match["fence"]
        close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        end = index + 1
        while end < len(lines) and not close.match(lines[end]):
            end += 1
        body = lines[index + 1:end]
        blocks.append((match["tag"], "\n".join(body) + "\n" if body else ""))
        index = end + 1
    return blocks


def extract_code(reply: str, language: str = "") -> ReplyCode:
    """The code of `reply`: the first fenced block in the selection's `language` or untagged,
    else the first fenced block, else the whole reply."""
    blocks = fenced_blocks(reply)
    wanted = normal_tag(language)
    for tag, body in blocks:
        if not tag or normal_tag(tag) == wanted:
            return ReplyCode(body, True, tag)
    if blocks:
        return ReplyCode(blocks[0][1], True, blocks[0][0])
    return ReplyCode(to_lf(reply), False, "")


def fit_reply(reply: str, selection: Selection, language: str = "") -> str:
    """Replacement text for the selected lines, from the model's `reply`."""
    lines = _trim_blank(_lines(extract_code(reply, language).code))
    selected = _lines(selection.code)
    before, after = _lines(selection.before), _lines(selection.after)
    lines = _trim_blank(drop_repeated_context(lines, before, after, selected))
    if not lines:
        raise NoUsableCode("the model's reply had no usable code")
    sample = [*selected, *before, *after]
    lines = fit_indentation(lines, base_indent(selected), uses_tabs(sample))
    text = selection.newline.join(lines)
    return text + selection.newline if selection.ends_with_newline else text


def _lines(text: str) -> list[str]:
    """Lines of LF `text` without their ends ("" has none)."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def _trim_blank(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _same(a: list[str], b: list[str]) -> bool:
    return len(a) == len(b) and all(x.strip() == y.strip() for x, y in zip(a, b))


def drop_repeated_context(lines: list[str], before: list[str], after: list[str],
                          selected: list[str]) -> list[str]:
    """`lines` without the context lines the model repeated at its start and end.

    A repeat is the longest run of the context next to the selection (compared without
    indentation) that holds some code; a run that the selection itself also begins (or ends)
    with is kept, as the model may just be keeping that code.
    """
    for k in range(min(len(before), len(lines)), 0, -1):
        head = lines[:k]
        if (_same(head, before[-k:]) and any(line.strip() for line in head)
                and not _same(head, selected[:k])):
            lines = lines[k:]
            break
    for k in range(min(len(after), len(lines)), 0, -1):
        tail = lines[-k:]
        if (_same(tail, after[:k]) and any(line.strip() for line in tail)
                and not _same(tail, selected[-k:])):
            lines = lines[:-k]
            break
    return lines


def leading_space(line: str) -> str:
    return line[:len(line) - len(line.lstrip(" \t"))]


def base_indent(lines: list[str]) -> str:
    """The indentation all non-blank `lines` share."""
    return os.path.commonprefix([leading_space(line) for line in lines if line.strip()])


def uses_tabs(lines: list[str]) -> bool:
    """Whether the code indents with tabs (most indented lines start with a tab)."""
    indents = [leading_space(line) for line in lines if line.strip() and leading_space(line)]
    return sum(i.startswith("\t") for i in indents) * 2 > len(indents)


def fit_indentation(lines: list[str], base: str, tabs: bool) -> list[str]:
    """`lines` re-indented: their shared indentation replaced by `base`, the rest kept, in tabs
    where the file uses tabs and spaces where it does not."""
    own = base_indent(lines)
    relative = [leading_space(line)[len(own):] for line in lines if line.strip()]
    unit = min((len(r) for r in relative if len(r) >= 2 and "\t" not in r), default=4)
    result = []
    for line in lines:
        if not line.strip():
            result.append("")
            continue
        rest = line[len(own):]
        indent = leading_space(rest)
        if tabs and indent and "\t" not in indent:
            width = len(indent)
            indent = "\t" * (width // unit) + " " * (width % unit)
        elif not tabs and "\t" in indent:
            indent = indent.expandtabs(4)
        result.append(base + indent + rest.lstrip(" \t"))
    return result
