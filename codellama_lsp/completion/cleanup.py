"""Clean-up of a model's answer before a user sees it: each rule a small pure function.

Code Llama often runs past the hole and repeats the code after the cursor; a suggestion that
duplicates the next lines or closes a bracket twice is worse than none. `clean` applies the
rules in order:

0. a control character (NUL, escape, ...: no code holds one, and some editors' JSON parsers
   refuse the whole answer for it) ends the answer;
1. one line (mode `line`) stops at the first newline;
2. a block (mode `block`) drops the lines from where they repeat the suffix's next lines, then
   stops where the enclosing scope ends (by the tree where there is one, else by indentation);
   one statement (mode `statement`) does the same and also stops where its first statement
   ends (a compound statement with its body; by the tree, else by indentation and brackets);
   where the statement or scope cut shortened it, an end that repeats the suffix's next
   lines goes too;
   a block or statement that the token limit cut short first loses its unfinished last line
   (and a header before it whose body was cut);
3. the part that overlaps the rest of the cursor's line is not inserted twice;
4. repetitive lines and blocks at the end are kept once (a copy cut part-way goes too);
5. trailing whitespace is trimmed; an empty result is no result (None).

All text here has LF line ends.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from codellama_lsp.completion.item_range import rest_of_line
from codellama_lsp.completion.policy import Mode
from codellama_lsp.syntax.parsed import ParsedDocument
from codellama_lsp.syntax.scope_end import scope_end
from codellama_lsp.syntax.statement_end import first_statement_end
from fim.prompt import to_lf

_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = set(_OPENERS.values())
_PUNCTUATION = set(")]}\"'`;,:")
_OPENS_BODY = (":", "{", "(", "[")  # at a line's end: a body or arguments follow
SUFFIX_LINES_TO_MATCH = 3
SUFFIX_WINDOW_LINES = 64  # lines after the cursor that the rules look at


@dataclass(frozen=True)
class CleanupContext:
    mode: Mode
    prefix: str  # the document's text before the cursor (LF; its last line is what counts)
    suffix: str  # the document's text after the cursor (LF; its first lines are what count)
    # Where the enclosing scope ends in a completion (index into it), by the tree; None: the
    # tree cannot tell (no tree, a parse error) and indentation decides.
    scope_end: Callable[[str], int | None] | None = None
    # Where the completion's first statement ends in it, by the tree; None as above.
    statement_end: Callable[[str], int | None] | None = None


def document_cleanup_context(mode: Mode, document: ParsedDocument,
                             offset: int) -> CleanupContext:
    """The context for a cursor at `offset` of `document`, with its tree's scope and statement
    ends."""
    return cleanup_context(mode, document.text, offset,
                           partial(tree_scope_end, document, offset),
                           partial(first_statement_end, document, offset))


def cleanup_context(mode: Mode, text: str, offset: int,
                    scope_end: Callable[[str], int | None] | None = None,
                    statement_end: Callable[[str], int | None] | None = None
                    ) -> CleanupContext:
    """The context for a cursor at `offset` of a document's `text` (any line ends): its line
    and the next lines, which is all the rules read."""
    line_start = text.rfind("\n", 0, offset) + 1
    end = offset
    for _ in range(SUFFIX_WINDOW_LINES):
        end = text.find("\n", end + 1)
        if end < 0:
            end = len(text)
            break
    return CleanupContext(mode, to_lf(text[line_start:offset]), to_lf(text[offset:end]),
                          scope_end, statement_end)


def clean(text: str, context: CleanupContext, cut_short: bool = False) -> str | None:
    """What to show for the model's answer `text`, or None for nothing. `cut_short`: the
    generation ended at its token limit, not where the model stopped."""
    text = stop_at_control_character(to_lf(text))
    if context.mode is Mode.NONE:
        return None
    if context.mode is Mode.LINE:
        text = stop_at_newline(text)
    else:
        if cut_short:
            text = drop_unfinished_line(text)
        text = drop_suffix_repeats(text, context.prefix, context.suffix)
        uncut = text
        if context.mode is Mode.STATEMENT:
            text = limit_to_statement(text, context)
        text = limit_to_scope(text, context)
        if text.rstrip() != uncut.rstrip():  # what a cut left may end in the next lines
            text = drop_suffix_repeats(text, context.prefix, context.suffix)
    text = drop_line_overlap(text, rest_of_line(context.suffix, 0))
    text = drop_repetition(text, line_before(context.prefix))
    text = trim_trailing_whitespace(text)
    return text or None


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def stop_at_control_character(text: str) -> str:
    """The text before its first control character other than tab and newline."""
    match = _CONTROL.search(text)
    return text[:match.start()] if match else text


def line_before(prefix: str) -> str:
    """The text left of the cursor on its line."""
    return prefix[prefix.rfind("\n") + 1:]


def stop_at_newline(text: str) -> str:
    """A one-line suggestion ends at its first newline."""
    return text.split("\n", 1)[0]


def drop_unfinished_line(text: str) -> str:
    """Several lines cut short by the token limit: the last one, unfinished, goes (a half
    statement is worse than none), and so does a header before it whose body was cut (a line
    that ends opening a block or a bracket); a single line stays."""
    if sum(1 for line in text.split("\n") if line.strip()) < 2:
        return text
    if not text.endswith("\n"):
        text = text.rsplit("\n", 1)[0]
    kept = text.rstrip()
    cut = kept.rfind("\n")
    if cut >= 0 and kept[cut + 1:].endswith(_OPENS_BODY) and kept[:cut].strip():
        return kept[:cut]
    return text


def drop_suffix_repeats(text: str, prefix: str, suffix: str,
                        lines_to_match: int = SUFFIX_LINES_TO_MATCH) -> str:
    """Cut the completion where its lines start repeating the lines after the cursor's line.

    A line repeats when it equals (trailing whitespace aside, indentation included) the next
    non-blank line of the suffix, and so do the following ones, up to `lines_to_match` of them.
    """
    # The next lines are what a repeat would repeat.
    following = suffix.split("\n", SUFFIX_WINDOW_LINES)[1:SUFFIX_WINDOW_LINES]
    targets = [line.rstrip() for line in following if line.strip()][:lines_to_match]
    if not targets:
        return text
    lines = text.split("\n")
    full = [line_before(prefix) + lines[0], *lines[1:]]  # the first line starts at the cursor
    nonblank = [i for i, line in enumerate(full) if line.strip()]
    for position, i in enumerate(nonblank):
        ahead = [full[j].rstrip() for j in nonblank[position:position + len(targets)]]
        if ahead == targets[:len(ahead)]:
            return "\n".join(lines[:i])
    return text


def limit_to_scope(text: str, context: CleanupContext) -> str:
    """A block stops where the scope around the cursor ends: by the tree, else indentation."""
    cut = context.scope_end(text) if context.scope_end is not None else None
    if cut is not None:
        return text[:cut]
    return limit_by_indentation(text, line_before(context.prefix))


def limit_to_statement(text: str, context: CleanupContext) -> str:
    """One statement stops where it ends: by the tree, else by indentation and brackets."""
    cut = context.statement_end(text) if context.statement_end is not None else None
    if cut is not None:
        return text[:cut]
    return statement_by_indentation(text, line_before(context.prefix))


_CONTINUATIONS = re.compile(r"^(else|elif|except|finally|catch)\b")


def statement_by_indentation(text: str, before: str) -> str:
    """Stop at the first line that starts a new statement: indented no deeper than the first
    line, with every bracket opened before it closed, after a line that is not a decorator,
    and not an `else`/`elif`/`except`/`finally`/`catch` of the statement."""
    lines = text.split("\n")
    base = _width(before + lines[0]) if lines[0].strip() else _width(before)
    depth = _bracket_depth(lines[0])
    previous = lines[0].strip()
    for i, line in enumerate(lines[1:], start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if depth <= 0 and _width(line) <= base and not previous.startswith("@") \
                and not _CONTINUATIONS.match(stripped):
            return "\n".join(lines[:i])
        depth += _bracket_depth(line)
        previous = stripped
    return text


def _bracket_depth(line: str) -> int:
    """Brackets the line opens minus those it closes (strings and comments not told apart:
    the tree does that where there is one)."""
    return sum(line.count(c) for c in _OPENERS) - sum(line.count(c) for c in _CLOSERS)


def limit_by_indentation(text: str, before: str,
                         ends: Callable[[int, str], bool] = lambda number, line: True) -> str:
    """Stop at the first line indented less than the block the cursor is in.

    On an empty line the block's indentation is the cursor's (plus the completion's own leading
    whitespace); at the end of a line that opens a block, lines must be indented deeper than
    that line, and a closing line (`}`, `end`, `)`) at its indentation is kept and ends it.
    Only lines for which `ends(line_number, line)` is true can end the block.
    """
    lines = text.split("\n")
    if not before.strip():
        base = _width(before + lines[0]) if lines[0].strip() else _width(before)
        for i, line in enumerate(lines[1:], start=1):
            if line.strip() and _width(line) < base and ends(i, line):
                return "\n".join(lines[:i])
        return text
    base = _width(before)
    for i, line in enumerate(lines[1:], start=1):
        if not line.strip() or _width(line) > base or not ends(i, line):
            continue
        if _is_closing_line(line):
            return "\n".join(lines[:i + 1])
        return "\n".join(lines[:i])
    return text


def drop_line_overlap(text: str, rest: str) -> str:
    """Don't insert twice what already follows the cursor on its line.

    When the completion ends with the rest of the line (`)`, `):`, ` + 1`), or with the start of
    it made of closing punctuation only (`)` before `):`), that ending is removed, provided the
    brackets it would remove are ones the completion did not open itself.
    """
    rest = rest.strip()
    body = text.rstrip()
    if not rest or not body:
        return text
    for size in range(len(rest), 0, -1):
        piece = rest[:size]
        if not body.endswith(piece):
            continue
        if size < len(rest) and not set(piece) <= _PUNCTUATION:
            continue
        closers = _unmatched_closers(piece)
        if closers and _unmatched_closers(body) < closers:
            continue
        return body[:-size].rstrip()
    return text


def drop_repetition(text: str, before: str = "", max_period: int = 8) -> str:
    """Keep once a line repeated 3+ times, or a block of 2+ lines repeated 2+ times, at the end
    (the loop a model falls into when it has nothing left to say), also where the loop stops
    part-way through a copy. `before`: the cursor line's text left of the cursor, which the
    first line continues."""
    lines = (before + text).split("\n")
    while len(lines) > 1 and not lines[-1].strip():
        lines.pop()  # blank lines at the end are trimmed anyway; they would hide the loop
    keep = len(lines)
    for period in range(1, max_period + 1):
        start = _periodic_start(lines, period)
        unit = lines[start:start + period]
        copies = (len(lines) - start) / period
        needed = 3 if period == 1 else 2
        if copies >= needed and sum(1 for line in unit if line.strip()) >= min(period, 2):
            keep = min(keep, start + period)
    return "\n".join(lines[:keep])[len(before):]


def _periodic_start(lines: list[str], period: int) -> int:
    """The first line of the longest run at the end in which each line equals the one
    `period` lines later."""
    start = len(lines) - period
    while start > 0 and lines[start - 1] == lines[start - 1 + period]:
        start -= 1
    return max(start, 0)


def trim_trailing_whitespace(text: str) -> str:
    """No trailing whitespace on any line, nor blank lines at the end."""
    return "\n".join(line.rstrip() for line in text.split("\n")).rstrip()


def _width(line: str) -> int:
    """Indentation width, a tab counted as 8 columns' worth of indentation."""
    stripped = line.lstrip(" \t")
    indent = line[: len(line) - len(stripped)]
    return indent.count(" ") + 8 * indent.count("\t")


def _is_closing_line(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and (stripped[0] in _CLOSERS or stripped in {"end", "fi", "done",
                                                                       "esac"})


def _unmatched_closers(text: str) -> int:
    """Closing brackets in `text` that close nothing opened in `text`."""
    depth, unmatched = 0, 0
    for char in text:
        if char in _OPENERS:
            depth += 1
        elif char in _CLOSERS:
            if depth:
                depth -= 1
            else:
                unmatched += 1
    return unmatched


def tree_scope_end(document: ParsedDocument, offset: int, completion: str) -> int | None:
    """Where the scope around the cursor ends in `completion`, by the document's tree (see
    `codellama_lsp.syntax.scope_end`); None when the tree cannot tell. In Python a comment
    dedented below the block ends it too (tree-sitter keeps such comments inside the block)."""
    found = scope_end(document, offset, completion)
    if found is None:
        return None
    if document.language is None or document.language.name != "python":
        return found.cut
    before = document.text[document.text.rfind("\n", 0, offset) + 1:offset]
    kept = limit_by_indentation(completion[:found.cut], before,
                                ends=lambda number, line: found.starts_in_comment(number))
    return min(found.cut, len(kept))
