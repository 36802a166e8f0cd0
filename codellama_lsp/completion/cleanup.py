"""Clean-up of a model's answer before a user sees it: each rule a small pure function.

Code Llama often runs past the hole and repeats the code after the cursor; a suggestion that
duplicates the next lines or closes a bracket twice is worse than none. `clean` applies the
rules in order:

0. a control character (NUL, escape, ...: no code holds one, and some editors' JSON parsers
   refuse the whole answer for it) ends the answer;
1. one line (mode `line`) stops at the first newline;
2. a block (mode `block`) drops the lines from where they repeat the suffix's next lines, then
   stops where the enclosing scope ends (by the tree where there is one, else by indentation);
3. the part that overlaps the rest of the cursor's line is not inserted twice;
4. repetitive lines and blocks at the end are kept once;
5. trailing whitespace is trimmed; an empty result is no result (None).

All text here has LF line ends.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tree_sitter import Node

from codellama_lsp.completion.policy import Mode
from codellama_lsp.syntax.parsed import BODY_TYPES, ParsedDocument
from fim.prompt import to_lf

_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = set(_OPENERS.values())
_PUNCTUATION = set(")]}\"'`;,:")
SUFFIX_LINES_TO_MATCH = 3
SUFFIX_WINDOW_LINES = 64  # lines after the cursor that the rules look at
# Go's statement list sits inside the braces of its block: the block is the scope.
_SCOPES = BODY_TYPES - {"statement_list"}


@dataclass(frozen=True)
class CleanupContext:
    mode: Mode
    prefix: str  # the document's text before the cursor (LF; its last line is what counts)
    suffix: str  # the document's text after the cursor (LF; its first lines are what count)
    # Where the enclosing scope ends in a completion (index into it), by the tree; None: the
    # tree cannot tell (no tree, a parse error) and indentation decides.
    scope_end: Callable[[str], int | None] | None = None


def cleanup_context(mode: Mode, text: str, offset: int,
                    scope_end: Callable[[str], int | None] | None = None) -> CleanupContext:
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
                          scope_end)


def clean(text: str, context: CleanupContext) -> str | None:
    """What to show for the model's answer `text`, or None for nothing."""
    text = stop_at_control_character(to_lf(text))
    if context.mode is Mode.NONE:
        return None
    if context.mode is Mode.LINE:
        text = stop_at_newline(text)
    else:
        text = drop_suffix_repeats(text, context.prefix, context.suffix)
        text = limit_to_scope(text, context)
    text = drop_line_overlap(text, rest_of_line(context.suffix))
    text = drop_repetition(text, line_before(context.prefix))
    text = trim_trailing_whitespace(text)
    return text or None


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def stop_at_control_character(text: str) -> str:
    """The text before its first control character other than tab and newline."""
    match = _CONTROL.search(text)
    return text[:match.start()] if match else text


def rest_of_line(suffix: str) -> str:
    """The text right of the cursor on its line."""
    return suffix.split("\n", 1)[0]


def line_before(prefix: str) -> str:
    """The text left of the cursor on its line."""
    return prefix[prefix.rfind("\n") + 1:]


