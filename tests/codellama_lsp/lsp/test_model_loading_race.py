"""A model replaced by new settings is closed exactly once, however the two loads interleave.

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
from codellama_lsp.lsp.model_loading import ModelLoader
from fim.engines.local import LoadOptions

pytestmark = pytest.mark.unit

FIRST = ("local", LoadOptions(model="first"))
SECOND = ("local", LoadOptions(model="second"))


class CountingEngine:
    def __init__(self, name: str) -> None:
        self.name, self.closes = name, 0

    def close(self) -> None:
        self.closes += 1


class GatedOpener:
    """Opens CountingEngines; the first model's open waits for `gate`."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.opened: dict[str, CountingEngine] = {}

    def __call__(self, engine: str, options: LoadOptions) -> CountingEngine:
        if options.model == "first":
            self.gate.wait(30)
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
