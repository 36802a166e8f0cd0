"""The edit history: the editor's changes as line hunks, and their diffs."""

from __future__ import annotations

import pytest

from codellama_lsp.next_edit.history import EditHistory, render_diffs

pytestmark = pytest.mark.unit

TEXT = "def f(a):\n    x = a + 1\n    return x\n\nprint(f(2))\n"


class Typist:
    """Types into one document of a history, as an editor sends its changes."""

    def __init__(self, history: EditHistory, uri: str = "file:///a.py", text: str = TEXT
                 ) -> None:
        self.history, self.uri, self.text = history, uri, text

    def replace(self, start: int, end: int, new: str) -> None:
        self.history.record(self.uri, "a.py", self.text, start, end, new)
        self.text = self.text[:start] + new + self.text[end:]

    def type(self, at: int, chars: str) -> None:
        for offset, char in enumerate(chars):
            self.replace(at + offset, at + offset, char)

    def delete(self, at: int, count: int) -> None:
        for _ in range(count):
            self.replace(at, at + 1, "")


def test_keystrokes_on_the_same_lines_make_one_hunk():
    history = EditHistory()
    typist = Typist(history)
    at = typist.text.index("+ 1") + 3
    typist.type(at, " + 2")
    typist.type(typist.text.index(" + 2") + 4, "\n    y = 0")  # a new line, typed
    (hunk,) = history.recent("file:///a.py")
    assert (hunk.first_line, hunk.old) == (1, "    x = a + 1\n")
    assert hunk.new == "    x = a + 1 + 2\n    y = 0\n"
    assert hunk.diff() == ("--- a/a.py\n+++ b/a.py\n@@ -2 +2,2 @@\n"
                           "-    x = a + 1\n+    x = a + 1 + 2\n+    y = 0\n")
    typist.type(typist.text.index("return x") + 8, "  # x")  # the next line: a hunk of its own
    assert [h.first_line for h in history.recent("file:///a.py")] == [3, 1]


def test_typed_then_undone_leaves_nothing():
    history = EditHistory()
    typist = Typist(history)
    at = typist.text.index("x =")
    typist.type(at, "zz")
    typist.delete(at, 2)
    assert history.recent("file:///a.py") == [] and len(history) == 0


def test_changes_elsewhere_are_new_hunks_newest_first_and_other_documents_follow():
    history = EditHistory()
    other = Typist(history, "file:///b.py")
    other.type(0, "# b\n")
    typist = Typist(history)
    typist.type(typist.text.index("print"), "x = ")
    typist.type(0, "import os\n")
    hunks = history.recent("file:///a.py")
    assert [(h.uri, h.first_line) for h in hunks] == [
        ("file:///a.py", 0), ("file:///a.py", 4), ("file:///b.py", 0)]
    assert history.latest("file:///a.py") == hunks[0]
    assert hunks[0].old == "def f(a):\n" and hunks[0].new == "import os\ndef f(a):\n"


def test_a_whole_document_replacement_is_trimmed_to_what_changed():
    history = EditHistory()
    typist = Typist(history)
    typist.replace(0, len(typist.text), TEXT.replace("return x", "return x * 2"))
    (hunk,) = history.recent("file:///a.py")
    assert (hunk.first_line, hunk.old, hunk.new) == (2, "    return x\n",
                                                     "    return x * 2\n")


def test_bounded_per_document_and_in_documents():
    history = EditHistory(per_document=3, documents=2)
    typist = Typist(history, text="".join(f"line {n}\n" for n in range(10)))
    for line in range(6):
        typist.type(typist.text.index(f"line {line}\n") + 6, "!")
    assert [h.first_line for h in history.recent("file:///a.py")] == [5, 4, 3]
    for name in ("b", "c"):
        Typist(history, f"file:///{name}.py").type(0, "x")
    assert history.latest("file:///a.py") is None and len(history) == 2
    history.forget("file:///b.py")
    assert [h.uri for h in history.recent("file:///c.py")] == ["file:///c.py"]


def test_deleted_and_inserted_lines_name_the_line_before_in_the_diff():
    history = EditHistory()
    typist = Typist(history)
    line = typist.text.index("\nprint")
    typist.replace(line, line + 1, "")  # joins the blank line with print(...)
    (hunk,) = history.recent("file:///a.py")
    assert hunk.diff().splitlines()[2] == "@@ -4,2 +4 @@"


def test_diffs_are_kept_within_the_token_budget_newest_first():
    history = EditHistory()
    typist = Typist(history)
    typist.type(0, "# one\n")
    typist.type(typist.text.index("print"), "# two\n")
    hunks = history.recent("file:///a.py")
    assert render_diffs(hunks, len, 10_000) == hunks[0].diff() + hunks[1].diff()
    assert render_diffs(hunks, len, len(hunks[0].diff())) == hunks[0].diff()
    assert render_diffs(hunks, len, 5) == ""


def test_crlf_lines_keep_their_ends_and_diff_in_lf():
    history = EditHistory()
    typist = Typist(history, text="a = 1\r\nb = 2\r\n")
    typist.type(typist.text.index("2"), "4")
    (hunk,) = history.recent("file:///a.py")
    assert (hunk.old, hunk.new) == ("b = 2\r\n", "b = 42\r\n")
    assert "\r" not in hunk.diff()
