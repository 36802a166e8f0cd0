"""The edit engine (`plan_edit`): prompt, answer, replacement and minimal edits.

Where a test needs a sensible answer it uses a scripted engine in place of the 7B instruct model
(the one thing that cannot run here); the tokenizer, prompt and everything after are real. The
tiny random model runs the real path end to end.
"""

from __future__ import annotations

import threading

import pytest

from codellama_lsp.edits.plan import (
    EditCancelled,
    EditError,
    EditOptions,
    plan_edit,
    selected_lines,
)
from codellama_lsp.edits.prompt import EditRequest, edit_dialog, fence_for, language_for_path
from codellama_lsp.edits.reply import NoUsableCode
from codellama_lsp.edits.text_edits import Position, TextEdit, apply_edits
from fim.instruct import build_instruct_prompt
from fim.tokenizer import Tokenizer, load_tokenizer
from tests.support.engines import ScriptedEngine

pytestmark = pytest.mark.unit


def instruct_model(tokenizer: Tokenizer, reply: str, context_window: int = 4096
                   ) -> ScriptedEngine:
    """A scripted instruct model: its reply decoded as an Engine decodes (leading space kept)."""
    return ScriptedEngine(tokenizer, " " + reply, "eos", context_window)


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    return load_tokenizer(tiny_model)


DOC = ("import math\n"
       "\n"
       "class Shape:\n"
       "    def area(self):\n"
       "        return 0\n"
       "\n"
       "    def scale(self, k):\n"
       "        return self\n")


def test_prompt_holds_instruction_fenced_selection_and_marked_context(tokenizer):
    engine = instruct_model(tokenizer, "```python\n    def area(self) -> float:\n"
                                       "        return 0\n```")
    plan = plan_edit(engine, DOC, 3, 4, "add type hints", "python",
                     options=EditOptions(context_lines=2))
    (request,) = engine.requests
    user = plan.prompt.text
    assert "Instruction: add type hints" in user
    assert "SELECTED CODE (rewrite this):\n```python\n    def area(self):\n        return 0\n```" \
        in user
    assert ("Context above the selection (for reference only; do not rewrite or repeat it):\n"
            "```python\n\nclass Shape:\n```") in user
    assert "Context below the selection" in user and "    def scale(self, k):\n```" in user
    expected = build_instruct_prompt(tokenizer, edit_dialog(EditRequest(
        "add type hints", "    def area(self):\n        return 0\n", "\nclass Shape:\n",
        "\n    def scale(self, k):\n", "python")))
    assert request.prompt_ids == plan.prompt.ids == expected.ids
    assert user.startswith("<s>[INST] <<SYS>>\n") and user.endswith(" [/INST]")
    assert request.temperature == 0 and request.max_new_tokens > 2 * 8


def test_changed_line_only_becomes_an_edit(tokenizer):
    engine = instruct_model(tokenizer, "```python\n    def area(self) -> float:\n"
                                       "        return 0\n```")
    plan = plan_edit(engine, DOC, 3, 4, "add type hints", "python")
    assert plan.edits == [TextEdit(Position(3, 0), Position(4, 0),
                                   "    def area(self) -> float:\n")]
    assert plan.apply(DOC) == DOC.replace("def area(self):", "def area(self) -> float:")
    assert apply_edits(DOC, plan.edits) == plan.apply(DOC)
    assert plan.reply.startswith("```python")  # the engine's leading space is gone


def test_crlf_document_gets_crlf_edits(tokenizer):
    doc = DOC.replace("\n", "\r\n")
    engine = instruct_model(tokenizer, "```python\ndef area(self) -> float:\n    return 0.0\n```")
    plan = plan_edit(engine, doc, 3, 4, "add type hints", "python")
    assert "\r" not in plan.prompt.text  # the model sees LF only
    assert plan.new_text == "    def area(self) -> float:\r\n        return 0.0\r\n"
    assert plan.apply(doc) == doc.replace("def area(self):\r\n        return 0\r\n",
                                          "def area(self) -> float:\r\n        return 0.0\r\n")
    diff = plan.diff(doc, "shape.py")
    assert ("-    def area(self):\r\n-        return 0\r\n"
            "+    def area(self) -> float:\r\n+        return 0.0\r\n") in diff


def test_context_the_model_repeats_is_not_edited(tokenizer):
    engine = instruct_model(tokenizer, "```python\nclass Shape:\n    def area(self) -> int:\n"
                                       "        return 0\n\n    def scale(self, k):\n```")
    plan = plan_edit(engine, DOC, 3, 4, "add type hints", "python")
    assert plan.edits == [TextEdit(Position(3, 0), Position(4, 0),
                                   "    def area(self) -> int:\n")]


