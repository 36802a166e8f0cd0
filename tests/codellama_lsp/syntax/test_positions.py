"""Positions in UTF-16 (LSP's default), UTF-8 and UTF-32 units, with surrogate pairs and CRLF."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codellama_lsp.lsp.documents import Change, Document
from codellama_lsp.syntax.positions import Encoding, LineIndex, PositionError, units

pytestmark = pytest.mark.unit

TEXT = "a😀b\r\nçd\rx\n"  # an emoji (a surrogate pair in UTF-16), CRLF, a lone CR


@pytest.mark.parametrize("encoding, character, offset", [
    (Encoding.UTF16, 0, 0), (Encoding.UTF16, 1, 1), (Encoding.UTF16, 3, 2), (Encoding.UTF16, 4, 3),
    (Encoding.UTF16, 2, 1),  # inside the surrogate pair: rounded down to the emoji's start
    (Encoding.UTF8, 5, 2), (Encoding.UTF8, 6, 3), (Encoding.UTF8, 3, 1),
    (Encoding.UTF32, 2, 2), (Encoding.UTF32, 3, 3),
    (Encoding.UTF16, 99, 3),  # past the line's end: the line's end, never into "\r\n"
])
def test_offsets_on_a_line_with_an_emoji(encoding, character, offset):
    assert LineIndex(TEXT).offset(0, character, encoding) == offset


def test_crlf_and_lone_cr_end_lines():
    index = LineIndex(TEXT)
    assert index.line_count == 4
    assert index.offset(1, 0, Encoding.UTF16) == 5  # after "\r\n"
    assert index.offset(1, 2, Encoding.UTF8) == 6  # "ç" is two UTF-8 bytes
    assert index.offset(1, 9, Encoding.UTF16) == 7  # clamped before the lone "\r"
    assert index.offset(2, 1, Encoding.UTF16) == 9
    assert index.offset(3, 0, Encoding.UTF16) == len(TEXT)


def test_positions_back_from_offsets():
    index = LineIndex(TEXT)
    assert index.position(2, Encoding.UTF16) == (0, 3)
    assert index.position(2, Encoding.UTF8) == (0, 5)
    assert index.position(2, Encoding.UTF32) == (0, 2)
    assert index.position(len(TEXT), Encoding.UTF16) == (3, 0)


def test_out_of_range_lines_are_errors_unless_clamped():
    index = LineIndex("one\ntwo")
    with pytest.raises(PositionError, match="line 5 is out of range"):
        index.offset(5, 0, Encoding.UTF16)
    with pytest.raises(PositionError):
        index.offset(-1, 0, Encoding.UTF16)
    assert index.offset(5, 0, Encoding.UTF16, clamp=True) == 7


def test_an_incremental_edit_inserts_after_the_emoji():
    document = Document("file:///x", "python", 1, "x = '😀'\r\ny = 1\r\n")
    document.apply(Change("!", (0, 8), (0, 8)), Encoding.UTF16)  # the emoji counts 2
    assert document.text == "x = '😀'!\r\ny = 1\r\n"
    document.apply(Change("z", (1, 0), (1, 1)), Encoding.UTF16)
    assert document.text == "x = '😀'!\r\nz = 1\r\n"
    document.apply(Change("", (0, 9), (1, 0)), Encoding.UTF16)  # join the lines over the CRLF
    assert document.text == "x = '😀'!z = 1\r\n"


texts = st.lists(st.sampled_from(list("ab \t\n\r") + ["😀", "ç", "€", "\r\n"]),
                 max_size=30).map("".join)


@given(texts, st.data(), st.sampled_from(list(Encoding)))
def test_position_offset_round_trip(text, data, encoding):
    index = LineIndex(text)
    # every offset that starts a code point and is not inside a "\r\n"
    valid = [i for i in range(len(text) + 1) if not (0 < i < len(text) and
                                                      text[i - 1] == "\r" and text[i] == "\n")]
    offset = data.draw(st.sampled_from(valid))
    line, character = index.position(offset, encoding)
    assert index.offset(line, character, encoding) == offset
    assert units(text[index.starts[line]:offset], encoding) == character


@given(texts, texts, st.data())
def test_an_edited_index_is_the_index_of_the_edited_text(text, new_text, data):
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    after = text[:start] + new_text + text[end:]
    edited = LineIndex(text).edited(start, end, new_text, after)
    assert edited.text is after
    assert edited.starts == LineIndex(after).starts


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 12), st.integers(0, 4),
                          st.sampled_from(["", "x", "\n", "ab\n\ncd", "😀\n"])), max_size=12))
def test_a_document_keeps_its_index_in_step_through_changes(changes):
    document = Document("file:///x", "python", 1, "def f():\n    return 1\n\nx = f()\n")
    for line, character, length, text in changes:
        start = (line, character)
        document.apply(Change(text, start, (line, character + length)), Encoding.UTF16)
        assert document.index.starts == LineIndex(document.text).starts
