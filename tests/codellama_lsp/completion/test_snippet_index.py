"""The workspace index under concurrency: completion threads read it while files change on disk
and the editor opens, edits and closes documents."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from codellama_lsp.completion.snippets import SnippetSource
from codellama_lsp.syntax.parsed import ParsedDocument

pytestmark = pytest.mark.unit

USES = "x = parse_item(1) + parse_order(2)\n"


def _definitions(source: SnippetSource, document: ParsedDocument) -> list[str]:
    return [s.text.split("(")[0] for s in source.snippets_for(document, 5)
            if s.source == "definition"]


def test_a_file_changed_while_the_index_is_built_is_read_again(tmp_path: Path, monkeypatch):
    util = tmp_path / "util.py"
    util.write_text("def parse_item(line):\n    return {}\n")
    source = SnippetSource(tmp_path)
    document = ParsedDocument(USES, path=str(tmp_path / "elsewhere" / "main.py"))
    # The index (built in a completion's thread) has read util.py and is held right there.
    read, release = threading.Event(), threading.Event()
    real_read_text = Path.read_text

    def held_read_text(self: Path, *args, **kwargs) -> str:
        text = real_read_text(self, *args, **kwargs)
        if self.name == "util.py" and not release.is_set():
            read.set()
            release.wait(30)
        return text

    monkeypatch.setattr(Path, "read_text", held_read_text)
    building = threading.Thread(target=source.snippets_for, args=(document, 5))
    building.start()
    assert read.wait(30)
    # Meanwhile the file changes on disk and the editor says so.
    util.write_text("def parse_order(line):\n    return []\n")
    source.invalidate(str(util))
    release.set()
    building.join(30)
    assert not building.is_alive()
    assert _definitions(source, document) == ["def parse_order"]



def test_the_index_is_read_from_disk_once_until_a_file_changes(tmp_path: Path, monkeypatch):
    (tmp_path / "util.py").write_text("def parse_item(line):\n    return {}\n")
    (tmp_path / "order.py").write_text("def parse_order(line):\n    return []\n")
    source = SnippetSource(tmp_path)
    document = ParsedDocument(USES, path=str(tmp_path / "elsewhere" / "main.py"))
    assert source.warm() == 2
    reads: list[str] = []
    real_read_text = Path.read_text

    def counted_read_text(self: Path, *args, **kwargs) -> str:
        reads.append(self.name)
        return real_read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", counted_read_text)
    assert sorted(_definitions(source, document)) == ["def parse_item", "def parse_order"]
    assert reads == []  # completions read the built index
    (tmp_path / "util.py").write_text("def parse_items(lines):\n    return {}\n")
    source.invalidate(str(tmp_path / "util.py"))
    assert _definitions(source, document) == ["def parse_order"]
    assert reads == ["util.py"]  # only the changed file is read again
