"""LocalEngine on the tiny model: greedy, sampling, stops, cancellation, sharing, cache reuse."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from fim.engines.base import EngineError, GenerationRequest
from fim.engines.local import LoadOptions, LocalEngine, choose_device, choose_dtype
from fim.prompt import FimFormat, build_prompt
from tests.support.cancel_flags import CancelAfter


@pytest.fixture()
def prompt_ids(tiny_engine):
    return build_prompt(tiny_engine.tokenizer, "def add(a, b):\n    return ", "\n",
                        FimFormat.PSM).ids


def test_cpu_float32_is_chosen_without_gpu():
    import torch

    assert choose_device("auto") == "cpu"
    assert choose_dtype("cpu") == torch.float32
    assert choose_dtype("cuda", "float16") == torch.float16
    with pytest.raises(EngineError, match="unknown dtype"):
        choose_dtype("cpu", "float8")


def test_greedy_is_deterministic_and_reports_counts(tiny_engine, prompt_ids):
    first = tiny_engine.generate(GenerationRequest(prompt_ids, max_new_tokens=12))
    second = tiny_engine.generate(GenerationRequest(prompt_ids, max_new_tokens=12))
    assert first.text == second.text
    assert first.prompt_tokens == len(prompt_ids)
    assert 0 < first.generated_tokens <= 12
    assert 0 < first.time_to_first_token_s <= first.total_s


def test_cache_reuse_changes_nothing_but_time(tiny_model, prompt_ids):
    engine = LocalEngine.load(LoadOptions(model=str(tiny_model)))
    other = build_prompt(engine.tokenizer, "def add(a, b):\n    return a", "\n", FimFormat.SPM).ids
    fresh = [LocalEngine.load(LoadOptions(model=str(tiny_model))).generate(
        GenerationRequest(ids, max_new_tokens=10)).text for ids in (prompt_ids, other, prompt_ids)]
    reused = []
    for ids in (prompt_ids, other, prompt_ids):
        reused.append(engine.generate(GenerationRequest(ids, max_new_tokens=10)))
    assert [r.text for r in reused] == fresh
    assert reused[2].reused_prompt_tokens > 0


def test_sampling_with_a_seed_is_reproducible(tiny_engine, prompt_ids):
    def sample(seed):
        return tiny_engine.generate(GenerationRequest(prompt_ids, max_new_tokens=12,
                                                      temperature=1.0, top_p=0.9, seed=seed)).text
    assert sample(1) == sample(1)
    assert len({sample(s) for s in range(6)}) > 1


def test_stop_strings_cut_the_text(tiny_engine, prompt_ids):
    full = tiny_engine.generate(GenerationRequest(prompt_ids, max_new_tokens=20)).text
    assert len(full) > 4
    stop = full[3:5]
    cut = tiny_engine.generate(GenerationRequest(prompt_ids, max_new_tokens=20, stop=[stop]))
    assert cut.stop_reason == "stop"
    assert cut.text == full[: full.find(stop)]


def test_cancellation_is_honoured_within_one_token(tiny_engine, prompt_ids):
    result = tiny_engine.generate(GenerationRequest(prompt_ids, max_new_tokens=50,
                                                    cancel=CancelAfter(3)))
    assert result.stop_reason == "cancelled"
    assert result.generated_tokens == 3


def test_cancelled_while_waiting_for_the_model(tiny_engine, prompt_ids):
    cancel = threading.Event()
    cancel.set()
    result = tiny_engine.generate(GenerationRequest(prompt_ids, cancel=cancel))
    assert (result.stop_reason, result.generated_tokens) == ("cancelled", 0)


def test_concurrent_callers_share_one_model_safely(tiny_engine, prompt_ids):
    expected = tiny_engine.generate(GenerationRequest(prompt_ids, max_new_tokens=8)).text
    with ThreadPoolExecutor(4) as pool:
        texts = list(pool.map(lambda _: tiny_engine.generate(
            GenerationRequest(prompt_ids, max_new_tokens=8)).text, range(8)))
    assert texts == [expected] * 8


def test_prompt_over_the_context_window_is_refused(tiny_engine):
    with pytest.raises(EngineError, match="context window"):
        tiny_engine.generate(GenerationRequest([1] * 4090, max_new_tokens=10))


def test_bad_model_paths(tmp_path):
    with pytest.raises(EngineError, match="no such model directory"):
        LocalEngine.load(LoadOptions(model=str(tmp_path / "absent")))
    with pytest.raises(EngineError, match="no config.json"):
        LocalEngine.load(LoadOptions(model=str(tmp_path)))


def test_context_window_above_the_model_maximum(tiny_model):
    with pytest.raises(EngineError, match="maximum of 4096"):
        LocalEngine.load(LoadOptions(model=str(tiny_model), context_window=8192))
