"""Where the scope around a cursor ends in a completion inserted there, read from the document's
tree with the completion inserted (parsed incrementally from a copy). Tree-sitter works on UTF-8
byte offsets; what this module returns is in characters of the completion (LF line ends).

The scope is what the cursor's line opens with a `{` or `[` just left of the cursor (a body, an
object, an array), else the innermost body (block, class body, ...) holding the completion's
first non-blank character. If it ends inside the completion, the completion stops there: without
the closing bracket when the document already closes that scope, else with it and the brackets
and punctuation that follow it on its line (`};`, `},`, `}()`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tree_sitter import Node, Tree

from codellama_lsp.syntax.parsed import BODY_TYPES, ParsedDocument

# Go's statement list sits inside the braces of its block: the block is the scope.
_SCOPES = BODY_TYPES - {"statement_list"}


@dataclass(frozen=True)
class ScopeEnd:
    cut: int  # where the scope ends in the completion (its length: the scope goes on after it)
    # Whether line N of the completion (0-based) starts, after its indentation, in a comment.
    starts_in_comment: Callable[[int], bool]


def scope_end(document: ParsedDocument, offset: int, completion: str) -> ScopeEnd | None:
    """Where the scope around character `offset` ends in `completion` (LF line ends) inserted
    there with the document's own line ends; None when the tree cannot tell (no tree, a parse
    error around the cursor)."""
    parsed = document.tree_with_completion(offset, completion)
    if parsed is None:
        return None
    tree, data, inserted = parsed
    cut = _tree_cut(document, offset, completion, tree, data, inserted)
    if cut is None:
        return None
    return ScopeEnd(cut, _comment_lines(document.byte_offset(offset), completion, inserted, tree))


def _comment_lines(start: int, completion: str, inserted: str, tree: Tree) -> Callable[[int], bool]:
    """A test of whether a completion line starts in a comment, the completion inserted at
    byte `start` as `inserted` (its line ends the document's)."""
    lines = completion.split("\n")
    line_starts = [0]
    for line in lines:
        line_starts.append(line_starts[-1] + len(line) + 1)
    crlf = inserted != completion

    def starts_in_comment(number: int) -> bool:
        if not 0 <= number < len(lines):
            return False
        line = lines[number]
        index = line_starts[number] + len(line) - len(line.lstrip())
        index += completion.count("\n", 0, index) if crlf else 0  # the CRs
        at = start + len(inserted[:index].encode("utf-8", errors="surrogatepass"))
        node = tree.root_node.descendant_for_byte_range(at, at + 1)
        return node is not None and node.type == "comment"

    return starts_in_comment


def _tree_cut(document: ParsedDocument, offset: int, completion: str, tree: Tree, data: bytes,
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
