"""Where the first statement of a completion ends, read from the document's tree with the
completion inserted (parsed incrementally from a copy). Tree-sitter works on UTF-8 byte
offsets; what this module returns is in characters of the completion (LF line ends).

The statement is the node of a body (module, block, class body, ...) that starts at the
completion's first non-blank character: a simple statement, or a compound one with its body
and its `else`/`except` clauses. Comments before it lead into it and go with it. The cut is at
the end of the line where the statement ends, so a comment after it on that line stays.
"""

from __future__ import annotations

from tree_sitter import Node

from codellama_lsp.syntax.parsed import BODY_TYPES, ParsedDocument


def first_statement_end(document: ParsedDocument, offset: int, completion: str) -> int | None:
    """Where the first statement of `completion` (LF line ends), inserted at character
    `offset` with the document's own line ends, ends in it; None when the tree cannot tell (no
    tree, no statement starting there, a parse error in it)."""
    if not completion.strip():
        return None
    parsed = document.tree_with_completion(offset, completion)
    if parsed is None:
        return None
    tree, data, inserted = parsed
    start = document.byte_offset(offset)
    lead = len(inserted) - len(inserted.lstrip())
    first = start + len(inserted[:lead].encode("utf-8", errors="surrogatepass"))
    end_of_completion = start + len(inserted.encode("utf-8", errors="surrogatepass"))
    statement = _statement_at(tree.root_node, first)
    while statement is not None and "comment" in statement.type:
        following = statement.next_named_sibling
        if following is None or following.start_byte >= end_of_completion:
            break
        statement = following
    if statement is None or statement.has_error:
        return None
    if statement.end_byte >= end_of_completion:
        return len(completion)  # it goes on past the completion
    cut_text = data[start:statement.end_byte].decode("utf-8", errors="replace")
    cut = len(cut_text) - cut_text.count("\r") if inserted != completion else len(cut_text)
    line_end = completion.find("\n", cut)
    return len(completion) if line_end < 0 else line_end


def _statement_at(root: Node, at: int) -> Node | None:
    """The outermost node starting at byte `at` whose parent is a body (a `case` with its
    statements, not its keyword; not Go's list of all the statements)."""
    node = root.descendant_for_byte_range(at, at)
    found = None
    while node is not None and node.start_byte == at:
        if node.parent is not None and node.parent.type in BODY_TYPES \
                and node.type != "statement_list":
            found = node
        node = node.parent
    return found
