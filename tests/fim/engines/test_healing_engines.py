"""Token healing through LocalEngine and the worker's batcher: a model whose next piece is
scripted shows the healed answer right where the unhealed one is wrong; the random tiny model
shows that greedy, sampled, prompt-lookup, compiled and cache-reusing decoding all keep to it."""

from __future__ import annotations

import threading

import pytest

from fim.engines.base import GenerationRequest
from fim.engines.local import LoadOptions, LocalEngine
from fim.prompt import FimFormat, build_prompt
from fim.worker.batching import BatchScheduler, Job

pytestmark = pytest.mark.unit

PREFIX = "def f(x):\n    ret"
SUFFIX = "\n\n\nprint(f(1))\n"


class ScriptedLogits:
    """Wraps a real model (its caches and positions stay real) but scripts its logits: after
    id `a` comes `script[a]`, after any other id EOT."""

    def __init__(self, model, script: dict[int, int], eot: int) -> None:
        import torch

        self.inner = model
        self.config = model.config
        self.table = torch.full((model.config.vocab_size,), eot, dtype=torch.long)
        for after, following in script.items():
            self.table[after] = following

    @property
    def device(self):
        return self.inner.device

    def forward(self, input_ids=None, cache=None, logits_to_keep=1, **kwargs):
        import torch

        out = self.inner(input_ids=input_ids, cache=cache, logits_to_keep=logits_to_keep,
                         **kwargs)
        following = self.table[input_ids[:, -logits_to_keep:]]
        out.logits = torch.nn.functional.one_hot(following, self.config.vocab_size) * 20.0 - 10
        return out

    __call__ = forward


def scripted_engine(tiny_model, script_of, **options) -> LocalEngine:
    """A LocalEngine on the tiny model whose logits follow `script_of(tokenizer)`."""
    real = LocalEngine.load(LoadOptions(model=str(tiny_model), **options))
    tokenizer = real.tokenizer
    model = ScriptedLogits(real.model, script_of(tokenizer), tokenizer.fim.eot)
    return LocalEngine(model, tokenizer, real.context_window, real.device,
                       LoadOptions(model=str(tiny_model), **options))


def knows_return(tokenizer) -> dict[int, int]:
    """A model that learned `return x` as the middle encoded with the prefix (SPM): after the
    indentation piece it writes `return`, then ` x`; after the split the editor made (`re` `t`)
    it goes astray, writing ` =`."""
    ids = tokenizer.encode(PREFIX)
    assert [tokenizer.piece(i) for i in ids[-3:]] == ["▁▁▁▁", "re", "t"]
    answer = tokenizer.encode_infilling("return x")
    assert [tokenizer.piece(i) for i in answer] == ["return", "▁x"]
    return {ids[-3]: answer[0], answer[0]: answer[1], ids[-1]: tokenizer.encode_infilling(" =")[0]}


def generate(engine, heal: bool, **fields):
    prompt = build_prompt(engine.tokenizer, PREFIX, SUFFIX, FimFormat.SPM, heal=heal)
    return engine.generate(GenerationRequest(prompt.ids, 16, heal_text=prompt.heal_text,
                                             **fields))


@pytest.mark.parametrize("options", [{}, {"prompt_lookup": True}, {"kv_reuse": False}])
def test_the_healed_answer_is_right_where_the_unhealed_one_is_wrong(tiny_model, options):
    engine = scripted_engine(tiny_model, knows_return, **options)
    assert "ret" + generate(engine, heal=False).text == "ret ="  # the editor would show "ret ="
    healed = generate(engine, heal=True)
    assert "ret" + healed.text == "return x" and healed.stop_reason == "eot"


def test_sampling_keeps_to_the_removed_text(tiny_model):
    engine = scripted_engine(tiny_model, knows_return)
    texts = {generate(engine, heal=True, temperature=0.8, top_p=0.95, seed=seed).text
             for seed in range(4)}
    assert texts == {"urn x"}