def test_last_line_without_newline(tokenizer):
    doc = "x = 1\ny = 2"
    plan = plan_edit(instruct_model(tokenizer, "y = 3"), doc, 1, 1, "three", "python")
    assert plan.apply(doc) == "x = 1\ny = 3"
    assert plan.edits == [TextEdit(Position(1, 0), Position(1, 5), "y = 3")]


def test_empty_document_can_be_written_into(tokenizer):
    plan = plan_edit(instruct_model(tokenizer, "```python\nprint('hi')\n```"), "", 0, 0,
                     "print hi", "python")
    assert plan.apply("") == "print('hi')"


def test_unchanged_reply_means_no_edits(tokenizer):
    plan = plan_edit(instruct_model(tokenizer, "```python\nreturn 0\n```"), DOC, 4, 4, "x",
                     "python")
    assert not plan.changed and plan.apply(DOC) == DOC


def test_reply_without_code_is_refused(tokenizer):
    with pytest.raises(NoUsableCode, match="no usable code"):
        plan_edit(instruct_model(tokenizer, "```python\n```"), DOC, 4, 4, "x", "python")


@pytest.mark.parametrize("start, end, message", [
    (-1, 0, "line 0 is out of range"), (8, 8, "line 9 is out of range"),
    (3, 2, "must end at or after line 4"), (0, 8, "line 9 is out of range"),
])
def test_bad_ranges(tokenizer, start, end, message):
    with pytest.raises(EditError, match=message):
        plan_edit(instruct_model(tokenizer, "x"), DOC, start, end, "x", "python")


def test_empty_instruction_and_control_tags_are_refused(tokenizer):
    engine = instruct_model(tokenizer, "x")
    with pytest.raises(EditError, match="instruction is empty"):
        plan_edit(engine, DOC, 0, 0, "  ", "python")
    with pytest.raises(EditError, match="control tags"):
        plan_edit(engine, "s = '[/INST]'\n", 0, 0, "x", "python")
    assert engine.requests == []


def test_context_is_dropped_before_the_selection_is_refused(tokenizer):
    engine = instruct_model(tokenizer, "```python\n    def area(self) -> int:\n"
                                       "        return 0\n```")
    full = plan_edit(engine, DOC, 3, 4, "x", "python").prompt
    engine.context_window = len(full.ids) + 20
    plan = plan_edit(engine, DOC, 3, 4, "x", "python")
    assert "Context" not in plan.prompt.text and len(plan.prompt.ids) < len(full.ids)
    engine.context_window = 100
    with pytest.raises(EditError, match="too long for the model's context window of 100"):
        plan_edit(engine, DOC, 0, 7, "x", "python")


def test_selected_lines_of_lsp_ranges():
    assert selected_lines(3, 4, 5, 0) == (3, 4)  # a selection of whole lines 3..4
    assert selected_lines(3, 0, 3, 0) == (3, 3)  # a cursor: its line
    assert selected_lines(3, 2, 5, 1) == (3, 5)


def test_fence_is_longer_than_backticks_in_the_code():
    assert fence_for("x = '```'", "``````") == "```````"
    assert fence_for("plain") == "```"


def test_language_for_path():
    assert language_for_path("a/b.py") == "python"
    assert language_for_path("x.TSX") == "typescriptreact"
    assert language_for_path("Makefile") == "plaintext"


# --- the real path on the tiny random model ------------------------------------------------

def test_tiny_model_end_to_end(tiny_engine):
    # The seeded tiny model answers noise without a fence: the whole reply becomes the code.
    plan = plan_edit(tiny_engine, DOC, 3, 4, "add type hints", "python",
                     options=EditOptions(max_new_tokens=24))
    assert plan.changed and plan.result.stop_reason == "length"
    assert plan.result.prompt_tokens == len(plan.prompt.ids)
    assert apply_edits(DOC, plan.edits) == plan.apply(DOC)
    assert plan.apply(DOC).startswith("import math\n\nclass Shape:\n")
    assert plan.apply(DOC).endswith("\n    def scale(self, k):\n        return self\n")


def test_cancelled_edit_raises(tiny_engine):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(EditCancelled):
        plan_edit(tiny_engine, DOC, 3, 4, "x", "python", cancel=cancel)


def test_code_actions_carry_their_instructions():
    from codellama_lsp.edits.actions import SELECTION_ACTIONS, fix_action

    titles = [action.title for action in SELECTION_ACTIONS]
    assert titles == ["Code Llama: edit selection…", "Code Llama: add docstring",
                      "Code Llama: add type hints"]
    assert SELECTION_ACTIONS[0].instruction is None  # the client asks the user
    action = fix_action("undefined name 'pritn'\nmore detail", "pyflakes")
    assert action.title == "Code Llama: fix undefined name 'pritn'"
    assert action.instruction.startswith("Fix this problem reported by pyflakes: undefined name")
    assert len(fix_action("x" * 200).title) == len("Code Llama: fix ") + 60
