"""Model names: `demo` is the bundled model; `auto` (the default) is Code Llama 7B where it is
downloaded, else the demo model, and says so; nothing is ever downloaded implicitly."""

from __future__ import annotations

import pytest
from huggingface_hub import constants

from fim.engines.base import EngineError, GenerationRequest
from fim.engines.local import LoadOptions, LocalEngine
from fim.instruct import DEFAULT_INSTRUCT_MODEL
from fim.models import AUTO, CODE_LLAMA_7B, DEMO, DEMO_DIR, resolve_model, resolve_options
from tests.support.cli import run_cli
from tests.support.paths import ROOT

pytestmark = pytest.mark.server


def fake_hub_cache(root, repo_id: str) -> None:
    """A cache entry as huggingface_hub lays it out (config and weights index only)."""
    folder = root / f"models--{repo_id.replace('/', '--')}"
    snapshot = folder / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text("0123abcd")
    for name in ("config.json", "model.safetensors.index.json"):
        (snapshot / name).write_text("{}")


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    return cache


def test_demo_names_the_bundled_model_with_its_window():
    assert resolve_model(DEMO) == str(DEMO_DIR)
    options = resolve_options(LoadOptions(model=DEMO))
    assert options.model == str(DEMO_DIR) and options.context_window <= 1024
    engine = LocalEngine.load(LoadOptions(model=DEMO))
    result = engine.generate(GenerationRequest(
        engine.tokenizer.encode("def add(a, b):\n    return"), max_new_tokens=8))
    assert result.generated_tokens > 0


def test_auto_is_the_demo_model_without_code_llama_and_says_so(empty_cache, caplog):
    with caplog.at_level("WARNING"):
        assert resolve_model(AUTO) == str(DEMO_DIR)
    assert len(caplog.records) == 1
    assert f"hf download {CODE_LLAMA_7B}" in caplog.records[0].getMessage()


def test_load_options_default_to_auto_as_the_commands_and_the_server_do(empty_cache):
    assert resolve_options(LoadOptions()).model == str(DEMO_DIR)
    fake_hub_cache(empty_cache, CODE_LLAMA_7B)
    assert resolve_options(LoadOptions()).model == CODE_LLAMA_7B


def test_auto_is_code_llama_where_it_is_downloaded(empty_cache):
    fake_hub_cache(empty_cache, CODE_LLAMA_7B)
    assert resolve_model(AUTO) == CODE_LLAMA_7B


def test_a_missing_instruct_model_names_its_download_command(empty_cache):
    with pytest.raises(EngineError, match=f"hf download {DEFAULT_INSTRUCT_MODEL}"):
        resolve_model(DEFAULT_INSTRUCT_MODEL)
    fake_hub_cache(empty_cache, DEFAULT_INSTRUCT_MODEL)
    assert resolve_model(DEFAULT_INSTRUCT_MODEL) == DEFAULT_INSTRUCT_MODEL


def test_complete_without_a_model_uses_the_demo_model_offline(empty_cache):
    out = run_cli("complete", "examples/shapes.py:19", cwd=ROOT)
    assert out.returncode == 0, out.stderr
    notes = [line for line in out.stderr.splitlines() if "demo model" in line]
    assert len(notes) == 1 and "hf download codellama/CodeLlama-7b-hf" in notes[0]
    assert out.stdout.strip()


def test_edit_without_the_instruct_model_says_how_to_get_it(empty_cache, tmp_path):
    source = tmp_path / "calc.py"
    source.write_text("def add(a, b):\n    return a + b\n")
    out = run_cli("edit", f"{source}:2", "add type hints", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1
    assert f"hf download {DEFAULT_INSTRUCT_MODEL}" in out.stderr
