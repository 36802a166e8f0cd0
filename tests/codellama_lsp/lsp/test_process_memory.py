"""Memory the server's model threads freed goes back to the system once they run dry (its RSS
then stays flat over a long session: `codellama bench memory`), at most every few seconds."""

from __future__ import annotations

import asyncio
import platform
import sys

import pytest

from codellama_lsp.lsp.process_memory import FreedMemory
from codellama_lsp.lsp.runner import Runner
from tests.support.waiting import until_async

pytestmark = pytest.mark.unit

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc_trim only")
def test_trims_are_spaced():
    freed = FreedMemory(every_s=3600)
    freed.give_back()
    freed.give_back()
    assert freed.trims == 1


async def test_a_runner_calls_when_idle_once_its_work_has_run_dry():
    calls: list[str] = []
    runner = Runner(2, "test", when_idle=lambda: calls.append("idle"))
    results = await asyncio.gather(*(runner.run(lambda cancel, n=n: n) for n in range(3)))
    assert results == [0, 1, 2]
    # In the worker thread, once the last result was handed over (and at most once a job).
    await until_async(lambda: calls, "the idle call")
    assert 1 <= len(calls) <= 3
    runner.shutdown()
