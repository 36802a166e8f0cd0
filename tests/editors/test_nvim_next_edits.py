"""Next-edit suggestions in the Neovim plugin (editors/nvim/lua/codellama/next_edit.lua), in a
real headless Neovim 0.11 against the real server (see test_nvim.py for how it is driven).

The server runs with `nextEdits: "rules"`: a rename at one occurrence suggests the others,
model-free, so every suggestion here is deterministic.
"""

from __future__ import annotations

import sys

import pytest

from tests.editors.test_nvim import Editor, start_editor, statusline, stop_editor
from tests.support.paths import ROOT
from tests.support.waiting import until

pytestmark = pytest.mark.editors

SOURCE = ("def total(items):\n"
          "    count = 0\n"
          "    for item in items:\n"
          "        count += item.count\n"
          "    print(count)\n"
          "    return count\n"
          "\n"
          "count = 3\n")
RENAMED_FIRST = SOURCE.replace("count = 0", "n = 0", 1).splitlines()
RENAMED = SOURCE.replace("count = 0", "n = 0").replace("count +=", "n +=") \
    .replace("print(count)", "print(n)").replace("return count", "return n").splitlines()
CHANGED_ROWS = [3, 4, 5]  # where the other occurrences are (0-based)
SETUP = """
local cmd, root, model = ...
require("codellama").setup({
  cmd = cmd,
  cmd_env = { PYTHONPATH = root, HF_HUB_OFFLINE = "1", TRANSFORMERS_OFFLINE = "1" },
  settings = { model = model, instructModel = model, nextEdits = "rules", nextEditDelayMs = 40 },
  debounce_ms = 20,
})
"""


@pytest.fixture(scope="module")
def editor(tiny_model, tmp_path_factory):
    editor = start_editor(tmp_path_factory, str(tiny_model), str(tiny_model))
    # Set up again, before any buffer starts a server, with next edits from the rules.
    editor.lua(SETUP, [sys.executable, "-m", "codellama_lsp", "lsp"], str(ROOT), str(tiny_model))
    editor.open("first.py", SOURCE)
    until(lambda: statusline(editor) == "CodeLlama: ready", "the model loaded (statusline)")
    yield editor
    stop_editor(editor)


def visible(editor: Editor) -> bool:
    return editor.lua("return require('codellama.next_edit').visible()")


def counters(editor: Editor) -> dict:
    return editor.lua("return require('codellama.next_edit').counters")


def marks(editor: Editor) -> list:
    ns = editor.lua("return require('codellama.next_edit').ns")
    return editor.nvim.api.buf_get_extmarks(0, ns, 0, -1, {"details": True})


def cursor(editor: Editor) -> tuple[int, int]:
    row, col = editor.nvim.current.window.cursor
    return row - 1, col


def rename_first(editor: Editor, name: str) -> None:
    """Open SOURCE, rename the first `count` to `n` as a user would, and wait until the next
    edit is shown."""
    editor.open(name, SOURCE)
    editor.nvim.input("2G^ciwn<Esc>")
    until(lambda: editor.mode() == "n" and editor.lines() == RENAMED_FIRST, "renamed once")
    until(lambda: visible(editor), "the next edit shown")


def test_the_next_edit_is_drawn_deletions_highlighted_additions_as_virtual_lines(editor):
    shown_before = editor.server_stats()["next_edits"]["shown"]
    rename_first(editor, "drawn.py")
    assert editor.lines() == RENAMED_FIRST  # drawn, not applied
    deleted = {(row, col, details["end_col"]) for _, row, col, details in marks(editor)
               if details.get("hl_group") == "CodeLlamaNextEditDelete"}
    added = {row: [chunks[0][0] for chunks in details["virt_lines"]]
             for _, row, _, details in marks(editor) if details.get("virt_lines")}
    assert {(row, SOURCE.splitlines()[row][col:end]) for row, col, end in deleted} == {
        (row, "count") for row in CHANGED_ROWS}
    assert added == {row: [RENAMED[row]] for row in CHANGED_ROWS}
    until(lambda: editor.server_stats()["next_edits"]["shown"] > shown_before,
          "didShowInlineEdit reached the server")


