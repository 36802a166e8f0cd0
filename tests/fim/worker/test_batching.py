"""The worker's BatchScheduler in-process on the tiny model: batched rows answer as lone ones,
rows join and leave mid-flight, cancellation within one token, bounded LRU cache slots."""

from __future__ import annotations

import threading

import pytest

from fim.engines.base import GenerationRequest
from fim.prompt import FimFormat, build_prompt
from fim.worker.batching import BatchScheduler, Job, QueueFull
from tests.support.cancel_flags import CancelAfter

pytestmark = pytest.mark.unit

PROMPTS = [("def add(a, b):\n    return ", "\n"), ("import os\n", ""),
           ("class Foo:\n    def __init__(self", "):\n        pass\n"), ("x = 1", "y"),
           ("for i in range(10):\n    print(i", ")\n")]


class Outcomes:
    """Collects the results the scheduler hands over, by name."""

    def __init__(self) -> None:
        self.results: dict[str, object] = {}
        self.arrived = threading.Condition()

    def job(self, name: str, request: GenerationRequest, **kwargs) -> Job:
        def done(outcome, name=name):
            with self.arrived:
                self.results[name] = outcome
                self.arrived.notify_all()
        return Job(request, on_done=done, **kwargs)

    def wait(self, *names: str, timeout: float = 60):
        with self.arrived:
            assert self.arrived.wait_for(lambda: all(n in self.results for n in names), timeout)
        return [self.results[n] for n in names]


@pytest.fixture(scope="module")
def tiny_engine(tiny_model):
    """float32: a batch's rows then answer exactly as lone ones. In bfloat16 (the default on a
    CPU with AMX) a padded batch sums in another order and can flip a near tie of the random
    model's logits (BENCHMARKS.md, bfloat16 on the CPU)."""
    from fim.engines.local import LoadOptions, LocalEngine

    return LocalEngine.load(LoadOptions(model=str(tiny_model), dtype="float32"))


@pytest.fixture()
def scheduler(tiny_engine):
    running = BatchScheduler(tiny_engine.model, tiny_engine.tokenizer, max_batch=8,
                             max_queue=16, cache_slots=2)
    running.start()
    yield running
    running.stop()


def ids(engine, prefix, suffix, fmt=FimFormat.PSM):
    return build_prompt(engine.tokenizer, prefix, suffix, fmt).ids


def test_rows_decoded_together_answer_as_they_would_alone(scheduler, tiny_engine):
    requests = [GenerationRequest(ids(tiny_engine, p, s), max_new_tokens=16, cache_key=f"u{i}")
                for i, (p, s) in enumerate(PROMPTS)]
    requests.append(GenerationRequest(requests[0].prompt_ids, max_new_tokens=16, temperature=0.8,
                                      top_p=0.9, seed=3, cache_key="sampled"))
    alone = [tiny_engine.generate(GenerationRequest(r.prompt_ids, r.max_new_tokens,
                                                    r.temperature, r.top_p, seed=r.seed))
             for r in requests]
    outcomes = Outcomes()
    scheduler.submit([outcomes.job(str(i), r) for i, r in enumerate(requests)])
    together = outcomes.wait(*map(str, range(len(requests))))
    assert [r.text for r in together] == [r.text for r in alone]
    assert [r.stop_reason for r in together] == [r.stop_reason for r in alone]


def test_a_row_that_joins_mid_flight_changes_no_answer(scheduler, tiny_engine):
    first = GenerationRequest(ids(tiny_engine, *PROMPTS[2]), max_new_tokens=30, cache_key="a")
    late = GenerationRequest(ids(tiny_engine, *PROMPTS[4]), max_new_tokens=12, cache_key="b")
    alone = [tiny_engine.generate(GenerationRequest(r.prompt_ids, r.max_new_tokens))
             for r in (first, late)]
    outcomes = Outcomes()
    pieces: list[str] = []

    def on_text(text: str) -> None:  # the late row is queued after the first's 5th piece
        pieces.append(text)
        if len(pieces) == 5:
            scheduler.submit([outcomes.job("late", late)])

    scheduler.submit([outcomes.job("first", first, ignore_eos=True, on_text=on_text)])
    got_first, got_late = outcomes.wait("first", "late")
    assert got_late.text == alone[1].text
    assert got_first.text.startswith(alone[0].text) or alone[0].stop_reason == "length"
    assert "".join(pieces) == got_first.text


