"""LocalEngine on the tiny model: greedy, sampling, stops, cancellation, sharing, cache reuse."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from fim.engines.base import EngineError, GenerationRequest
from fim.engines.local import LoadOptions, LocalEngine, choose_device, choose_dtype
from fim.prompt import FimFormat, build_prompt
from tests.support.cancel_flags import CancelAfter

pytestmark = pytest.mark.unit


@pytest.fixture()
def prompt_ids(tiny_engine):
    return build_prompt(tiny_engine.tokenizer, "def add(a, b):\n    return ", "\n",
                        FimFormat.PSM).ids


def test_cpu_bfloat16_where_the_cpu_has_it_else_float32(monkeypatch):
    import torch

    from fim.engines import local

    assert choose_device("auto") == "cpu"
    monkeypatch.setattr(local, "cpu_has_bfloat16", lambda: True)
    assert choose_dtype("cpu") == torch.bfloat16
    monkeypatch.setattr(local, "cpu_has_bfloat16", lambda: False)
    assert choose_dtype("cpu") == torch.float32
    assert choose_dtype("cpu", "float32") == torch.float32
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


# -- several caches, typing, prompt lookup, pre-warming ------------------------------------------

TYPED = "total = compute(values"
DOCUMENT = ("import math\n\n\ndef compute(values, scale=1):\n    return sum(values) * scale\n\n\n"
            "def report(values):\n    ")


def _typing_prompts(tokenizer, fmt: FimFormat) -> list[list[int]]:
    """The prompt after each keystroke of TYPED at the end of DOCUMENT (suffix after it)."""
    suffix = "\n    return total\n\n\nvalues = [1, 2, 3]\nreport(values)\n"
    return [build_prompt(tokenizer, DOCUMENT + TYPED[:n], suffix, fmt).ids
            for n in range(1, len(TYPED) + 1, 3)]


@pytest.fixture(scope="module")
def engines(tiny_model):
    def load(**options):
        return LocalEngine.load(LoadOptions(model=str(tiny_model), **options))
    return {"reuse": load(), "no_reuse": load(kv_reuse=False), "lookup": load(prompt_lookup=True),
            "compiled": load(compile="on"),
            "compiled_lookup": load(compile="on", prompt_lookup=True)}


@pytest.mark.parametrize("fmt", [FimFormat.PSM, FimFormat.SPM])
def test_greedy_text_is_the_same_with_reuse_off_prompt_lookup_on_and_compiled(engines, fmt):
    prompts = _typing_prompts(engines["reuse"].tokenizer, fmt)
    texts = {name: [] for name in engines}
    reused = {name: 0 for name in engines}
    for ids in prompts:
        for name, engine in engines.items():
            result = engine.generate(GenerationRequest(ids, max_new_tokens=24, cache_key=f"{fmt}"))
            texts[name].append(result.text)
            reused[name] += result.reused_prompt_tokens
    assert texts["reuse"] == texts["no_reuse"] == texts["lookup"]
    assert texts["reuse"] == texts["compiled"] == texts["compiled_lookup"]
    assert engines["compiled"]._step.compiled  # not the eager fallback
    assert reused["no_reuse"] == 0
    assert reused["reuse"] > len(prompts[0]) * (len(prompts) - 1) // 2


def test_prompt_lookup_drafts_are_kept_where_the_model_agrees(engines):
    engine = engines["lookup"]
    # A greedy random model soon repeats itself, which is what prompt lookup feeds on.
    ids = build_prompt(engine.tokenizer, DOCUMENT, "\n", FimFormat.PSM).ids
    looked = engine.generate(GenerationRequest(ids, max_new_tokens=60, cache_key="repeat"))
    plain = engines["reuse"].generate(GenerationRequest(ids, max_new_tokens=60,
                                                        cache_key="repeat"))
    assert looked.text == plain.text
    assert engine.stats["draft_kept"] > 0
    assert engine.stats["forward_passes"] < engines["reuse"].stats["forward_passes"]


def test_each_cache_key_keeps_its_own_cache(tiny_model):
    engine = LocalEngine.load(LoadOptions(model=str(tiny_model)))
    tokenizer = engine.tokenizer
    doc_a = build_prompt(tokenizer, DOCUMENT, "\n", FimFormat.SPM).ids
    doc_b = build_prompt(tokenizer, "class Other:\n    pass\n", "\n", FimFormat.SPM).ids
    edit = tokenizer.encode("[INST] rename x to y [/INST]")
    first = engine.generate(GenerationRequest(doc_a, max_new_tokens=8, cache_key="a"))
    engine.generate(GenerationRequest(doc_b, max_new_tokens=8, cache_key="b"))
    engine.generate(GenerationRequest(edit, max_new_tokens=8, cache_key="edit"))
    again = engine.generate(GenerationRequest(doc_a, max_new_tokens=8, cache_key="a"))
    assert again.reused_prompt_tokens == len(doc_a) - 1  # neither B nor the edit evicted it
    assert again.text == first.text
    assert set(engine.slots.keys()) == {"a", "b", "edit"}
    engine.close()
    assert len(engine.slots) == 0


def test_the_token_budget_drops_the_least_recently_used_cache(tiny_model):
    engine = LocalEngine.load(LoadOptions(model=str(tiny_model), kv_cache_tokens=120))
    prompts = {key: engine.tokenizer.encode(f"def {key}():\n" + "    x = 1\n" * 8)
               for key in ("a", "b", "c")}
    assert all(40 < len(ids) < 60 for ids in prompts.values())
    for key, ids in prompts.items():
        engine.generate(GenerationRequest(ids, max_new_tokens=4, cache_key=key))
    assert engine.slots.keys() == ["b", "c"]
    assert engine.slots.tokens <= 120


def test_a_prefilled_prompt_is_answered_from_the_cache(tiny_model, engines):
    engine = LocalEngine.load(LoadOptions(model=str(tiny_model)))
    ids = _typing_prompts(engine.tokenizer, FimFormat.SPM)[-1]
    assert engine.prefill(GenerationRequest(ids, cache_key="doc")) == len(ids) - 1
    result = engine.generate(GenerationRequest(ids, max_new_tokens=12, cache_key="doc"))
    assert result.reused_prompt_tokens == len(ids) - 1
    fresh = engines["no_reuse"].generate(GenerationRequest(ids, max_new_tokens=12))
    assert result.text == fresh.text


def test_a_cancelled_prefill_stops_and_keeps_what_it_computed(tiny_engine):
    ids = _typing_prompts(tiny_engine.tokenizer, FimFormat.PSM)[-1] * 4
    assert len(ids) > 300
    done = tiny_engine.prefill(GenerationRequest(ids, cache_key="pre", cancel=CancelAfter(1)))
    assert done == 128  # one chunk, then the cancel flag
    result = tiny_engine.generate(GenerationRequest(ids, max_new_tokens=2, cache_key="pre"))
    assert result.reused_prompt_tokens == 128


def test_compiled_static_caches_keep_each_key_apart(engines):
    engine = engines["compiled"]
    assert engine.slots.capacity == 2  # two context windows: the default budget
    prompts = {fmt: _typing_prompts(engine.tokenizer, fmt) for fmt in FimFormat if fmt != "l2r"}
    for a, b in zip(*prompts.values()):
        for key, ids in (("psm", a), ("spm", b)):
            fresh = engines["no_reuse"].generate(GenerationRequest(ids, max_new_tokens=16))
            kept = engine.generate(GenerationRequest(ids, max_new_tokens=16,
                                                     cache_key=f"slot-{key}"))
            assert kept.text == fresh.text
    assert kept.reused_prompt_tokens > len(b) // 2
    # The prompt's last id is left for the request that brings it.
    assert engine.prefill(GenerationRequest(a + [5, 6, 7], cache_key="slot-psm")) == 2


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_compiled_and_eager_steps_pick_the_same_greedy_ids_in_each_dtype(tiny_model, dtype):
    import torch

    def load(**options):
        return LocalEngine.load(LoadOptions(model=str(tiny_model), dtype=dtype, **options))

    eager, compiled = load(kv_reuse=False), load(compile="on")
    assert compiled._step.compiled and compiled.model.dtype == getattr(torch, dtype)
    for fmt in (FimFormat.PSM, FimFormat.SPM):
        for ids in _typing_prompts(eager.tokenizer, fmt):
            want = eager.generate(GenerationRequest(ids, max_new_tokens=24))
            got = compiled.generate(GenerationRequest(ids, max_new_tokens=24, cache_key=fmt))
            assert (got.text, got.generated_tokens) == (want.text, want.generated_tokens)

