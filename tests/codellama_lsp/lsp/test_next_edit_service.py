"""The next-edit service in process, on one ServerState, with the model-free rules: what a
request the next keystroke cancels costs (the real server's tests: test_lsp_next_edits.py)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from codellama_lsp.lsp.documents import Change
from codellama_lsp.lsp.next_edit_service import NextEditService
from codellama_lsp.lsp.next_edit_wire import InlineEditRequest
from codellama_lsp.lsp.settings import Settings
from codellama_lsp.lsp.state import ServerState
from codellama_lsp.next_edit.history import EditHistory
from codellama_lsp.syntax.parsed import ParsedDocument
from tests.codellama_lsp.lsp.test_services import RecordingWindow
from tests.support.waiting import until_async

pytestmark = [pytest.mark.unit, pytest.mark.asyncio]

URI = "file:///work/total.py"
SOURCE = ("def total(items):\n"
          "    count = 0\n"
          "    for item in items:\n"
          "        count += item.count\n"
          "    return count\n")
LONG_PAUSE_MS = 600_000  # a pause no test waits out: answering in time means it was cut short
PROMPTLY_S = 30.0


def renamed(delay_ms: int) -> tuple[ServerState, NextEditService, int]:
    """A server's state and next edits where the first `count` was just renamed to `n`, as a
    user types it; the version reached."""
    state = ServerState(Settings(next_edits="rules", next_edit_delay_ms=delay_ms),
                        RecordingWindow())
    service = NextEditService(state)
    state.open(URI, "python", 1, SOURCE)
    version = 1
    for start, end, text in [((1, 4), (1, 9), ""), ((1, 4), (1, 4), "n")]:
        version += 1
        type_(state, service, version, start, end, text)
    return state, service, version


def type_(state: ServerState, service: NextEditService, version: int,
          start: tuple[int, int], end: tuple[int, int], text: str) -> None:
    """A didChange, as the server handles it."""
    state.change(URI, version, [Change(text, start, end)])
    service.document_changed(URI)


@pytest.fixture
def built(monkeypatch) -> list[str]:
    """What was built for a prediction: the syntax tree's snapshot, the edit history's hunks."""
    calls: list[str] = []

    def spy(name: str, original):
        def recorded(*args, **kwargs):
            calls.append(name)
            return original(*args, **kwargs)
        return recorded
    monkeypatch.setattr(ParsedDocument, "snapshot", spy("snapshot", ParsedDocument.snapshot))
    monkeypatch.setattr(EditHistory, "recent", spy("history", EditHistory.recent))
    return calls


async def asked(service: NextEditService, version: int) -> asyncio.Task:
    """A next-edit request for the cursor after `n`, once it waits out its pause."""
    before = service.stats.requests
    task = asyncio.create_task(service.suggest(InlineEditRequest(URI, version, 1, 5)))
    await until_async(lambda: service.stats.requests > before, "the request came")
    return task


async def test_the_next_keystroke_ends_the_pause_at_once_and_nothing_was_built(built):
    state, service, version = renamed(LONG_PAUSE_MS)
    request = await asked(service, version)
    type_(state, service, version + 1, (1, 5), (1, 5), "u")  # the next keystroke
    assert await asyncio.wait_for(request, PROMPTLY_S) == []
    assert built == [] and service.stats.cancelled == 1

    # Once the document rests, the same request builds its context and is answered.
    state.settings = dataclasses.replace(state.settings, next_edit_delay_ms=0)
    (edit,) = await service.suggest(InlineEditRequest(URI, version + 1, 1, 6))
    assert edit["text"].count("nu") == 2 and "snapshot" in built and "history" in built


async def test_a_newer_request_ends_the_older_ones_pause_at_once(built):
    state, service, version = renamed(LONG_PAUSE_MS)
    older = await asked(service, version)
    newer = await asked(service, version)
    assert await asyncio.wait_for(older, PROMPTLY_S) == []
    service.forget(URI)  # the document is closed: the newer one ends too
    assert await asyncio.wait_for(newer, PROMPTLY_S) == []
    assert built == [] and service.stats.cancelled == 2