def test_a_character_of_byte_pieces_is_spelled_again(tiny_model):
    prefix, suffix = "name = '日本", "'\n"

    def knows_nippon(tokenizer):
        ids = tokenizer.encode(prefix)  # ... 日 as three byte pieces, 本 as three more
        after = {ids[-4]: ids[-3], ids[-3]: ids[-2], ids[-2]: ids[-1]}
        after[ids[-1]] = tokenizer.encode_infilling("x")[0]
        return after

    engine = scripted_engine(tiny_model, knows_nippon)
    prompt = build_prompt(engine.tokenizer, prefix, suffix, FimFormat.SPM, heal=True)
    assert prompt.heal_text == "本"
    result = engine.generate(GenerationRequest(prompt.ids, 12, heal_text=prompt.heal_text))
    assert result.text == "x" and "\ufffd" not in result.text


# -- the random tiny model: every decoding path keeps to the constraint --------------------------

DOCUMENT = "import math\n\n\ndef compute(values, scale=1):\n    return sum(values) * scale\n\n\n"
TYPED = "    total = compute(values)\n    retu"


def typing_prompts(tokenizer, heal: bool):
    """The prompts after each keystroke of TYPED (SPM): most end inside a word."""
    return [build_prompt(tokenizer, DOCUMENT + TYPED[:n], "\n", FimFormat.SPM, heal=heal)
            for n in range(6, len(TYPED) + 1, 4)]


@pytest.fixture(scope="module")
def engines(tiny_model):
    # float32: the paths (and a batch's rows against lone ones) then agree exactly; in bfloat16,
    # the CPU default where it is native, a different summation order can flip a near tie.
    def load(**options):
        return LocalEngine.load(LoadOptions(model=str(tiny_model), dtype="float32", **options))
    return {"reuse": load(), "no_reuse": load(kv_reuse=False), "lookup": load(prompt_lookup=True),
            "compiled": load(compile="on")}


def test_every_decoding_path_gives_the_same_healed_text_and_reuse_stays(engines):
    prompts = typing_prompts(engines["reuse"].tokenizer, heal=True)
    assert sum(bool(p.heal_text) for p in prompts) >= len(prompts) // 2
    texts: dict[str, list[str]] = {name: [] for name in engines}
    reused = {name: 0 for name in engines}
    for prompt in prompts:
        for name, engine in engines.items():
            result = engine.generate(GenerationRequest(prompt.ids, 12, cache_key="typing",
                                                       heal_text=prompt.heal_text))
            texts[name].append(result.text)
            reused[name] += result.reused_prompt_tokens
    assert texts["reuse"] == texts["no_reuse"] == texts["lookup"] == texts["compiled"]
    # Each healed prompt shares all but its tail with the previous keystroke's.
    assert reused["reuse"] > sum(len(p.ids) for p in prompts[1:]) * 0.8
    assert reused["compiled"] > sum(len(p.ids) for p in prompts[1:]) * 0.8


def test_the_batcher_answers_start_with_the_removed_text(tiny_model, engines):
    """The worker's batcher keeps to the same constraint, greedy and sampled, several rows at a
    time; its text (the OpenAI API's) keeps the removed text; LocalEngine's is what follows."""
    engine = engines["reuse"]
    scheduler = BatchScheduler(engine.model, engine.tokenizer, max_batch=4)
    scheduler.start()
    try:
        prompts = [p for p in typing_prompts(engine.tokenizer, heal=True) if p.heal_text]
        requests = [GenerationRequest(p.ids, 10, temperature=t, seed=seed,
                                      heal_text=p.heal_text, cache_key=f"row-{i}")
                    for i, p in enumerate(prompts) for t, seed in ((0.0, None), (0.8, 1))]
        results = _run_jobs(scheduler, requests)
    finally:
        scheduler.stop()
    for request, result in zip(requests, results):
        assert result.text.startswith(request.heal_text), (request.heal_text, result.text)
        if request.temperature == 0:
            local = engine.generate(GenerationRequest(request.prompt_ids, 10,
                                                      heal_text=request.heal_text))
            assert request.heal_text + local.text == result.text


def _run_jobs(scheduler: BatchScheduler, requests: list[GenerationRequest]) -> list:
    done = threading.Semaphore(0)
    results: dict[int, object] = {}

    def finish(index: int):
        def on_done(outcome) -> None:
            results[index] = outcome
            done.release()
        return on_done

    scheduler.submit([Job(r, on_done=finish(i)) for i, r in enumerate(requests)])
    for _ in requests:
        assert done.acquire(timeout=120)
    return [results[i] for i in range(len(requests))]
