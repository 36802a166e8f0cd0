"""The documents an editor has open, kept in step with its incremental changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pygls.uris import to_fs_path

from codellama_lsp.syntax.parsed import ParsedDocument
from codellama_lsp.syntax.positions import Encoding, LineIndex


class UnknownDocument(KeyError):
    """A URI the editor never opened (or has closed)."""

    def __str__(self) -> str:
        return f"unknown document {self.args[0]}"


@dataclass(frozen=True)
class Change:
    """One content change: a range (line, character pairs) and its new text, or the whole text
    when `start` is None."""

    text: str
    start: tuple[int, int] | None = None
    end: tuple[int, int] | None = None


@dataclass
class Document:
    uri: str
    language_id: str
    version: int
    text: str
    _index: LineIndex | None = field(default=None, repr=False)
    parsed: ParsedDocument = field(init=False, repr=False)
    last_edit_offset: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        self.parsed = ParsedDocument(self.text, self.language_id, path=self.path)

    @property
    def path(self) -> str | None:
        """The file's path, for file: URIs (None for untitled buffers and the like)."""
        return to_fs_path(self.uri) if self.uri.startswith("file:") else None

    @property
    def index(self) -> LineIndex:
        if self._index is None or self._index.text is not self.text:
            self._index = LineIndex(self.text)
        return self._index

    def apply(self, change: Change, encoding: Encoding) -> tuple[int, int]:
        """Apply one change; the offsets it replaced in the text before. Positions past the end
        mean the end, as editors intend."""
        if change.start is None or change.end is None:
            replaced = (0, len(self.text))
        else:
            start = self.index.offset(*change.start, encoding, clamp=True)
            end = self.index.offset(*change.end, encoding, clamp=True)
            replaced = (min(start, end), max(start, end))
        self._replace(*replaced, change.text)
        return replaced

    def _replace(self, start: int, end: int, text: str) -> None:
        # The one place where edits land: the text, its tree and its line index change together.
        index = self._index if self._index is not None and self._index.text is self.text \
            else None
        self.parsed.apply_edit(start, end, text)
        self.text = self.parsed.text
        if index is not None:
            self._index = index.edited(start, end, text, self.text)
        self.last_edit_offset = start


# Told of each change as it is applied: the document, its text before, the replaced offsets of
# that text and the new text (the edit history listens).
ChangeObserver = Callable[[Document, str, int, int, str], None]


class DocumentStore:
    def __init__(self) -> None:
        self._documents: dict[str, Document] = {}

    def open(self, uri: str, language_id: str, version: int, text: str) -> Document:
        document = Document(uri, language_id, version, text)
        self._documents[uri] = document
        return document

    def change(self, uri: str, version: int, changes: list[Change], encoding: Encoding,
               observe: ChangeObserver | None = None) -> Document:
        document = self.get(uri)
        for change in changes:
            before = document.text
            start, end = document.apply(change, encoding)
            if observe is not None:
                observe(document, before, start, end, change.text)
        document.version = version
        return document

    def close(self, uri: str) -> None:
        self._documents.pop(uri, None)

    def get(self, uri: str) -> Document:
        try:
            return self._documents[uri]
        except KeyError:
            raise UnknownDocument(uri) from None

    def is_current(self, document: Document, version: int) -> bool:
        """Whether `document` is still open and still at `version` (nothing changed it)."""
        return self._documents.get(document.uri) is document and document.version == version

    def all(self) -> list[Document]:
        return list(self._documents.values())

    def __contains__(self, uri: str) -> bool:
        return uri in self._documents
