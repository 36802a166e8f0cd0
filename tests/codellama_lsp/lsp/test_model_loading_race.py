"""A replaced engine is closed exactly once, whenever the replacing load starts.

The cause of a flaky test (`test_a_replaced_engine_is_closed`): when the settings changed just
as a load finished, both the finished load's thread ("I was replaced") and the new load's thread
("the previous engine is ready") closed the same engine at once; one close failed and the other
could hang on the engine's stopped event loop, so the new engine never came.
"""

from __future__ import annotations

import threading

from codellama_lsp.lsp.model_loading import ModelLoader


class CountingEngine:
    def __init__(self) -> None:
        self.closes = 0
        self.tokenizer = None
        self.context_window = 0

    def generate(self, request):  # pragma: no cover - never asked
        raise AssertionError("not used")

    def close(self) -> None:
        self.closes += 1


def test_an_engine_replaced_the_moment_it_is_ready_is_closed_once():
    loader, first, second = ModelLoader(), CountingEngine(), CountingEngine()
    gate, outcomes = threading.Event(), []

    def slow_first() -> CountingEngine:
        gate.wait(30)
        return first

    outcomes.append(loader.start("first", slow_first))
    # The new settings arrive between "the engine is ready" and "was this load replaced?": the
    # replacing start runs inside the loading thread's hand-over, deterministically.
    loader._future.add_done_callback(
        lambda _: outcomes.append(loader.start("second", lambda: second)))
    gate.set()
    assert outcomes[0].result(30).engine is first
    assert outcomes[1].result(30).engine is second
    assert first.closes == 1 and second.closes == 0


def test_an_engine_replaced_while_loading_is_closed_once_by_its_own_load():
    loader, first, second = ModelLoader(), CountingEngine(), CountingEngine()
    gate = threading.Event()

    def slow_first() -> CountingEngine:
        gate.wait(30)
        return first

    first_outcome = loader.start("first", slow_first)
    second_outcome = loader.start("second", lambda: second)
    assert second_outcome.result(30).engine is second
    gate.set()
    assert first_outcome.result(30).engine is first
    assert first.closes == 1 and second.closes == 0