def stop_at_newline(text: str) -> str:
    """A one-line suggestion ends at its first newline."""
    return text.split("\n", 1)[0]


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
    (the loop a model falls into when it has nothing left to say). `before`: the cursor line's
    text left of the cursor, which the first line continues."""
    lines = text.split("\n")
    lines[0] = before + lines[0]
    best = len(lines)
    for period in range(1, max_period + 1):
        unit = lines[len(lines) - period:]
        if len(unit) < period or sum(1 for line in unit if line.strip()) < min(period, 2):
            continue
        copies = 1
        while lines[len(lines) - period * (copies + 1):len(lines) - period * copies] == unit:
            copies += 1
        needed = 3 if period == 1 else 2
        if copies >= needed:
            best = min(best, len(lines) - period * (copies - 1))
    return "\n".join(lines[:best])[len(before):]


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
    """Where the scope around the cursor ends in `completion`, by the document's tree with the
    completion inserted (parsed incrementally from a copy); None when the tree cannot tell.

    The scope is what the cursor's line opens with a `{` or `[` just left of the cursor (a
    body, an object, an array), else the innermost body (block, class body, ...) holding the
    completion's first non-blank character. If it ends inside the completion, the completion
    stops there: without the closing bracket when the document already closes that scope, else
    with it and the brackets and punctuation that follow it on its line (`};`, `},`,
    `}()`). In Python a comment
    dedented below the block ends it too (tree-sitter keeps such comments inside the block).
    """
    newline = "\r\n" if "\r\n" in document.text else "\n"
    inserted = completion.replace("\n", newline) if newline != "\n" else completion
    parsed = document.tree_with_insertion(offset, inserted)
    if parsed is None:
        return None
    tree, data = parsed
    start = document.byte_offset(offset)
    cut = _tree_cut(document, offset, completion, tree, data, inserted)
    if cut is None or document.language is None or document.language.name != "python":
        return cut

    line_starts = [0]
    for line in completion[:cut].split("\n"):
        line_starts.append(line_starts[-1] + len(line) + 1)

    def is_comment(number: int, line: str) -> bool:
        index = line_starts[number] + len(line) - len(line.lstrip())
        index += completion.count("\n", 0, index) if newline != "\n" else 0  # the CRs
        at = start + len(inserted[:index].encode("utf-8", errors="surrogatepass"))
        node = tree.root_node.descendant_for_byte_range(at, at + 1)
        return node is not None and node.type == "comment"

    before = document.text[document.text.rfind("\n", 0, offset) + 1:offset]
    return min(cut, len(limit_by_indentation(completion[:cut], before, ends=is_comment)))


def _tree_cut(document: ParsedDocument, offset: int, completion: str, tree, data: bytes,
              inserted: str) -> int | None:
    start = document.byte_offset(offset)
    lead = len(inserted) - len(inserted.lstrip())
    first = start + len(inserted[:lead].encode("utf-8", errors="surrogatepass"))
    end_of_completion = start + len(inserted.encode("utf-8", errors="surrogatepass"))
    opener = _opener_before(document, offset)
    node = _opened_node(tree.root_node, opener) if opener is not None else None
    if node is None:
        node = _innermost(tree.root_node, first, _SCOPES)
    if node is None or node.has_error:
        return None
    end = _end_of_body(node)
    if end >= end_of_completion:
        return len(completion)
    if end <= start:
        return None
    last = node.children[-1] if node.child_count else None
    closed = False
    if last is not None and not last.is_named and last.start_byte >= start:
        closer = data[last.start_byte:last.end_byte].decode("utf-8", errors="replace")
        if _already_closed(document, offset, opener, closer):
            end, closed = last.start_byte, True
    cut_text = data[start:end].decode("utf-8", errors="replace")
    cut = len(cut_text) - cut_text.count("\r") if "\r" in inserted else len(cut_text)
    if not closed:
        line_rest = completion[cut:].split("\n", 1)[0]
        if line_rest.strip() and set(line_rest.strip()) <= set(";,()[]{}"):
            cut += len(line_rest.rstrip())
    return cut


def _end_of_body(node: Node) -> int:
    """Where a scope ends; a body without a closing bracket (Python's) ends with its last
    statement, not with comments after it, which tree-sitter keeps in it even when dedented."""
    children = node.named_children
    if not children or not node.children[-1].is_named:
        return node.end_byte
    code = [i for i, child in enumerate(children) if "comment" not in child.type]
    if not code:
        return node.end_byte
    last = children[code[-1]]
    end = last.end_byte
    for child in children[code[-1] + 1:]:
        if child.start_point.row == last.end_point.row:  # a comment on the same line stays
            end = child.end_byte
    return end


def _opener_before(document: ParsedDocument, offset: int) -> int | None:
    """Byte offset of a `{` or `[` that ends the cursor's line left of the cursor."""
    text = document.text
    line_start = text.rfind("\n", 0, offset) + 1
    before = text[line_start:offset].rstrip()
    if not before or before[-1] not in "{[":
        return None
    return document.byte_offset(line_start + len(before) - 1)


def _opened_node(root: Node, opener: int) -> Node | None:
    """The node that the bracket at byte `opener` starts (its first child)."""
    token = root.descendant_for_byte_range(opener, opener + 1)
    if token is None or token.type not in ("{", "[") or token.parent is None:
        return None
    parent = token.parent
    return parent if parent.children[0].start_byte == opener else None


def _innermost(root: Node, at: int, types: frozenset[str]) -> Node | None:
    """The smallest node of one of `types` whose range holds byte `at`."""
    node = root.descendant_for_byte_range(at, at)
    while node is not None and not (node.type in types and node.start_byte <= at
                                    < node.end_byte):
        node = node.parent
    return node


def _already_closed(document: ParsedDocument, offset: int, opener: int | None,
                    closer: str) -> bool:
    """Whether the document already closes the scope around the cursor with `closer`.

    A closer on a later line counts only at the indentation of the line that opened the scope:
    right after typing `{`, the next `}` down may well be the enclosing scope's.
    """
    text = document.text
    root = document.tree.root_node if document.tree is not None else None
    node = None
    if root is not None and opener is not None:
        node = _opened_node(root, opener)
    elif root is not None:
        at = document.byte_offset(offset)
        node = _innermost(root, max(at - 1, 0), _SCOPES)
        if node is not None and not node.start_byte < at < node.end_byte:
            node = None
    if opener is not None or node is None:
        indent = _indentation(text, offset)
    else:
        indent = _indentation(text, document.char_offset(node.start_byte))
    after = text[offset:]
    found = offset + len(after) - len(after.lstrip())
    if after.lstrip().startswith(closer) and (
            "\n" not in text[offset:found] or _indentation(text, found) == indent):
        return True
    if node is None or not node.child_count:
        return False
    last = node.children[-1]
    return (not last.is_named and not last.is_missing and last.type == closer
            and _indentation(text, document.char_offset(last.start_byte)) == indent)


def _indentation(text: str, position: int) -> str:
    """The leading whitespace of the line holding `position`."""
    line_start = text.rfind("\n", 0, position) + 1
    line_end = text.find("\n", line_start)
    line = text[line_start:len(text) if line_end < 0 else line_end]
    return line[: len(line) - len(line.lstrip())]
