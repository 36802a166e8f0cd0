"""The server process's memory over a long session: freed memory given back to the system.

glibc's malloc keeps what a program frees for its next allocations: its mmap threshold rises to
the largest block freed (up to 32 MB), so a long prompt's temporaries come from the heap
afterwards, and each thread that meets contention gets an arena of its own. So the server's RSS
climbed by 80 MB or more over the first few thousand edits of a session and stayed there
(`codellama bench memory`, BENCHMARKS.md). Fixing the threshold instead cost a 7B model on the CPU
30% more time to read a prompt and 25% more per token (every large temporary paged in anew), so
the memory is given back only when the model's threads have run dry: `malloc_trim`, at most
every few seconds, in the thread whose work just ended.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

TRIM_EVERY_S = 1.0


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, where this process has it."""
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # musl and others have none
        return None


class FreedMemory:
    """Gives the memory malloc holds unused back to the system, at most every `every_s`."""

    def __init__(self, every_s: float = TRIM_EVERY_S) -> None:
        self.every_s = every_s
        self.trims = 0
        self._trim = _malloc_trim()
        self._last = float("-inf")
        self._lock = threading.Lock()

    def give_back(self) -> None:
        """Trim now unless a trim ran in the last `every_s` (or another thread is trimming)."""
        if self._trim is None or not self._lock.acquire(blocking=False):
            return
        try:
            now = time.monotonic()
            if now - self._last < self.every_s:
                return
            self._last = now
            self._trim(0)
            self.trims += 1
        finally:
            self._lock.release()