def test_tab_jumps_to_the_edit_and_a_second_tab_applies_it_as_one_undo_step(editor):
    accepted_before = editor.server_stats()["next_edits"]["accepted"]
    rename_first(editor, "apply.py")
    assert cursor(editor)[0] == 1
    editor.nvim.input("<Tab>")
    until(lambda: cursor(editor)[0] == CHANGED_ROWS[0], "jumped to the edit")
    assert cursor(editor) == (3, len("        "))  # at the first deleted part
    assert editor.lines() == RENAMED_FIRST and visible(editor)
    editor.nvim.input("<Tab>")
    until(lambda: editor.lines() == RENAMED, "the next edit applied")
    until(lambda: editor.server_stats()["next_edits"]["accepted"] == accepted_before + 1,
          "the accept command reached the server")
    editor.nvim.input("u")
    until(lambda: editor.lines() == RENAMED_FIRST, "one undo takes the whole edit back")


def test_esc_dismisses_the_next_edit(editor):
    rename_first(editor, "dismiss.py")
    dismissed = counters(editor)["dismissed"]
    editor.nvim.input("<Esc>")
    until(lambda: not visible(editor), "dismissed")
    assert marks(editor) == [] and editor.lines() == RENAMED_FIRST
    assert counters(editor)["dismissed"] == dismissed + 1 and editor.mode() == "n"
    # Without a next edit, Tab is what it was (a jump forward in the jumplist: nowhere).
    editor.nvim.command('call feedkeys("\\<Tab>", "x")')  # mappings apply; done on return
    assert editor.lines() == RENAMED_FIRST and cursor(editor)[0] == 1


def test_the_next_edit_clears_once_the_cursor_moves_away(editor):
    rename_first(editor, "away.py")
    editor.nvim.input("j")  # a line between the cursor and the edit: still shown
    until(lambda: cursor(editor)[0] == 2, "moved down one line")
    assert visible(editor)
    editor.nvim.input("G")  # the last line: away from both
    until(lambda: not visible(editor), "cleared")
    assert marks(editor) == [] and editor.lines() == RENAMED_FIRST


def test_a_changed_buffer_never_gets_the_edit(editor):
    rename_first(editor, "stale.py")
    refused = counters(editor)["refused"]
    # A change the plugin has not seen yet (no TextChanged in between), then the accept.
    applied = editor.lua("""
        vim.api.nvim_buf_set_lines(0, 6, 6, false, { "# moved on" })
        vim.api.nvim_win_set_cursor(0, { 4, 0 })
        return require('codellama.next_edit').accept()""")
    assert applied is False
    assert counters(editor)["refused"] == refused + 1
    expected = RENAMED_FIRST[:6] + ["# moved on"] + RENAMED_FIRST[6:]
    assert editor.lines() == expected
    assert marks(editor) == [] or visible(editor)  # a later suggestion is for the new text


@pytest.mark.parametrize("switch_off, switch_on", [
    ("vim.b.codellama_enabled = false", "vim.b.codellama_enabled = nil"),
    ("require('codellama').config.disabled_filetypes = { 'python' }",
     "require('codellama').config.disabled_filetypes = {}"),
])
def test_no_next_edit_where_suggestions_are_off(editor, switch_off, switch_on):
    editor.open(f"off-{len(switch_off)}.py", SOURCE)
    editor.lua(switch_off)
    requests = counters(editor)["requests"]
    editor.nvim.input("2G^ciwn<Esc>")
    until(lambda: editor.mode() == "n" and editor.lines() == RENAMED_FIRST, "renamed once")
    # Back on, a second change asks once: the first one (its TextChanged ran before) asked nothing.
    editor.lua(switch_on)
    editor.nvim.input("Go<Esc>")
    until(lambda: counters(editor)["requests"] > requests, "the change after switching on asks")
    assert counters(editor)["requests"] == requests + 1


def test_codellama_toggle_clears_the_next_edit_on_screen(editor):
    rename_first(editor, "toggle.py")
    editor.nvim.command("CodeLlamaToggle")
    try:
        assert not visible(editor) and marks(editor) == []
        assert editor.lines() == RENAMED_FIRST
    finally:
        editor.nvim.command("CodeLlamaToggle")
