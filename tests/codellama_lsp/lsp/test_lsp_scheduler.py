"""Cancellation and one generation per document, with the real tiny engine in threads."""

from __future__ import annotations

import asyncio
import threading

import pytest

from codellama_lsp.lsp.model_loading import LoadState, ModelLoader
from codellama_lsp.lsp.scheduler import Scheduler
from fim.engines.base import GenerationRequest
from fim.engines.local import LoadOptions, LocalEngine
from tests.support.waiting import until_async

pytestmark = pytest.mark.unit

LONG = 600  # tokens: long enough to be cancelled midway


def generation(engine, results: list, max_new_tokens: int = LONG):
    ids = engine.tokenizer.encode("def main():\n    ")

    def work(cancel: threading.Event):
        result = engine.generate(GenerationRequest([1] + ids, max_new_tokens, cancel=cancel))
        results.append(result)
        return result
    return work


async def _until_generating(scheduler: Scheduler, engine: LocalEngine) -> None:
    """Until a generation has started and decoded a few tokens."""
    before = engine.stats["forward_passes"]
    await until_async(lambda: scheduler.started, "a generation started")
    await until_async(lambda: engine.stats["forward_passes"] >= before + 3, "tokens decoded")


async def test_a_newer_request_stops_the_older_generation(tiny_engine):
    scheduler, results = Scheduler(), []
    first = asyncio.create_task(scheduler.run("doc", generation(tiny_engine, results)))
    await _until_generating(scheduler, tiny_engine)
    second = await scheduler.run("doc", generation(tiny_engine, results, 4))
    assert await first is None  # superseded: its partial answer is for text that moved on
    assert results[0].stop_reason == "cancelled" and results[0].generated_tokens < LONG
    assert second is results[1] and second.generated_tokens == 4
    assert scheduler.started == 2 and scheduler.max_running_per_document == 1


async def test_cancelling_the_task_stops_the_generation_before_the_next_starts(tiny_engine):
    scheduler, results = Scheduler(), []
    first = asyncio.create_task(scheduler.run("doc", generation(tiny_engine, results)))
    await _until_generating(scheduler, tiny_engine)
    first.cancel()  # what pygls does on $/cancelRequest
    with pytest.raises(asyncio.CancelledError):
        await first
    assert results[0].stop_reason == "cancelled"  # the thread has stopped already
    await scheduler.run("doc", generation(tiny_engine, results, 2))
    assert scheduler.max_running_per_document == 1


async def test_debounce_lets_typing_supersede_without_a_generation(tiny_engine):
    scheduler, results = Scheduler(), []
    runs = [asyncio.create_task(scheduler.run("doc", generation(tiny_engine, results, 2), 0.2))
            for _ in range(5)]
    outcomes = await asyncio.gather(*runs)
    assert outcomes[:4] == [None] * 4 and outcomes[4].generated_tokens == 2
    assert scheduler.started == 1


LONG_PAUSE_S = 600.0  # a debounce no test waits out: ending in time means it was cut short
PROMPTLY_S = 30.0


async def test_a_newer_request_ends_the_older_ones_debounce_at_once():
    scheduler, ran = Scheduler(), []
    older = asyncio.create_task(scheduler.run("doc", ran.append, LONG_PAUSE_S))
    newer = asyncio.create_task(scheduler.run("doc", lambda cancel: "newer"))
    # The superseded request answers None now, not a debounce later; it never ran.
    assert await asyncio.wait_for(older, PROMPTLY_S) is None
    assert await newer == "newer" and ran == [] and scheduler.started == 1


@pytest.mark.parametrize("stop", ["cancel", "forget", "shutdown"])
async def test_cancel_forget_and_shutdown_end_a_pause_at_once(stop):
    scheduler = Scheduler()
    with scheduler.claim("doc") as claim:
        pausing = asyncio.create_task(claim.pause(LONG_PAUSE_S))
        getattr(scheduler, stop)(*(["doc"] if stop != "shutdown" else []))
        assert await asyncio.wait_for(pausing, PROMPTLY_S) is False
        assert await scheduler.run_claimed(claim, lambda cancel: "ran") is None


async def test_a_pause_waited_out_leaves_the_claim_standing():
    scheduler = Scheduler()
    with scheduler.claim("doc") as claim:
        assert await claim.pause(0.01) is True
        assert await scheduler.run_claimed(claim, lambda cancel: "ran") == "ran"
    assert claim.stopped  # left: a late result would answer for nothing


async def test_documents_do_not_cancel_each_other(tiny_engine):
    scheduler, results = Scheduler(), []
    a, b = await asyncio.gather(scheduler.run("a", generation(tiny_engine, results, 3)),
                                scheduler.run("b", generation(tiny_engine, results, 3)))
    assert a.generated_tokens == b.generated_tokens == 3


async def test_requests_wait_a_bounded_time_for_a_loading_model(tiny_model):
    loader, gate = ModelLoader(), threading.Event()

    def slow_load():
        gate.wait(30)
        return LocalEngine.load(LoadOptions(model=str(tiny_model)))

    outcome = loader.start("tiny", slow_load)
    assert loader.state is LoadState.LOADING
    assert await loader.engine(0.05) is None  # gave up waiting
    gate.set()
    engine = await loader.engine(30)
    assert isinstance(engine, LocalEngine) and loader.state is LoadState.READY
    assert outcome.result(5).error is None


async def test_a_failed_load_is_kept_and_gives_no_engine(tmp_path):
    loader = ModelLoader()
    outcome = loader.start("missing", lambda: LocalEngine.load(
        LoadOptions(model=str(tmp_path / "nope"))))
    assert await loader.engine(30) is None
    assert loader.state is LoadState.FAILED
    assert outcome.result(5).error == loader.error
    assert "no such model directory" in loader.error