def test_cancellation_stops_within_one_token(scheduler, tiny_engine):
    outcomes = Outcomes()
    request = GenerationRequest(ids(tiny_engine, *PROMPTS[0]), max_new_tokens=500,
                                cancel=CancelAfter(6))
    scheduler.submit([outcomes.job("c", request, ignore_eos=True)])
    (result,) = outcomes.wait("c")
    assert result.stop_reason == "cancelled"
    assert result.generated_tokens <= 6
    assert scheduler.metrics.cancellations._value.get() == 1


def test_cache_slots_are_kept_per_user_and_bounded(scheduler, tiny_engine):
    prompt = {name: ids(tiny_engine, f"def {name}():\n    return ", "\n", FimFormat.SPM)
              for name in ("ann", "ben", "cat")}
    outcomes = Outcomes()

    def run(name: str, user: str):
        tag = f"{name}-{user}-{len(outcomes.results)}"
        scheduler.submit([outcomes.job(tag, GenerationRequest(prompt[name], max_new_tokens=3,
                                                              cache_key=user))])
        return outcomes.wait(tag)[0].reused_prompt_tokens

    assert run("ann", "ann") == 0
    assert run("ann", "ann") == len(prompt["ann"]) - 1
    run("ben", "ben")
    run("cat", "cat")  # two slots: Ann's, the least recently used, goes
    assert len(scheduler.slots) == 2
    assert run("ann", "ann") == 0
    assert run("cat", "cat") == len(prompt["cat"]) - 1


def test_a_full_queue_refuses_all_or_nothing(tiny_engine):
    idle = BatchScheduler(tiny_engine.model, tiny_engine.tokenizer, max_batch=1, max_queue=3)
    jobs = [Job(GenerationRequest([1, 5])) for _ in range(2)]
    idle.submit(jobs)
    with pytest.raises(QueueFull, match="limit 3"):
        idle.submit([Job(GenerationRequest([1, 5])) for _ in range(2)])
    assert idle.queue_depth == 2


def test_a_failing_generation_fails_alone_and_the_worker_goes_on(scheduler, tiny_engine):
    outcomes = Outcomes()
    scheduler.submit([outcomes.job("bad", GenerationRequest([1, 10 ** 6], max_new_tokens=3))])
    (bad,) = outcomes.wait("bad")
    assert isinstance(bad, Exception)
    scheduler.submit([outcomes.job("good", GenerationRequest([1, 5, 6], max_new_tokens=3))])
    (good,) = outcomes.wait("good")
    assert good.generated_tokens > 0 or good.stop_reason in ("eot", "eos")


def test_a_bad_request_prefilled_with_others_fails_alone(scheduler, tiny_engine):
    good = [GenerationRequest(ids(tiny_engine, p, s), max_new_tokens=8) for p, s in PROMPTS[:3]]
    alone = [tiny_engine.generate(GenerationRequest(r.prompt_ids, 8)) for r in good]
    outcomes = Outcomes()
    bad = GenerationRequest([1, 10 ** 6, 5], max_new_tokens=3)
    scheduler.submit([outcomes.job("0", good[0]), outcomes.job("bad", bad),
                      outcomes.job("1", good[1]), outcomes.job("2", good[2])])
    *together, failed = outcomes.wait("0", "1", "2", "bad")
    assert isinstance(failed, Exception)
    assert [r.text for r in together] == [r.text for r in alone]


def test_kept_caches_of_several_users_prefilled_together_change_no_answer(scheduler,
                                                                          tiny_engine):
    """Rows of different lengths prefilled in one pass leave padding between their prompt and
    their answer; the caches kept for their users, reused by the next requests (prefilled
    together again), answer as a fresh run would."""
    users = ["ann", "ben"]
    first = {u: ids(tiny_engine, f"def {u}(x, y):\n    z = x{'*' * i}\n    return ", "\n")
             for i, u in enumerate(users)}
    then = {u: ids(tiny_engine, f"def {u}(x, y):\n    z = x{'*' * i}\n    return z + ", "\n")
            for i, u in enumerate(users)}
    assert len({len(p) for p in first.values()}) == len(users)  # padding is needed
    outcomes = Outcomes()
    scheduler.submit([outcomes.job(f"first-{u}", GenerationRequest(first[u], max_new_tokens=6,
                                                                   cache_key=u))
                      for u in users])
    outcomes.wait(*(f"first-{u}" for u in users))
    scheduler.submit([outcomes.job(u, GenerationRequest(then[u], max_new_tokens=10,
                                                        cache_key=u)) for u in users])
    reused = outcomes.wait(*users)
    fresh = [tiny_engine.generate(GenerationRequest(then[u], max_new_tokens=10)) for u in users]
    assert [r.text for r in reused] == [r.text for r in fresh]
    assert all(r.reused_prompt_tokens > 0 for r in reused)
