"""Code Llama - Instruct prompts equal Meta's `chat_completion` construction on the real-layout
Code Llama tokenizer; malformed dialogs are refused with a clear message."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fim.instruct import (
    DialogError,
    Message,
    answer_text,
    build_instruct_prompt,
    has_special_tags,
    parse_dialog,
)
from tests.support.cli import run_cli
from tests.support.reference_instruct import chat_prompt_tokens

pytestmark = pytest.mark.server

CODE = 'def add(a, b):\n    """Add two numbers."""\n    return a + b\n'

DIALOGS = {
    "one_turn": [{"role": "user", "content": "In Bash, how do I list all text files?"}],
    "system": [
        {"role": "system", "content": "Provide answers in JavaScript"},
        {"role": "user", "content": "Write a function that computes the set of sums of all "
                                    "contiguous sublists of a given list."},
    ],
    "several_turns": [
        {"role": "user", "content": "Write a Python add function."},
        {"role": "assistant", "content": f"```python\n{CODE}```"},
        {"role": "user", "content": "Now add type hints."},
        {"role": "assistant", "content": "  def add(a: int, b: int) -> int:\n  ...  "},
        {"role": "user", "content": "  And a docstring.\n"},
    ],
    "system_several_turns": [
        {"role": "system", "content": "  Answer with code only.\n\n"},
        {"role": "user", "content": "\n  Fix this:\n```python\nprint 'x'\n```\n"},
        {"role": "assistant", "content": "```python\nprint('x')\n```"},
        {"role": "user", "content": "Thanks — now in café-style 😀 Unicode?"},
    ],
    "empty_contents": [
        {"role": "user", "content": ""},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "   "},
    ],
}


@pytest.mark.parametrize("name", sorted(DIALOGS))
def test_dialog_ids_equal_reference(ours, ref, name):
    dialog = DIALOGS[name]
    prompt = build_instruct_prompt(ours, parse_dialog(dialog))
    assert prompt.ids == chat_prompt_tokens(ref, dialog)


def test_one_turn_layout(ours):
    prompt = build_instruct_prompt(ours, [Message("user", "  hi  ")])
    assert prompt.text == "<s>[INST] hi [/INST]"
    assert prompt.ids[0] == ours.bos_id and ours.eos_id not in prompt.ids
    assert prompt.ids[1:] == ours.encode("[INST] hi [/INST]")


def test_finished_turns_end_with_eos_and_system_is_folded(ours):
    dialog = parse_dialog(DIALOGS["system_several_turns"])
    prompt = build_instruct_prompt(ours, dialog)
    assert prompt.ids.count(ours.bos_id) == 2 and prompt.ids.count(ours.eos_id) == 1
    # As in the reference, only the folded message's outer whitespace is stripped.
    assert prompt.text.startswith("<s>[INST] <<SYS>>\n  Answer with code only.\n\n\n<</SYS>>"
                                  "\n\n\n  Fix this:")
    assert prompt.text.count("</s><s>[INST] ") == 1


messages = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(system=st.one_of(st.none(), messages), turns=st.lists(messages, min_size=1, max_size=7))
def test_unseen_dialogs_equal_reference(ours, ref, system, turns):
    if len(turns) % 2 == 0:
        turns = turns[:-1]
    dialog = [{"role": "user" if i % 2 == 0 else "assistant", "content": text}
              for i, text in enumerate(turns)]
    if system is not None:
        dialog.insert(0, {"role": "system", "content": system})
    assert build_instruct_prompt(ours, parse_dialog(dialog)).ids == chat_prompt_tokens(ref, dialog)


@pytest.mark.parametrize("data, message", [
    ({"role": "user", "content": "x"}, "JSON list"),
    ([], "empty"),
    (["hello"], "message 0 is not an object"),
    ([{"role": "bot", "content": "x"}], "role must be one of system, user, assistant"),
    ([{"role": "user", "content": 3}], "content must be a string"),
    ([{"role": "user"}], "content must be a string"),
    ([{"role": "system", "content": "x"}], "followed by a user message"),
    ([{"role": "assistant", "content": "x"}], "message 0"),
    ([{"role": "system", "content": "x"}, {"role": "assistant", "content": "y"}], "message 0"),
    ([{"role": "user", "content": "x"}, {"role": "user", "content": "y"}], "message 1"),
    ([{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}],
     "last message must be from the user"),
    ([{"role": "user", "content": "x"}, {"role": "system", "content": "y"},
      {"role": "user", "content": "z"}], "message 1"),
])
def test_malformed_dialogs_are_refused(ours, data, message):
    with pytest.raises(DialogError, match=message):
        build_instruct_prompt(ours, parse_dialog(data))


def test_special_tags_are_detected():
    assert has_special_tags([Message("user", "what does [INST] mean?")])
    assert has_special_tags([Message("user", "x"), Message("assistant", "<</SYS>>")])
    assert not has_special_tags([Message("user", "[INS] <SYS>")])


def test_answer_text_equals_reference_decode(ours, ref):
    # Engines decode with decode_infilling (leading space kept); the reference decodes an
    # instruct answer with plain decode. Ordinary pieces only: see answer_text's docstring.
    rng = random.Random(5)
    common = [29871, 259, 1678, 13, 822, 736, 1121, 9995]
    for _ in range(2000):
        ids = [rng.choice(common) if rng.random() < 0.4 else rng.randint(259, 31999)
               for _ in range(rng.randint(1, 6))]
        assert answer_text(ours.decode_infilling(ids)) == ref.sp.decode(ids), ids
    assert answer_text("") == ""


# --- `codellama prompt --dialog` -----------------------------------------------------------

@pytest.mark.parametrize("name", ["one_turn", "system", "several_turns"])
def test_cli_dialog_equals_reference(tmp_path, codellama_tokenizer_path, ref, name):
    path = tmp_path / "dialog.json"
    path.write_text(json.dumps(DIALOGS[name]), encoding="utf-8")
    out = run_cli("prompt", "--dialog", str(path), "--tokenizer", str(codellama_tokenizer_path),
                  "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["ids"] == chat_prompt_tokens(ref, DIALOGS[name])
    assert report["text"].startswith("<s>[INST] ")


@pytest.mark.parametrize("content, message", [
    ("[{\"role\": \"user\", \"content\": ", "not JSON"),
    ("{\"role\": \"user\"}", "JSON list"),
    ("[{\"role\": \"assistant\", \"content\": \"x\"}]", "message 0"),
    (None, "no such file"),
])
def test_cli_malformed_dialog_is_one_line_exit_2(tmp_path, codellama_tokenizer_path, content,
                                                 message):
    path = tmp_path / "dialog.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    out = run_cli("prompt", "--dialog", str(path), "--tokenizer", str(codellama_tokenizer_path))
    assert out.returncode == 2
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert out.stdout == ""


def test_cli_dialog_and_location_are_exclusive(tmp_path, codellama_tokenizer_path):
    path = tmp_path / "dialog.json"
    path.write_text(json.dumps(DIALOGS["one_turn"]), encoding="utf-8")
    out = run_cli("prompt", f"{path}:1", "--dialog", str(path), "--tokenizer",
                  str(codellama_tokenizer_path))
    assert out.returncode == 2 and "not both" in out.stderr
    out = run_cli("prompt", "--tokenizer", str(codellama_tokenizer_path))
    assert out.returncode == 2 and "FILE:LINE" in out.stderr
