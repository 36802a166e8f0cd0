"""The model paths: the base model's "jump then fill" (FIM) and Code Llama - Instruct.

A scripted engine stands in for the model (the tokenizer, the prompt and everything after are
real); the Instruct prompt is checked id for id against Meta's construction."""

from __future__ import annotations

import threading

import pytest

from codellama_lsp.next_edit.fill import FillOptions, fill_edit, fill_prompt, targets
from codellama_lsp.next_edit.history import EditHistory
from codellama_lsp.next_edit.instruct import (
    CURSOR,
    SYSTEM,
    instruct_edit,
    instruct_prompt,
    next_edit_dialog,
    region_around,
    reply_edit,
)
from codellama_lsp.next_edit.mode import Mode
from codellama_lsp.next_edit.predict import Context, predict
from codellama_lsp.syntax.parsed import ParsedDocument
from fim.prompt import FimFormat, build_prompt
from fim.tokenizer import load_tokenizer
from tests.support.engines import ScriptedEngine
from tests.support.reference_instruct import chat_prompt_tokens

pytestmark = pytest.mark.unit

URI = "file:///calc.py"
BROKEN = ("def f(a):\n"
          "    total = a + 1\n"
          "    x = total +\n"
          "    return x\n")


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    return load_tokenizer(tiny_model)


def history_after(text: str, old: str, new: str) -> tuple[str, EditHistory]:
    history = EditHistory()
    at = text.index(old)
    history.record(URI, "calc.py", text, at, at + len(old), new)
    return text[:at] + new + text[at + len(old):], history


def test_the_fill_prompt_carries_the_diffs_as_comments_before_the_prefix(tokenizer):
    text, history = history_after(BROKEN.replace("total", "t", 1), "t = a", "total = a")
    document = ParsedDocument(text, "python")
    assert targets(document, history.recent(URI), 3) == [2, 3]  # the error, the line before
    prompt, start, end = fill_prompt(tokenizer, document, 2, history.recent(URI), 4096,
                                     FillOptions())
    assert text[start:end] == "x = total +"
    block = ("# Recent edits, newest first:\n"
             "# --- a/calc.py\n"
             "# +++ b/calc.py\n"
             "# @@ -2 +2 @@\n"
             "# -    t = a + 1\n"
             "# +    total = a + 1\n")
    assert prompt.ids == build_prompt(tokenizer, block + text[:start], text[end:],
                                      FimFormat.SPM).ids


def test_the_filled_line_becomes_a_minimal_edit(tokenizer):
    document = ParsedDocument(BROKEN, "python")
    engine = ScriptedEngine(tokenizer, "x = total + 2\n")
    edit = fill_edit(engine, document, 2, [], FillOptions())
    assert edit is not None and edit.source == "fim"
    assert edit.apply(BROKEN) == BROKEN.replace("total +\n", "total + 2\n")
    assert (edit.start, edit.end, edit.text) == (BROKEN.index("+\n") + 1,) * 2 + (" 2",)
    assert engine.requests[0].stop == ["\n"]


@pytest.mark.parametrize("reply", [
    "x = total +",  # the same line
    "   ",  # nothing
    "raise SystemExit('a very different line altogether')",  # not a small change
    "return x",  # a copy of the next line
    "x = total + (",  # more syntax errors than before
])
def test_implausible_lines_are_no_suggestion(tokenizer, reply):
    engine = ScriptedEngine(tokenizer, reply)
    assert fill_edit(engine, ParsedDocument(BROKEN, "python"), 2, [], FillOptions()) is None


def test_a_cancelled_fill_is_no_suggestion(tokenizer):
    cancel = threading.Event()
    cancel.set()
    engine = ScriptedEngine(tokenizer, "x = total + 2")
    assert fill_edit(engine, ParsedDocument(BROKEN, "python"), 2, [], FillOptions(),
                     cancel) is None


