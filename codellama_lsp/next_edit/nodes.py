"""What the rules ask of a syntax tree: identifiers, the scopes they live in, the nodes around a
span, and a node's "head" (the name of the call or definition it belongs to)."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from codellama_lsp.syntax.parsed import ParsedDocument

_IDENTIFIER_TYPES = frozenset({"name", "variable_name", "constant"})
_SCOPE_WORDS = ("func", "method", "class", "lambda", "closure", "constructor", "arrow", "impl",
                "interface", "struct", "trait")
_SCOPE_ENDS = ("definition", "declaration", "item", "expression", "literal", "function",
               "lambda", "body", "closure")
_NOT_SCOPE_WORDS = ("call", "invocation", "parameter", "type_identifier", "identifier")
_MEMBER_PARENTS = ("attribute", "member", "field_expression", "selector", "scoped", "qualified")
_HEAD_FIELDS = ("function", "name", "constructor", "type", "method")


def is_identifier(node: Node) -> bool:
    return node.child_count == 0 and (node.type.endswith("identifier")
                                      or node.type in _IDENTIFIER_TYPES)


def is_scope(node: Node) -> bool:
    """A function, method, class, lambda, ... or the whole file."""
    kind = node.type
    if node.parent is None:
        return True
    return (any(word in kind for word in _SCOPE_WORDS) and kind.endswith(_SCOPE_ENDS)
            and not any(word in kind for word in _NOT_SCOPE_WORDS))


def role(node: Node) -> tuple[str, str]:
    """What an identifier is where it stands: its type, and whether it names a member
    (`x.name`), a keyword argument (`f(name=1)`) or a plain name."""
    parent = node.parent
    if parent is None:
        return node.type, "plain"
    if any(word in parent.type for word in _MEMBER_PARENTS) and parent.named_child_count > 1 \
            and parent.named_children[0] != node:
        return node.type, "member"
    if parent.type == "keyword_argument" and parent.child_by_field_name("name") == node:
        return node.type, "keyword"
    return node.type, "plain"


def text_of(document: ParsedDocument, node: Node) -> str:
    return document.text[document.char_offset(node.start_byte):
                         document.char_offset(node.end_byte)]


def span_of(document: ParsedDocument, node: Node) -> tuple[int, int]:
    """The node's character offsets."""
    return document.char_offset(node.start_byte), document.char_offset(node.end_byte)


def node_over(document: ParsedDocument, start: int, end: int) -> Node | None:
    """The smallest node that spans characters `start..end` (None without a tree)."""
    if document.tree is None:
        return None
    return document.tree.root_node.descendant_for_byte_range(document.byte_offset(start),
                                                             document.byte_offset(end))


def enclosing_scopes(node: Node) -> Iterator[Node]:
    """The scopes around `node`, innermost first, up to the file; a definition is not the scope
    of its own name (renaming a function is looked for around it)."""
    child, current = node, node.parent
    while current is not None:
        if is_scope(current) and current.child_by_field_name("name") != child:
            yield current
        child, current = current, current.parent


def identifiers(document: ParsedDocument, scope: Node, name: str) -> list[Node]:
    """The identifier nodes under `scope` whose text is `name`, in order."""
    found = []
    size = len(name.encode("utf-8", errors="surrogatepass"))
    cursor = scope.walk()
    while True:
        node = cursor.node
        if node is not None and node.end_byte - node.start_byte == size \
                and is_identifier(node) and text_of(document, node) == name:
            found.append(node)
        if node is not None and node.child_count and cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent() or cursor.node == scope:
                return found


def head(document: ParsedDocument, node: Node) -> str | None:
    """The name a node belongs to: a call's function, a definition's name (of the node or its
    parent); None where it has none."""
    for candidate in (node, node.parent):
        if candidate is None:
            continue
        for field in _HEAD_FIELDS:
            child = candidate.child_by_field_name(field)
            if child is not None and child != node:
                return text_of(document, child)
    return None


def error_nodes(document: ParsedDocument, first_line: int, last_line: int) -> list[Node]:
    """ERROR and MISSING nodes on lines `first_line..last_line` (0-based), in order."""
    if document.tree is None or not document.tree.root_node.has_error:
        return []
    found = []
    cursor = document.tree.root_node.walk()
    while True:
        node = cursor.node
        descend = False
        if node is not None and node.end_point.row >= first_line \
                and node.start_point.row <= last_line:
            if node.is_error or node.is_missing:
                found.append(node)
            descend = node.has_error
        if descend and cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return found


def nodes_of_type(document: ParsedDocument, kind: str, first_line: int,
                  last_line: int) -> list[Node]:
    """The nodes of type `kind` that start on lines `first_line..last_line`, in order."""
    if document.tree is None:
        return []
    found = []
    cursor = document.tree.root_node.walk()
    while True:
        node = cursor.node
        inside = node is not None and node.end_point.row >= first_line \
            and node.start_point.row <= last_line
        if inside and node is not None and node.type == kind \
                and node.start_point.row >= first_line:
            found.append(node)
        if inside and cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return found
