"""The garbage collector around model loads: paused during them, what they leave frozen after,
and a replaced model's cycles collected at the next load."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from fim.engines.collector import collector_paused
from fim.engines.local import LoadOptions, LocalEngine

pytestmark = pytest.mark.unit


class Node:
    """An object in a reference cycle: only the collector frees it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def collector_as_it_was():
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    gc.enable() if enabled else gc.disable()


def test_the_collector_is_paused_during_a_load_and_what_exists_is_frozen_after():
    gc.unfreeze()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0


def test_with_two_loads_at_once_the_collector_resumes_when_the_last_ends():
    first_in, second_done = threading.Event(), threading.Event()

    def first() -> None:
        with collector_paused():
            first_in.set()
            second_done.wait(10)

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(10)
    with collector_paused():
        pass
    assert not gc.isenabled()  # the first load still runs
    second_done.set()
    thread.join(10)
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_user_stays_off():
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_what_a_replaced_model_left_in_cycles_is_freed_at_the_next_load():
    with collector_paused():
        left = weakref.ref(Node())  # created during a load, unreachable: frozen with the rest
    gc.collect()
    assert left() is not None  # out of the collector's reach
    with collector_paused():
        assert left() is None


def test_a_local_engine_load_freezes_what_it_leaves(tiny_model):
    gc.unfreeze()
    LocalEngine.load(LoadOptions(model=str(tiny_model)))
    assert gc.isenabled() and gc.get_freeze_count() > 0
