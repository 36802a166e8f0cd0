"""Cross-file context: code from elsewhere that the model should see before the prefix.

Two kinds of snippet, ranked and given at most a share of the prompt budget:
- definitions (signatures, short bodies) of the symbols used near the cursor, found with the
  grammars' tag queries over the open documents and the workspace's files (and over the current
  document, for definitions outside the prompt's window);
- regions edited recently in other places.

Each is rendered as a comment block in the current file's comment syntax whose first line is
`Path: <relative path>`, as in:

    # Path: pkg/util.py
    # def parse(line: str) -> Item:
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from tree_sitter import Node, QueryCursor

from codellama_lsp.syntax import languages
from codellama_lsp.syntax.parsed import ParsedDocument
from codellama_lsp.syntax.workspace_files import iter_source_files

MAX_WORKSPACE_FILES = 300
MAX_FILE_CHARS = 512 * 1024
SHORT_BODY_LINES = 12  # a definition this short is shown whole, a longer one by its header
MAX_MEMBER_LINES = 20  # member headers shown for a long class
NEAR_LINES_BEFORE = 40  # where "used near the cursor" looks
NEAR_LINES_AFTER = 8
RECENT_EDITS = 16
RECENT_EDIT_CONTEXT = 3  # lines shown around a recent edit
CURRENT_REINDEX_S = 1.0  # the current document's definitions are refreshed at most this often

_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_FUNCTION_WORDS = ("function", "method", "lambda", "arrow", "closure", "constructor")
_CONTAINER_KINDS = {"class", "interface", "module", "type", "struct", "trait", "impl", "enum"}


@dataclass(frozen=True)
class Definition:
    name: str
    kind: str  # the tag's kind: function, method, class, ...
    path: str  # as the source knows the file (absolute, or an editor's path)
    first_line: int  # 0-based
    last_line: int
    text: str  # what the model is shown: whole, or the header and member headers
    family: str = ""  # languages that can call each other's definitions share a family


@dataclass(frozen=True)
class Snippet:
    path: str  # relative path shown in the comment's first line
    text: str
    source: str  # "definition" or "recent"
    file: str  # the file as the source knows it
    first_line: int
    last_line: int


@dataclass
class _FileIndex:
    stamp: object  # mtime for disk files, the text's identity for documents
    definitions: dict[str, list[Definition]]
    at: float = 0.0


class SnippetSource:
    """Definitions and recent edits from the open documents and the files under `root`."""

    def __init__(self, root: str | Path | None = None,
                 documents: dict[str, str] | None = None,
                 max_files: int = MAX_WORKSPACE_FILES) -> None:
        self.root = Path(root).resolve() if root else None
        self.max_files = max_files
        self._documents: dict[str, str] = dict(documents or {})
        self._indexes: dict[str, _FileIndex] = {}
        self._workspace: list[Path] | None = None
        self._by_name: dict[str, list[Definition]] | None = None
        self._relative: dict[str, str] = {}
        # The editor's thread changes documents and edits while a completion reads them.
        self._lock = threading.Lock()
        self._edits: deque[tuple[str, int]] = deque(maxlen=RECENT_EDITS)

    # The editor's side: open documents and their edits.
    def set_document(self, path: str, text: str) -> None:
        with self._lock:
            self._documents[path] = text

    def close_document(self, path: str) -> None:
        with self._lock:
            self._documents.pop(path, None)

    def record_edit(self, path: str, offset: int, text: str | None = None) -> None:
        """Remember that the document at `path` was edited at character `offset`."""
        with self._lock:
            if text is not None:
                self._documents[path] = text
            source = self._documents.get(path)
            if source is None:
                return
            line = source.count("\n", 0, min(offset, len(source)))
            # One entry per region: an edit near a remembered one replaces it.
            kept = [(p, n) for p, n in self._edits
                    if not (p == path and abs(n - line) <= RECENT_EDIT_CONTEXT)]
            self._edits = deque(kept + [(path, line)], maxlen=RECENT_EDITS)

    def invalidate(self, path: str | None = None, listing_changed: bool = False) -> None:
        """Forget the index of a file changed on disk (all files when `path` is None); with
        `listing_changed` (a file created or deleted), the list of workspace files too."""
        with self._lock:
            self._by_name = None
            if listing_changed or path is None:
                self._workspace = None
            if path is None:
                self._indexes.clear()
            else:
                self._indexes.pop(str(Path(path).resolve()), None)
                self._indexes.pop(path, None)

    def warm(self, near: str | None = None) -> int:
        """Index every workspace file now (else it happens on first use); their number."""
        self._workspace_definitions(near)
        return len(self._workspace_files(near))

    # The prompt's side.
    def snippets_for(self, document: ParsedDocument, offset: int,
                     exclude: Callable[[Snippet], bool] = lambda s: False) -> list[Snippet]:
        """Snippets for a cursor at `offset` of `document`, best first.

        A definition weighs what the uses of its name near the cursor weigh (a use on the
        cursor's line 1, one line away 1/2, ...); ties go to the current document, then open
        documents, then the workspace. A recent edit weighs 1 when newest, 1/2 before that, ...
        Definitions come from files of the document's language family only.
        """
        wanted = names_near(document.text, offset)
        current = document.path or "<document>"
        family = languages.family(document.language)
        sources: list[dict[str, list[Definition]]] = []
        index = self._index_document(current, document)
        if index is not None:
            sources.append(index.definitions)
        with self._lock:
            documents = list(self._documents.items())
        for path, text in documents:
            if path != current:
                other = self._index_text(path, text)
                if other is not None:
                    sources.append(other.definitions)
        sources.append(self._workspace_definitions(document.path))
        found: list[tuple[float, int, Snippet]] = []
        seen: set[tuple[str, int]] = set()
        open_paths = {path for path, _ in documents} | {current}
        for rank, definitions in enumerate(sources):
            for name, weight in wanted.items():
                for definition in definitions.get(name, ()):
                    key = (definition.path, definition.first_line)
                    if key in seen or (family and definition.family != family) or (
                            rank == len(sources) - 1 and definition.path in open_paths):
                        continue
                    seen.add(key)
                    snippet = Snippet(self.relative(definition.path), definition.text,
                                      "definition", definition.path, definition.first_line,
                                      definition.last_line)
                    if not exclude(snippet):
                        found.append((-weight, rank, snippet))
        for age, snippet in enumerate(self._recent(document, exclude)):
            found.append((-1.0 / (1 + age), len(sources), snippet))
        found.sort(key=lambda item: (item[0], item[1]))
        return [snippet for _, _, snippet in found]

    def relative(self, path: str) -> str:
        """`path` relative to the workspace root where it lies under it."""
        known = self._relative.get(path)
        if known is None:
            known = Path(path).name if path.startswith("/") else path
            if self.root is not None:
                try:
                    known = Path(path).resolve().relative_to(self.root).as_posix()
                except (ValueError, OSError):
                    pass
            self._relative[path] = known
        return known

    def _recent(self, document: ParsedDocument,
                exclude: Callable[[Snippet], bool]) -> list[Snippet]:
        found = []
        with self._lock:
            edits, documents = list(self._edits), dict(self._documents)
        for path, line in reversed(edits):
            text = document.text if path == document.path else documents.get(path)
            if text is None:
                continue
            lines = text.split("\n")
            first = max(0, line - RECENT_EDIT_CONTEXT)
            last = min(len(lines) - 1, line + RECENT_EDIT_CONTEXT)
            region = "\n".join(lines[first:last + 1]).strip("\n")
            if not region.strip():
                continue
            snippet = Snippet(self.relative(path), region, "recent", path, first, last)
            if not exclude(snippet):
                found.append(snippet)
        return found

    def _workspace_files(self, near: str | None) -> list[Path]:
        if self.root is None:
            return []
        if self._workspace is None:
            files = list(iter_source_files(self.root, limit=self.max_files * 20))
            anchor = Path(near).resolve().parent if near else self.root
            # Files nearest the current one first: same folder, then its neighbours.
            files.sort(key=lambda p: (_distance(p.parent, anchor), str(p)))
            self._workspace = files[: self.max_files]
        return self._workspace

    def _workspace_definitions(self, near: str | None) -> dict[str, list[Definition]]:
        """All definitions in the workspace's files, by name (indexed once)."""
        if self._by_name is None:
            merged: dict[str, list[Definition]] = {}
            current = str(Path(near).resolve()) if near else None
            for path in self._workspace_files(near):
                if str(path) == current:
                    continue
                index = self._index_file(str(path))
                for name, definitions in (index.definitions.items() if index else ()):
                    merged.setdefault(name, []).extend(definitions)
            self._by_name = merged
        return self._by_name

    def _index_document(self, path: str, document: ParsedDocument) -> _FileIndex | None:
        index = self._indexes.get(path)
        if index is not None and (index.stamp is document.text or
                                  time.monotonic() - index.at < CURRENT_REINDEX_S):
            return index
        if document.tree is None or document.language is None:
            return None
        index = _FileIndex(document.text, _definitions(document, path), time.monotonic())
        self._indexes[path] = index
        return index

    def _index_text(self, path: str, text: str) -> _FileIndex | None:
        index = self._indexes.get(path)
        if index is not None and index.stamp is text:
            return index
        if len(text) > MAX_FILE_CHARS or languages.detect(path) is None:
            return None
        index = _FileIndex(text, _definitions(ParsedDocument(text, path=path), path))
        self._indexes[path] = index
        return index

    def _index_file(self, path: str) -> _FileIndex | None:
        index = self._indexes.get(path)
        if index is not None:
            return index
        try:
            file = Path(path)
            if file.stat().st_size > MAX_FILE_CHARS:
                return None
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            index = _FileIndex(None, {})
        else:
            index = _FileIndex(None, _definitions(ParsedDocument(text, path=path), path))
        self._indexes[path] = index
        return index


def names_near(text: str, offset: int) -> dict[str, float]:
    """Identifiers used near the cursor, weighted by how near (nearer lines weigh more)."""
    start = offset
    for _ in range(NEAR_LINES_BEFORE):
        start = text.rfind("\n", 0, start)
        if start < 0:
            start = 0
            break
    end = offset
    for _ in range(NEAR_LINES_AFTER):
        found = text.find("\n", end + 1)
        if found < 0:
            end = len(text)
            break
        end = found
    cursor_line = text.count("\n", start, offset)
    weights: dict[str, float] = {}
    for number, line in enumerate(text[start:end].split("\n")):
        distance = abs(number - cursor_line)
        for name in _IDENTIFIER.findall(line):
            if len(name) > 1:
                weights[name] = weights.get(name, 0.0) + 1.0 / (1 + distance)
    return weights


def render(snippets: Iterable[Snippet], comment: str) -> str:
    """The snippets as comment blocks, each starting with its path, each line ending in LF."""
    blocks = []
    for snippet in snippets:
        lines = [f"{comment} Path: {snippet.path}"]
        lines += [f"{comment} {line}".rstrip() for line in snippet.text.split("\n")]
        blocks.append("\n".join(lines) + "\n")
    return "".join(blocks)


def _definitions(document: ParsedDocument, path: str) -> dict[str, list[Definition]]:
    """Definitions in a parsed document, by name, from its grammar's tag query."""
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
    return found


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


def _distance(folder: Path, anchor: Path) -> int:
    """Folders between two folders (0 for the same one)."""
    a, b = folder.parts, anchor.parts
    common = 0
    while common < min(len(a), len(b)) and a[common] == b[common]:
        common += 1
    return (len(a) - common) + (len(b) - common)
