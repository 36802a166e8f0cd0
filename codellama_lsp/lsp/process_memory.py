"""The server process's memory over a long session: fewer glibc malloc arenas.

glibc gives each thread that meets contention a malloc arena of its own (up to 8 per core), and
memory freed in one arena serves only that arena's threads. The server's generation, pre-warm,
indexing and loading threads each freed into their own, so its RSS stepped up by tens of MB over
the first few thousand edits of a session (`codellama bench memory`: +86 MB from 1,000 to 20,000
edits with the default arenas, +0.5 MB with two). Two arenas keep that memory shared; the threads
rarely allocate at the same moment, so they hardly wait on each other.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

log = logging.getLogger(__name__)

ARENAS = 2
_M_ARENA_MAX = -8  # glibc's malloc.h


def limit_malloc_arenas(count: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas at `count` for this process (call it before threads start);
    whether it took effect (False on other C libraries, and where $MALLOC_ARENA_MAX is set,
    which the user chose)."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    done = bool(mallopt(ctypes.c_int(_M_ARENA_MAX), ctypes.c_int(count)))
    log.debug("malloc arenas capped at %d: %s", count, done)
    return done
