"""Definitions in a parsed document, found with its grammar's tag query (`tags.scm`): each named
function, method, class, ... with the text a model is shown for it (a short definition whole, a
long one as its header, plus its members' headers for a class)."""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node, QueryCursor

from codellama_lsp.syntax import languages
from codellama_lsp.syntax.parsed import ParsedDocument

SHORT_BODY_LINES = 12  # a definition this short is shown whole, a longer one by its header
MAX_MEMBER_LINES = 20  # member headers shown for a long class

_FUNCTION_WORDS = ("function", "method", "lambda", "arrow", "closure", "constructor")
_CONTAINER_KINDS = {"class", "interface", "module", "type", "struct", "trait", "impl", "enum"}


@dataclass(frozen=True)
class Definition:
    name: str
    kind: str  # the tag's kind: function, method, class, ...
    path: str  # as the caller knows the file (absolute, or an editor's path)
    first_line: int  # 0-based
    last_line: int
    text: str  # what the model is shown: whole, or the header and member headers
    family: str = ""  # languages that can call each other's definitions share a family


def definitions(document: ParsedDocument, path: str) -> dict[str, tuple[Definition, ...]]:
    """The definitions of a parsed document by name (none without a tree or a tag query); not
    a function's local helpers, which other code cannot call."""
    if document.tree is None or document.language is None:
        return {}
    query = languages.tags_query(document.language)
    if query is None:
        return {}
    text = document.text
    family = languages.family(document.language)
    tagged: list[tuple[str, str, Node]] = []
    seen: set[tuple[int, int]] = set()
    for _, captures in QueryCursor(query).matches(document.tree.root_node):
        kind = next((key.split(".", 1)[1] for key in captures if key.startswith("definition.")),
                    None)
        if kind is None or "name" not in captures:
            continue
        node = captures[f"definition.{kind}"][0]
        if (node.start_byte, node.end_byte) in seen or _is_local(node):
            continue  # tagged twice, or a function's own helper: not for other code
        seen.add((node.start_byte, node.end_byte))
        name_node = captures["name"][0]
        name = text[document.char_offset(name_node.start_byte):
                    document.char_offset(name_node.end_byte)]
        tagged.append((name, kind, node))
    tagged.sort(key=lambda item: (item[2].start_byte, -item[2].end_byte))
    found: dict[str, list[Definition]] = {}
    for position, (name, kind, node) in enumerate(tagged):
        members = _members(tagged, position) if kind in _CONTAINER_KINDS else []
        body = _definition_text(document, node, kind, members)
        if body.strip():
            found.setdefault(name, []).append(Definition(
                name, kind, path, node.start_point.row, node.end_point.row, body, family))
    return {name: tuple(items) for name, items in found.items()}


def _is_local(node: Node) -> bool:
    """Whether a definition lies inside a function's body (a local helper or variable)."""
    parent = node.parent
    while parent is not None:
        if any(word in parent.type for word in _FUNCTION_WORDS):
            return True
        parent = parent.parent
    return False


def _members(tagged: list[tuple[str, str, Node]], position: int) -> list[Node]:
    """The definitions directly inside the one at `position` (`tagged` sorted by start)."""
    outer = tagged[position][2]
    members: list[Node] = []
    for _, _, node in tagged[position + 1:]:
        if node.start_byte >= outer.end_byte:
            break
        if members and node.start_byte < members[-1].end_byte:
            continue  # nested in a member
        if node.id != outer.id:
            members.append(node)
    return members


def _definition_text(document: ParsedDocument, node: Node, kind: str,
                     members: list[Node]) -> str:
    """A short definition whole; a long one as its header (plus member headers for a class)."""
    text = document.text
    start = document.char_offset(node.start_byte)
    line_start = text.rfind("\n", 0, start) + 1
    first_line = text[line_start:start]
    indent = len(first_line) - len(first_line.lstrip())
    rows = node.end_point.row - node.start_point.row + 1
    if rows <= SHORT_BODY_LINES:
        return _dedent(text[line_start:document.char_offset(node.end_byte)], indent)
    body = node.child_by_field_name("body")
    header_end = document.char_offset(body.start_byte) if body is not None else \
        text.find("\n", start)
    header = text[line_start:header_end].rstrip()
    lines = [header]
    if kind in _CONTAINER_KINDS:
        for member in members[:MAX_MEMBER_LINES]:
            member_start = document.char_offset(member.start_byte)
            member_line = text.rfind("\n", 0, member_start) + 1
            end = text.find("\n", member_start)
            lines.append(text[member_line:end if end >= 0 else len(text)].rstrip())
    return _dedent("\n".join(lines), indent)


def _dedent(text: str, indent: int) -> str:
    lines = text.split("\n")
    return "\n".join(line[indent:] if line[:indent].strip() == "" else line.lstrip()
                     for line in lines)
