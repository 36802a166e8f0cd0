"""The server process's memory over a long session: glibc's malloc told to give memory back.

Two defaults of glibc's malloc made the server's RSS climb by tens of MB over the first few
thousand edits of a session and stay there (`codellama bench memory`, BENCHMARKS.md):
- its mmap threshold rises to the size of the largest block freed (up to 32 MB), so later
  temporaries of that size (a longer prompt's activations) come from the heap and stay resident
  after they are freed; a fixed threshold keeps blocks of 128 KiB and more in mappings of their
  own, returned to the system when freed;
- each thread that meets contention gets an arena of its own (up to 8 per core), whose freed
  memory serves only that arena; the generation, pre-warm, indexing and loading threads rarely
  allocate at the same moment, so two arenas cost them no waiting.
A variable the user set ($MALLOC_MMAP_THRESHOLD_, $MALLOC_ARENA_MAX) wins.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

log = logging.getLogger(__name__)

_M_MMAP_THRESHOLD = -3  # glibc's malloc.h
_M_ARENA_MAX = -8
SETTINGS = (("MALLOC_MMAP_THRESHOLD_", _M_MMAP_THRESHOLD, 128 * 1024),
            ("MALLOC_ARENA_MAX", _M_ARENA_MAX, 2))


def tune_malloc() -> list[str]:
    """Set the mmap threshold and the arena cap above for this process (call it before threads
    start); the variables it set (none on other C libraries)."""
    if not sys.platform.startswith("linux"):
        return []
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):  # musl and others have no mallopt
        mallopt = None
    if mallopt is None:
        return []
    done = [variable for variable, option, value in SETTINGS
            if variable not in os.environ and mallopt(ctypes.c_int(option), ctypes.c_int(value))]
    log.debug("malloc tuned: %s", ", ".join(done) or "nothing")
    return done
