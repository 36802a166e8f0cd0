"""The server caps glibc's malloc arenas (its RSS then stays flat over a long session: `codellama
bench memory`), unless the user set MALLOC_ARENA_MAX."""

from __future__ import annotations

import subprocess
import sys

import pytest

from codellama_lsp.lsp.process_memory import limit_malloc_arenas

pytestmark = pytest.mark.unit

GLIBC = sys.platform.startswith("linux") and "glibc" in " ".join(
    __import__("platform").libc_ver())


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt only")
def test_the_arenas_are_capped_in_a_fresh_process():
    probe = ("from codellama_lsp.lsp.process_memory import limit_malloc_arenas; "
             "print(limit_malloc_arenas())")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "True"


def test_a_users_own_setting_is_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False
