"""Documents keep their tree and re-parse incrementally: shown on tree-sitter's parse work."""

from __future__ import annotations

import random
import sysconfig
from pathlib import Path

import pytest

from codellama_lsp.errors import UserError
from codellama_lsp.syntax.parsed import MAX_PARSE_CHARS, ParsedDocument
from tests.support.paths import TEST_DATA

pytestmark = pytest.mark.unit

DATA = TEST_DATA


def _lexed_characters(document: ParsedDocument, edit) -> int:
    """How many characters tree-sitter's lexer consumed to parse after `edit` (its own log)."""
    consumed = []
    document.parser.logger = lambda kind, message: consumed.append(
        message.startswith("consume character"))
    try:
        edit()
    finally:
        document.parser.logger = None
    return sum(consumed)


def _real_python() -> str:
    return (Path(sysconfig.get_paths()["stdlib"]) / "argparse.py").read_text(encoding="utf-8")


def _big_go() -> str:
    return "package big\n\n" + "".join(
        f"func f{i}(x int) int {{\n\ty := x * {i}\n\treturn y + 1\n}}\n\n" for i in range(400))


@pytest.mark.parametrize("language, make, anchor", [
    ("python", _real_python, "formatter = self._get_formatter()"),
    ("go", _big_go, "y := x * 200"),
])
def test_one_character_edit_reparses_incrementally(language, make, anchor):
    text = make()
    document = ParsedDocument(text, language)
    full = ParsedDocument("", language)
    full_work = _lexed_characters(full, lambda: full.apply_edit(0, 0, text))
    offset = text.index(anchor) + 1  # typing inside an identifier, mid-file
    work = _lexed_characters(document, lambda: document.apply_edit(offset, offset, "z"))
    assert document.last_parse.incremental
    assert full_work > len(text) // 2  # a parse from nothing reads the whole text
    assert work < full_work / 10  # the edit re-reads only around the change
    # tree-sitter reports the syntax changed only near the edit (or nowhere)
    changed = document.last_parse.changed_ranges
    assert all(r.end_byte - r.start_byte < 200 for r in changed)
    assert document.text[offset - 1:offset + 1] == anchor[0] + "z"
    assert str(document.tree.root_node) == str(ParsedDocument(document.text, language)
                                                .tree.root_node)


def test_edited_tree_equals_a_fresh_parse_after_random_edits():
    rng = random.Random(0)
    text = (DATA / "inventory.ts").read_text()
    document = ParsedDocument(text, "typescript")
    pieces = ["x", "é", "😀", "\n", "  ", "{", "}", "const a = 1;\n", ""]
    for _ in range(60):
        start = rng.randrange(len(document.text) + 1)
        end = min(len(document.text), start + rng.randrange(6))
        document.apply_edit(start, end, rng.choice(pieces))
        assert document.last_parse.incremental
        assert document.tree.root_node.text == document.text.encode()  # what was parsed
    fresh = ParsedDocument(document.text, "typescript")
    assert str(document.tree.root_node) == str(fresh.tree.root_node)
    assert document.tree.root_node.end_byte == len(document.text.encode())


def test_offsets_are_characters_and_nodes_are_found_by_them():
    document = ParsedDocument("s = '😀é'\nx = 1\n", "python")
    offset = document.text.index("x")
    assert document.byte_offset(offset) == offset + 3 + 1  # 😀 is 4 bytes, é 2
    assert document.char_offset(document.byte_offset(offset)) == offset
    assert document.node_at(offset).type == "identifier"


def test_edit_outside_the_document_is_a_clear_error():
    document = ParsedDocument("x = 1\n", "python")
    with pytest.raises(UserError, match="outside the document"):
        document.apply_edit(3, 99, "")
    assert document.text == "x = 1\n"


def test_very_large_text_is_kept_without_a_tree():
    document = ParsedDocument("x = 1\n" * (MAX_PARSE_CHARS // 6 + 10), "python")
    assert document.tree is None and document.language.name == "python"
    document.apply_edit(0, 1, "y")
    assert document.text.startswith("y = 1")


def test_insertion_tree_leaves_the_document_alone():
    document = ParsedDocument("def f():\n    \n", "python")
    before = str(document.tree.root_node)
    tree, data = document.tree_with_insertion(13, "return 1")
    assert data == b"def f():\n    return 1\n"
    assert "return_statement" in str(tree.root_node)
    assert str(document.tree.root_node) == before


def test_snapshots_taken_while_another_thread_edits_are_consistent():
    import threading

    document = ParsedDocument((DATA / "queue.go").read_text(), "go")
    done = threading.Event()

    def edit():
        rng = random.Random(1)
        for _ in range(300):
            at = rng.randrange(len(document.text))
            document.apply_edit(at, at, "x")
            document.apply_edit(at, at + 1, "")
        done.set()

    worker = threading.Thread(target=edit)
    worker.start()
    checked = 0
    while not done.is_set() or checked == 0:
        copy = document.snapshot()
        assert copy.tree.root_node.end_byte == len(copy.text.encode())
        checked += 1
    worker.join()
