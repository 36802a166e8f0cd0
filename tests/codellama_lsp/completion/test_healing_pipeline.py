"""Token healing through the editor's path: the pipeline heals the prompt where the engine can
keep to it, the engine's answer (the text after the removed part) is inserted as before."""

from __future__ import annotations

import threading

import pytest

from codellama_lsp.completion.pipeline import (
    CompletionOptions,
    complete_in_document,
    prefill_in_document,
)
from codellama_lsp.lsp.settings import Settings
from codellama_lsp.lsp.suggestions import suggest, suggestion_key
from codellama_lsp.syntax.parsed import ParsedDocument
from fim.tokenizer import load_tokenizer
from tests.support.engines import ScriptedEngine

pytestmark = pytest.mark.unit

TEXT = "def mean(values):\n    total = sum(values)\n    ret\n"
CURSOR = TEXT.index("ret\n") + 3


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    return load_tokenizer(tiny_model)


def test_inside_a_word_the_prompt_is_healed_and_the_answer_inserted(tokenizer):
    engine = ScriptedEngine(tokenizer, "urn total / len(values)", can_heal=True)
    result = complete_in_document(engine, ParsedDocument(TEXT, "python"), CURSOR,
                                  CompletionOptions(spm=True))
    request = engine.requests[0]
    assert request.heal_text == result.prompt.heal_text == "ret" and result.healed
    assert request.prompt_ids == result.prompt.ids
    assert result.text == "urn total / len(values)"  # what follows "ret" in the editor


def test_at_a_token_boundary_nothing_changes(tokenizer):
    text = "def mean(values):\n    total = sum(values)\n    return \n"
    cursor = text.index("return ") + 7
    healing = ScriptedEngine(tokenizer, "total", can_heal=True)
    plain = ScriptedEngine(tokenizer, "total")
    document = ParsedDocument(text, "python")
    with_healing = complete_in_document(healing, document, cursor, CompletionOptions(spm=True))
    without = complete_in_document(plain, document, cursor,
                                   CompletionOptions(spm=True, token_healing=False))
    assert with_healing.prompt == without.prompt and not with_healing.healed
    assert healing.requests[0].heal_text == "" and with_healing.text == without.text


@pytest.mark.parametrize("fim", ["spm", "psm"])
def test_at_a_token_boundary_the_model_answers_the_same_with_healing_on_and_off(tiny_engine, fim):
    text = "def mean(values):\n    total = sum(values)\n    return \n"
    document = ParsedDocument(text, "python")
    answers = [complete_in_document(tiny_engine, document, text.index("return ") + 7,
                                    CompletionOptions(spm=fim == "spm", token_healing=setting,
                                                      max_new_tokens=8))
               for setting in (True, False)]
    assert answers[0].prompt == answers[1].prompt and not answers[0].healed
    assert answers[0].text == answers[1].text


@pytest.mark.parametrize("can_heal, setting", [(False, True), (True, False)])
def test_no_healing_where_the_engine_cannot_or_the_setting_is_off(tokenizer, can_heal, setting):
    engine = ScriptedEngine(tokenizer, "urn total", can_heal=can_heal)
    result = complete_in_document(engine, ParsedDocument(TEXT, "python"), CURSOR,
                                  CompletionOptions(spm=True, token_healing=setting))
    assert not result.healed and engine.requests[0].heal_text == ""
    assert result.prompt.ids[-1] == tokenizer.encode("    ret")[-1]  # the prompt ends at "ret"


def test_prewarming_computes_the_healed_prompt(tokenizer):
    class Prefilled(ScriptedEngine):
        def prefill(self, request):
            self.requests.append(request)
            return len(request.prompt_ids)

    engine = Prefilled(tokenizer, "", can_heal=True)
    document = ParsedDocument(TEXT, "python")
    prefill_in_document(engine, document, CURSOR, CompletionOptions(spm=True))
    complete_in_document(engine, document, CURSOR, CompletionOptions(spm=True))
    warmed, asked = engine.requests
    assert warmed.prompt_ids == asked.prompt_ids and warmed.heal_text == "ret"


def test_the_server_setting_reaches_the_engine_and_keys_the_cache(tokenizer):
    engine = ScriptedEngine(tokenizer, "urn total", can_heal=True)
    document = ParsedDocument(TEXT, "python")
    for setting in (True, False):
        suggest(engine, document, CURSOR, Settings(token_healing=setting), invoked=False,
                cancel=threading.Event())
    assert [r.heal_text for r in engine.requests] == ["ret", ""]
    assert (suggestion_key(Settings(token_healing=True), False)
            != suggestion_key(Settings(token_healing=False), False))


def test_suggestions_count_the_healed_generations_and_the_time_to_the_first_token(tokenizer):
    """What `codellama/stats` reports as `healed` and `first_token_ms`."""
    engine = ScriptedEngine(tokenizer, "urn total", can_heal=True)
    document = ParsedDocument(TEXT, "python")
    healed, plain = (suggest(engine, document, CURSOR, Settings(token_healing=setting),
                             invoked=False, cancel=threading.Event())
                     for setting in (True, False))
    assert (healed.healed, plain.healed) == (1, 0)
    assert healed.first_token_s == plain.first_token_s == 0.01  # the engine's own figure
