"""The runner under completions, edits and pre-warming: blocking work in threads, awaited from
the event loop; cancelling the task stops the work before the caller goes on."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading

import pytest

from codellama_lsp.lsp.runner import Runner
from tests.support.paths import ROOT
from tests.support.waiting import until_async

pytestmark = pytest.mark.server


async def test_a_cancelled_task_returns_only_once_its_work_has_stopped():
    runner = Runner(2, "test")
    started, stopping, release = threading.Event(), threading.Event(), threading.Event()

    def work(cancel: threading.Event) -> str:
        started.set()
        cancel.wait(30)
        stopping.set()
        release.wait(30)  # the work takes a while to stop (one more token)
        return "late"

    task = asyncio.create_task(runner.run(work))
    await until_async(started.is_set)
    task.cancel()
    await until_async(stopping.is_set)  # the work was told
    for _ in range(20):
        await asyncio.sleep(0)
    assert not task.done()  # the caller waits for the thread to let go
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (runner.started, runner.running) == (1, 0)


async def test_work_cancelled_before_its_turn_never_runs():
    runner = Runner(1, "test")
    release, ran = threading.Event(), []
    busy = asyncio.create_task(runner.run(lambda cancel: release.wait(30)))
    await until_async(lambda: runner.running == 1)
    queued = asyncio.create_task(runner.run(lambda cancel: ran.append("queued")))
    await asyncio.sleep(0)
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued  # at once: no waiting for the busy thread
    release.set()
    assert await busy is True
    assert await runner.run(lambda cancel: "next") == "next"
    assert ran == [] and runner.started == 2


async def test_the_work_s_answer_and_exception_reach_the_caller():
    runner = Runner(2, "test")

    def fail(cancel: threading.Event) -> None:
        raise ValueError("no model")

    assert await runner.run(lambda cancel: 42) == 42
    with pytest.raises(ValueError, match="no model"):
        await runner.run(fail)
    assert runner.running == 0


async def test_shutdown_cancels_the_work_and_takes_no_more():
    runner = Runner(2, "test")
    seen: list[bool] = []

    def work(cancel: threading.Event) -> None:
        seen.append(cancel.wait(30))

    task = asyncio.create_task(runner.run(work))
    await until_async(lambda: runner.running == 1)
    runner.shutdown()
    await task
    assert seen == [True]
    with pytest.raises(asyncio.CancelledError):
        await runner.run(lambda cancel: None)


def test_work_that_never_stops_does_not_hold_up_the_process_s_exit():
    # A remote engine that never answers: its thread must not keep the server alive after exit.
    script = textwrap.dedent("""
        import asyncio, threading
        from codellama_lsp.lsp.runner import Runner

        async def main():
            runner = Runner(1, "stuck")
            task = asyncio.ensure_future(runner.run(lambda cancel: threading.Event().wait()))
            while runner.running == 0:
                await asyncio.sleep(0.01)
            runner.shutdown()
            print("shut down", flush=True)  # then asyncio.run cancels the task waiting on it

        asyncio.run(main())
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0 and done.stdout == "shut down\n", done.stderr


async def test_work_for_other_documents_runs_side_by_side_up_to_the_bound():
    runner = Runner(2, "test")
    release = threading.Event()
    for _ in range(3):  # one after the other: one thread serves them all
        await runner.run(lambda cancel: None)
    tasks = [asyncio.create_task(runner.run(lambda cancel: release.wait(30))) for _ in range(3)]
    await until_async(lambda: runner.running == 2)  # a second thread came for the second
    for _ in range(20):
        await asyncio.sleep(0)
    assert runner.running == 2  # the third waits for one of them
    release.set()
    assert await asyncio.gather(*tasks) == [True, True, True]
    assert runner.running == 0 and runner.started == 6
