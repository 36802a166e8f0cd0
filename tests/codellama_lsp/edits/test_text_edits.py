"""Minimal line edits and unified diffs between the old and new text of a range."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codellama_lsp.edits.text_edits import (
    Position,
    TextEdit,
    apply_edits,
    line_edits,
    split_lines,
    unified_diff,
)
from codellama_lsp.syntax.positions import Encoding

pytestmark = pytest.mark.server


def test_only_changed_lines_are_edited():
    old = "a\nb\nc\nd\ne\n"
    new = "a\nB\nc\nd\ne\nf\n"
    edits = line_edits(old, new, first_line=10)
    assert edits == [TextEdit(Position(11, 0), Position(12, 0), "B\n"),
                     TextEdit(Position(15, 0), Position(15, 0), "f\n")]


def test_deleted_lines_become_an_empty_edit():
    assert line_edits("a\nb\nc\n", "a\nc\n") == [TextEdit(Position(1, 0), Position(2, 0), "")]


def test_crlf_lines_that_stay_are_not_edited():
    old = "x = 1\r\ny = 2\r\nz = 3\r\n"
    new = "x = 1\r\ny = 20\r\nz = 3\r\n"
    assert line_edits(old, new) == [TextEdit(Position(1, 0), Position(2, 0), "y = 20\r\n")]


def test_last_line_without_newline_ends_inside_the_line_in_utf16_units():
    old = "a\nb😀"  # the emoji is two UTF-16 code units
    edits = line_edits(old, "a\nc", first_line=4)
    assert edits == [TextEdit(Position(5, 0), Position(5, 3), "c")]
    assert apply_edits("z\n" * 4 + old, edits) == "z\n" * 4 + "a\nc"
    assert line_edits(old, "a\nc", 4, Encoding.UTF8)[0].end == Position(5, 5)
    assert line_edits(old, "a\nc", 4, Encoding.UTF32)[0].end == Position(5, 2)
    assert apply_edits(old, line_edits(old, "a\nc", 0, Encoding.UTF8), Encoding.UTF8) == "a\nc"


def test_as_lsp_json():
    edit = TextEdit(Position(1, 0), Position(2, 0), "x\n")
    assert edit.as_lsp() == {"range": {"start": {"line": 1, "character": 0},
                                       "end": {"line": 2, "character": 0}}, "newText": "x\n"}


def test_split_lines_keeps_ends_and_splits_at_lf_only():
    assert split_lines("") == []
    assert split_lines("a\r\nb\x0cc\rd\n\ne") == ["a\r\n", "b\x0cc\rd\n", "\n", "e"]


lines = st.lists(st.sampled_from(["a", "b", "c", "  x = 1", "", "é😀", "\t}"]), max_size=8)


@settings(max_examples=200, deadline=None)
@given(old=lines, new=lines, old_end=st.sampled_from(["\n", "\r\n", ""]),
       new_end=st.sampled_from(["\n", "\r\n", ""]), above=st.integers(0, 3))
def test_edits_turn_old_into_new(old, new, old_end, new_end, above):
    old_text = "\n".join(old) + (old_end if old else "")
    new_text = "\n".join(new) + (new_end if new else "")
    prefix = "p\n" * above
    edits = line_edits(old_text, new_text, first_line=above)
    assert apply_edits(prefix + old_text, edits) == prefix + new_text


@settings(max_examples=100, deadline=None)
@given(old=lines.filter(bool), index=st.integers(0, 7), replacement=st.sampled_from(["NEW", ""]))
def test_one_changed_line_gives_one_one_line_edit(old, index, replacement):
    index %= len(old)
    if old[index] == replacement:
        return
    new = old[:index] + [replacement] + old[index + 1:]
    edits = line_edits("\n".join(old) + "\n", "\n".join(new) + "\n", first_line=2)
    assert len(edits) == 1
    assert edits[0].end.line - edits[0].start.line == 1
    assert edits[0].new_text == replacement + "\n"


def test_unified_diff_applies_with_patch(tmp_path):
    old = "one\r\ntwo\r\nthree\r\nfour\r\nfive"
    new = "one\r\nTWO\r\nthree\r\nfour\r\nfive\r\nsix"
    (tmp_path / "f.txt").write_bytes(old.encode())
    diff = unified_diff(old, new, "f.txt")
    assert diff.startswith("--- a/f.txt\n+++ b/f.txt\n@@ ")
    assert "\\ No newline at end of file\n" in diff
    done = subprocess.run(["patch", "-p1", "--binary", "-s"], input=diff.encode(), cwd=tmp_path,
                          capture_output=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "f.txt").read_bytes() == new.encode()


def test_no_change_no_diff():
    assert unified_diff("a\n", "a\n", "f") == ""
    assert line_edits("a\n", "a\n") == []
