"""A model replaced by new settings is closed exactly once, however the two loads interleave;
and what the user sees of a replaced load: no end of the loading progress (a client reads that
as "ready"), no message.

The flaky `test_a_replaced_engine_is_closed` (AttributeError: 'NoneType' object has no attribute
'_loop', after "closing the previous engine failed") came from two owners of one engine: when
the settings changed just as a load finished, both the finished load's thread ("I was replaced")
and the new load's thread ("the previous engine is ready") closed the same remote engine at
once; one close failed, the other could wait for ever on the engine's stopped event loop, and
the new engine never came. Now only the EnginePool closes engines (`retain`, under its lock).
These tests drive the loads as the server does (`Models._open`: retain, then get), with the
interleavings forced rather than hoped for.
"""

from __future__ import annotations

import threading

import pytest

from codellama_lsp.lsp.engine_pool import EnginePool
from codellama_lsp.lsp.model_loading import LoadState, ModelLoader, Models
from codellama_lsp.lsp.settings import Settings
from fim.engines.base import EngineError
from fim.engines.local import LoadOptions
from tests.support.waiting import until_async

pytestmark = pytest.mark.unit

FIRST = ("local", LoadOptions(model="first"))
SECOND = ("local", LoadOptions(model="second"))


class CountingEngine:
    def __init__(self, name: str) -> None:
        self.name, self.closes = name, 0

    def close(self) -> None:
        self.closes += 1


class GatedOpener:
    """Opens CountingEngines; the first model's open waits for `gate`; "missing" fails."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.opened: dict[str, CountingEngine] = {}

    def __call__(self, engine: str, options: LoadOptions) -> CountingEngine:
        if options.model == "first":
            self.gate.wait(30)
        if options.model == "missing":
            raise EngineError("no such model directory")
        self.opened[options.model] = CountingEngine(options.model)
        return self.opened[options.model]


def load(pool: EnginePool, key):
    def run():
        pool.retain({key})  # as Models._open: drop what the settings no longer name
        return pool.get(*key)
    return run


def test_a_model_replaced_the_moment_it_is_ready_is_closed_once():
    opener = GatedOpener()
    pool, loader, outcomes = EnginePool(opener), ModelLoader(), []
    outcomes.append(loader.start("first", load(pool, FIRST)))
    # New settings arrive between "the engine is ready" and anything after it in the loading
    # thread: the replacing start runs inside the hand-over, deterministically.
    loader._future.add_done_callback(
        lambda _: outcomes.append(loader.start("second", load(pool, SECOND))))
    opener.gate.set()
    assert outcomes[0].result(30).engine is opener.opened["first"]
    assert outcomes[1].result(30).engine is opener.opened["second"]
    assert opener.opened["first"].closes == 1 and opener.opened["second"].closes == 0
    assert pool.loaded() == [SECOND]


def test_a_model_replaced_while_it_loads_is_closed_when_it_is_done():
    opener = GatedOpener()
    pool, loader = EnginePool(opener), ModelLoader()
    first = loader.start("first", load(pool, FIRST))
    second = loader.start("second", load(pool, SECOND))  # its retain finds nothing to drop yet
    assert second.result(30).engine is opener.opened["second"]
    opener.gate.set()
    assert "replaced by newer settings" in first.result(30).error
    assert opener.opened["first"].closes == 1  # not left in memory beside the second model
    assert pool.loaded() == [SECOND] and opener.opened["second"].closes == 0


class ProgressWindow:
    """The client's window: the messages shown, and the $/progress values in order."""

    def __init__(self) -> None:
        self.shown: list[str] = []
        self.progress: list[tuple[str, str]] = []

    def show(self, kind, message: str) -> None:
        self.shown.append(message)

    async def begin_progress(self, title: str, message: str) -> str | None:
        self.progress.append(("begin", message))
        return "token"

    def report_progress(self, token: str, message: str) -> None:
        self.progress.append(("report", message))

    def end_progress(self, token: str, message: str) -> None:
        self.progress.append(("end", message))


@pytest.mark.parametrize("second, ends", [("second", "loaded model second"),
                                          ("missing", "cannot load model missing")])
async def test_a_load_replaced_while_it_runs_neither_ends_the_progress_nor_is_told(second, ends):
    opener, window = GatedOpener(), ProgressWindow()
    models = Models(EnginePool(opener), window)
    models.load_completion(Settings(model="first"))
    await until_async(lambda: window.progress, "the progress to begin")
    models.load_completion(Settings(model=second))  # waits for the first load to be done
    await until_async(lambda: len(window.progress) == 2, "the second load to be reported")
    opener.gate.set()  # the first load ends (loaded), then the second runs
    await until_async(lambda: window.progress[-1][0] == "end", "the progress to end")
    assert [kind for kind, _ in window.progress] == ["begin", "report", "end"], window.progress
    assert window.progress[:2] == [("begin", "loading first"), ("report", f"loading {second}")]
    assert window.progress[2][1].startswith(ends)
    failed = second == "missing"
    assert models.completion.state is (LoadState.FAILED if failed else LoadState.READY)
    assert len(window.shown) == failed  # one message, for the load that counts
