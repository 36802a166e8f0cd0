"""Python's garbage collector while a model loads, and after.

A load leaves some 400,000 long-lived objects behind (torch, transformers, the model's modules).
Each full collection walks all of them with the interpreter lock held: 185 ms with the demo
model on a 2-core CPU, during which no other thread runs (an editor's `exit` waits, and so would
a keystroke's completion). During the load the collector runs again and again and finds them all
alive: pausing it makes the load faster and leaves the other threads free. When the last load
ends, `gc.freeze()` puts what exists then out of the collector's reach, so later full
collections walk only what came after; before a load, what was frozen is given back and
collected once, so that a model replaced by another is freed.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_loads = 0  # loads running now (a completion and an instruct model can load side by side)
_was_enabled = True


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the collector while the body runs (a model load); then freeze what exists."""
    global _loads, _was_enabled
    with _lock:
        if _loads == 0:
            _was_enabled = gc.isenabled()
            if gc.get_freeze_count():  # an earlier load's: what a replaced model left
                gc.unfreeze()
                gc.collect()
            gc.disable()
        _loads += 1
    try:
        yield
    finally:
        with _lock:
            _loads -= 1
            if _loads == 0:
                gc.freeze()
                if _was_enabled:
                    gc.enable()
