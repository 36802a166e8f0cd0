"""Typed settings: valid values taken, invalid ones reported with the previous value kept."""

from __future__ import annotations

import pytest

from codellama_lsp.lsp.settings import Settings, update_settings

pytestmark = pytest.mark.unit


def test_valid_values_are_taken_from_the_section_or_a_wrapping_object():
    update = update_settings(Settings(), {"codellama": {
        "model": "/models/7b", "maxNewTokens": 32, "fimFormat": "SPM", "debounceMs": 0,
        "languages": ["python", "rust"], "engine": "http://127.0.0.1:8000",
        "device": "cuda:1", "invokedItems": 2, "invokedTemperature": 0.8}})
    assert update_settings(Settings(), {"engine": "tgi+http://gpu:8080"}).errors == []
    assert update.errors == []
    s = update.settings
    assert (s.model, s.max_new_tokens, s.fim_format, s.debounce_ms) == ("/models/7b", 32, "spm", 0)
    assert s.enabled_for("rust") and not s.enabled_for("go")
    assert (s.engine, s.device, s.invoked_items, s.invoked_temperature) == \
        ("http://127.0.0.1:8000", "cuda:1", 2, 0.8)


def test_invalid_values_are_reported_and_the_previous_kept():
    before = Settings(max_new_tokens=40)
    update = update_settings(before, {"maxNewTokens": "many", "debounceMs": -5,
                                      "fimFormat": "xyz", "engine": "ftp://x", "dtype": "int3",
                                      "languages": "python", "invokedItems": True,
                                      "colour": "blue", "model": "m", "compile": "always",
                                      "prewarm": "yes"})
    assert update.settings == Settings(max_new_tokens=40, model="m")
    assert len(update.errors) == 10
    assert any("compile='always'" in e and "auto, on, off" in e for e in update.errors)
    assert any("maxNewTokens='many'" in e and "keeping 40" in e for e in update.errors)
    assert any("unknown setting codellama.colour" in e for e in update.errors)


def test_max_new_tokens_must_leave_room_for_the_prompt():
    update = update_settings(Settings(), {"contextWindow": 256, "maxNewTokens": 200})
    assert update.settings == Settings()
    assert "contextWindow" in update.errors[0]


def test_non_objects_and_none():
    assert update_settings(Settings(), None).errors == []
    assert update_settings(Settings(), [1, 2]).errors == ["settings must be an object, got list"]


def test_instruct_model_and_edit_length():
    update = update_settings(Settings(), {"instructModel": "/models/7b-instruct",
                                          "editMaxNewTokens": 256, "device": "cpu"})
    assert update.errors == []
    s = update.settings
    assert s.instruct_load_options().model == "/models/7b-instruct"
    assert s.instruct_load_options().device == "cpu" and s.edit_max_new_tokens == 256
    assert len(s.engine_keys()) == 2
    assert len(update_settings(s, {"instructModel": s.model}).settings.engine_keys()) == 1
    assert Settings().instruct_model == "codellama/CodeLlama-7b-Instruct-hf"
    bad = update_settings(s, {"instructModel": "", "editMaxNewTokens": 0})
    assert bad.settings == s and len(bad.errors) == 2
    assert update_settings(s, {"editMaxNewTokens": None}).settings.edit_max_new_tokens is None
