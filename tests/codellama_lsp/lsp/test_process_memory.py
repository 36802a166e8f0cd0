"""The server tunes glibc's malloc (its RSS then stays flat over a long session: `codellama
bench memory`), leaving alone what the user set."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
PROBE = "from codellama_lsp.lsp.process_memory import tune_malloc; print(*tune_malloc())"


def _tuned(**env: str) -> list[str]:
    import os

    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          check=True, env={**os.environ, **env})
    return done.stdout.split()


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt only")
def test_the_threshold_and_the_arenas_are_set_in_a_fresh_process():
    assert _tuned() == ["MALLOC_MMAP_THRESHOLD_", "MALLOC_ARENA_MAX"]


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt only")
def test_a_users_own_setting_is_left_alone():
    assert _tuned(MALLOC_ARENA_MAX="4") == ["MALLOC_MMAP_THRESHOLD_"]