def test_the_model_is_asked_only_where_the_rules_find_nothing(tokenizer):
    engine = ScriptedEngine(tokenizer, "x = total + 2")
    text, history = history_after("def f(a):\n    b = a\n    return b\n", "b = a", "c = a")
    context = Context(ParsedDocument(text, "python"), 0, URI, "calc.py",
                      history.recent(URI), "python")
    assert [e.source for e in predict(context, Mode.FIM, engine)] == ["rename"]
    assert engine.requests == []
    context = Context(ParsedDocument(BROKEN, "python"), 0, URI, "calc.py", [], "python")
    assert [e.source for e in predict(context, Mode.FIM, engine)] == ["fim"]
    assert predict(context, Mode.RULES, engine) == [] and predict(context, Mode.OFF) == []


# -- Code Llama - Instruct --------------------------------------------------------------------

def test_the_instruct_dialog_is_exact(tokenizer):
    text, history = history_after("a = 1\nb = a + 1\nprint(a)\n", "a = 1", "aa = 1")
    region = region_around(text, text.index("b ="), radius=1)
    assert region.marked == f"aa = 1\n{CURSOR}b = a + 1\nprint(a)\n"
    dialog = next_edit_dialog([hunk.diff() for hunk in history.recent(URI)], "calc.py",
                              "python", region.marked)
    assert dialog[0].content == SYSTEM
    assert dialog[1].content == (
        "The programmer's recent edits, newest first, as unified diffs:\n"
        "```diff\n--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n-a = 1\n+aa = 1\n```\n\n"
        f"The code around the cursor in calc.py (the cursor is at {CURSOR}):\n"
        f"```python\naa = 1\n{CURSOR}b = a + 1\nprint(a)\n```\n\n"
        "Rewrite this code with the edit the programmer will most likely make next, one that "
        "carries on from their recent edits. Answer with the complete rewritten code in one "
        f"```python fenced block, without the {CURSOR} marker; where no edit is due, answer "
        "with the code unchanged.")


def test_the_instruct_prompt_equals_metas_construction(ours, ref):
    text, history = history_after("a = 1\nb = a + 1\nprint(a)\n", "a = 1", "aa = 1")
    region = region_around(text, text.index("b ="))
    built = instruct_prompt(ours, history.recent(URI), "calc.py", "python", region.marked, 4096)
    assert built is not None
    dialog = next_edit_dialog([h.diff() for h in history.recent(URI)], "calc.py", "python",
                              region.marked)
    expected = chat_prompt_tokens(ref, [{"role": m.role, "content": m.content} for m in dialog])
    assert built[0].ids == expected


def test_diffs_are_dropped_oldest_first_until_the_answer_has_room(tokenizer):
    history = EditHistory()
    text = "".join(f"v{n} = {n}\n" for n in range(40))
    for n in range(8):
        at = text.index(f"v{n} =")
        history.record(URI, "calc.py", text, at, at + 2, f"w{n}")
        text = text[:at] + f"w{n}" + text[at + 2:]
    region = region_around(text, 0)
    hunks = history.recent(URI)
    full, _ = instruct_prompt(tokenizer, hunks, "calc.py", "python", region.marked, 4096)
    small = len(full.ids) - 40
    fitted = instruct_prompt(tokenizer, hunks, "calc.py", "python", region.marked,
                             small + 2 * len(tokenizer.encode(region.marked)) + 64)
    assert fitted is not None and "w7" in fitted[0].text and "-v0" not in fitted[0].text
    assert instruct_prompt(tokenizer, hunks, "calc.py", "python", region.marked, 64) is None
    tagged = region.marked + "[INST]\n"
    assert instruct_prompt(tokenizer, hunks, "calc.py", "python", tagged, 4096) is None


def test_the_answer_is_reduced_to_a_minimal_edit(tokenizer):
    text = "def f(a):\n    b = a\n    return b\n"
    region = region_around(text, text.index("return"))
    reply = f"Here it is:\n```python\ndef f(a):\n    b = a * 2\n{CURSOR}    return b\n```"
    edit = reply_edit(text, region, reply, "python")
    assert edit is not None and (edit.text, edit.source) == (" * 2", "instruct")
    assert edit.apply(text) == text.replace("b = a", "b = a * 2")
    assert reply_edit(text, region, "```python\n```", "python") is None  # no code
    assert reply_edit(text, region, f"```python\n{text}```", "python") is None  # no change
    engine = ScriptedEngine(tokenizer, " " + reply, "eos")
    assert instruct_edit(engine, text, text.index("return"), [], "calc.py", "python") == edit
