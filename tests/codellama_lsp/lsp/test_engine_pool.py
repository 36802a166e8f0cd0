"""One engine per model: the instruct model equal to the completion model shares its engine."""

from __future__ import annotations

import threading

import pytest

from codellama_lsp.lsp.engine_pool import EnginePool
from fim.engines.base import EngineError
from fim.engines.factory import open_engine
from fim.engines.local import LoadOptions

pytestmark = pytest.mark.unit


class CountingOpener:
    """The real `open_engine`, counting how often each model is loaded."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, engine: str, options: LoadOptions):
        self.calls.append(options.model)
        return open_engine(engine, options)


def test_same_model_is_loaded_once_and_shared(tiny_model):
    opener = CountingOpener()
    pool = EnginePool(opener)
    completion = pool.get("local", LoadOptions(model=str(tiny_model)))
    instruct = pool.get("local", LoadOptions(model=str(tiny_model)))
    assert completion is instruct
    assert opener.calls == [str(tiny_model)]


def test_other_models_get_their_own_engine(tiny_model, tiny_model_no_fim):
    pool = EnginePool(CountingOpener())
    first = pool.get("local", LoadOptions(model=str(tiny_model)))
    second = pool.get("local", LoadOptions(model=str(tiny_model_no_fim)))
    assert first is not second and not second.tokenizer.has_fim
    assert len(pool.loaded()) == 2


def test_concurrent_first_calls_load_once(tiny_model):
    opener = CountingOpener()
    pool = EnginePool(opener)
    got = []
    threads = [threading.Thread(target=lambda: got.append(
        pool.get("local", LoadOptions(model=str(tiny_model))))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 4 and all(engine is got[0] for engine in got)
    assert len(opener.calls) == 1


def test_a_failed_load_is_not_remembered(tmp_path):
    opener = CountingOpener()
    pool = EnginePool(opener)
    missing = LoadOptions(model=str(tmp_path / "no-model"))
    for _ in range(2):
        with pytest.raises(EngineError, match="no such model directory"):
            pool.get("local", missing)
    assert len(opener.calls) == 2 and pool.loaded() == []


def test_retain_drops_and_closes_the_engines_no_longer_named(tiny_model, tiny_model_no_fim):
    opener = CountingOpener()
    pool = EnginePool(opener)
    kept = ("local", LoadOptions(model=str(tiny_model)))
    local = pool.get(*kept)
    pool.get("local", LoadOptions(model=str(tiny_model_no_fim)))
    remote = pool.get("http://127.0.0.1:9", LoadOptions(model=str(tiny_model)))
    pool.retain({kept})
    assert pool.loaded() == [kept] and pool.get(*kept) is local
    assert remote._loop.is_closed()  # a remote engine's connection thread is gone
    pool.get("local", LoadOptions(model=str(tiny_model_no_fim)))  # loaded again when named
    assert opener.calls.count(str(tiny_model_no_fim)) == 2
