"""The completion and edit services in process, on one ServerState, with the scripted engine
(fast; the subprocess tests drive the same services through the real server)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from codellama_lsp.completion import pipeline, policy
from codellama_lsp.lsp import completion_service
from codellama_lsp.lsp.code_actions import EditTarget
from codellama_lsp.lsp.completion_service import CompletionService
from codellama_lsp.lsp.documents import Change
from codellama_lsp.lsp.edit_service import EditService, StaleEdit
from codellama_lsp.lsp.engine_pool import EnginePool
from codellama_lsp.lsp.prewarm import REMEMBERED_CURSORS, Cursor
from codellama_lsp.lsp.settings import Settings
from codellama_lsp.lsp.state import ServerState
from fim.engines.base import EngineError
from fim.engines.local import LoadOptions
from fim.tokenizer import load_tokenizer
from tests.support.engines import ScriptedEngine
from tests.support.waiting import until_async

pytestmark = [pytest.mark.server, pytest.mark.asyncio]

URI = "file:///work/shop.py"
SOURCE = "def total(items):\n    \n"


class RecordingWindow:
    """The client's window: records what the server shows."""

    def __init__(self) -> None:
        self.shown: list[tuple[types.MessageType, str]] = []

    def show(self, kind: types.MessageType, message: str) -> None:
        self.shown.append((kind, message))

    async def begin_progress(self, title: str, message: str) -> str | None:
        return None

    def report_progress(self, token: str, message: str) -> None:
        pass

    def end_progress(self, token: str, message: str) -> None:
        pass


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    return load_tokenizer(tiny_model)


def server_state(engine: ScriptedEngine, **settings) -> ServerState:
    state = ServerState(Settings(debounce_ms=0, **settings), RecordingWindow(),
                        engines=EnginePool(engine.opener()))
    state.open(URI, "python", 1, SOURCE)
    return state


async def test_a_completion_is_generated_once_then_served_from_the_cache(tokenizer):
    engine = ScriptedEngine(tokenizer, "return sum(items)\n")
    state = server_state(engine)
    completions = CompletionService(state)
    state.models.load_completion(state.settings)
    first = await completions.answer(URI, 1, 4, invoked=False)
    again = await completions.answer(URI, 1, 4, invoked=False)
    assert first is not None and first.texts == ["return sum(items)"]
    assert again is not None and again.texts == first.texts
    assert len(engine.requests) == 1 and completions.stats.cache_hits == 1
    # The engine's KV cache is this editor's document's; the suggestion cache has its own key.
    assert engine.requests[0].cache_key == f"{completions.kv_cache_key}:{URI}"
    assert completions.kv_cache_key.startswith("lsp-")


async def test_the_policy_decides_once_per_request(tokenizer, monkeypatch):
    engine = ScriptedEngine(tokenizer, "return 0\n")
    state = server_state(engine, invoked_items=3)
    completions = CompletionService(state)
    state.models.load_completion(state.settings)
    cursors: list[int] = []

    def counted(text: str, offset: int, document=None) -> policy.Decision:
        cursors.append(offset)
        return policy.decide(text, offset, document)

    monkeypatch.setattr(completion_service, "decide", counted)
    monkeypatch.setattr(pipeline, "decide", counted)
    assert await completions.answer(URI, 1, 4, invoked=True) is not None
    assert len(engine.requests) == 3 and len(cursors) == 1  # three samples, one decision


async def test_prewarming_keeps_the_last_cursor_of_recent_documents_only(tokenizer):
    prewarmer = CompletionService(server_state(ScriptedEngine(tokenizer, ""))).prewarmer

    def uri(number: int) -> str:
        return f"file:///work/doc{number}.py"

    for number in range(REMEMBERED_CURSORS):
        prewarmer.remember(Cursor(uri(number), number, 0))
    assert prewarmer.cursors.get(uri(0)) == Cursor(uri(0), 0, 0)  # used again just now
    prewarmer.remember(Cursor(uri(REMEMBERED_CURSORS), 1, 0))
    assert prewarmer.cursors.get(uri(1)) is None  # the document left longest ago goes first
    assert prewarmer.cursors.get(uri(0)) == Cursor(uri(0), 0, 0)
    for number in range(REMEMBERED_CURSORS, 10 * REMEMBERED_CURSORS):
        prewarmer.remember(Cursor(uri(number), 1, 0))
    assert len(prewarmer.cursors) == REMEMBERED_CURSORS  # not one per document ever opened
    last = uri(10 * REMEMBERED_CURSORS - 1)
    assert prewarmer.cursors.get(last) == Cursor(last, 1, 0)


async def test_other_settings_empty_the_suggestion_cache(tokenizer):
    state = server_state(ScriptedEngine(tokenizer, "return 0\n"))
    completions = CompletionService(state)
    state.models.load_completion(state.settings)
    assert await completions.answer(URI, 1, 4, invoked=False) is not None
    assert len(completions.cache) == 1
    completions.settings_changed(state.apply_settings({"debounceMs": 10}))
    assert len(completions.cache) == 1  # the debounce does not shape an answer
    completions.settings_changed(state.apply_settings({"maxNewTokens": 16}))
    assert len(completions.cache) == 0


async def test_a_failed_load_is_shown_once_and_gives_no_completion(tokenizer):
    def fail(engine: str, options: LoadOptions):
        raise EngineError("no such model directory: /nowhere")

    state = ServerState(Settings(debounce_ms=0, model="/nowhere"), RecordingWindow(),
                        engines=EnginePool(fail))
    state.open(URI, "python", 1, SOURCE)
    completions = CompletionService(state)
    state.models.load_completion(state.settings)
    assert await completions.answer(URI, 1, 4, invoked=False) is None
    await until_async(lambda: state.window.shown, "the failure shown")  # reported on the loop
    assert [kind for kind, _ in state.window.shown] == [types.MessageType.Error]
    assert "cannot load model /nowhere: no such model directory" in state.window.shown[0][1]


def target(version: int | None = None) -> EditTarget:
    return EditTarget(URI, types.Range(types.Position(0, 0), types.Position(1, 0)),
                      "add type hints", version)


async def test_an_edit_is_computed_on_the_shared_state_and_applied(tokenizer):
    engine = ScriptedEngine(tokenizer, " ```python\ndef total(items: list) -> int:\n```", "eos")
    state = server_state(engine, instruct_model="scripted")
    edits = EditService(state)
    applied: list[types.ApplyWorkspaceEditParams] = []

    async def apply_edit(params: types.ApplyWorkspaceEditParams
                         ) -> types.ApplyWorkspaceEditResult:
        applied.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    result = await edits.execute([target(1).as_argument()], apply_edit)
    assert result == {"applied": True, "version": 1}
    (change,) = applied[0].edit.document_changes
    assert change.text_document.version == 1
    assert [e.new_text for e in change.edits] == ["def total(items: list) -> int:\n"]
    assert state.window.shown == []  # nothing to tell the user
    assert edits.report()["instruct_model"]["state"] == "ready"


async def test_an_edit_for_an_older_version_is_refused(tokenizer):
    state = server_state(ScriptedEngine(tokenizer, " ```python\nx\n```", "eos"))
    with pytest.raises(StaleEdit, match="changed since the edit was offered"):
        await EditService(state).compute(target(version=0))


async def test_files_changed_on_disk_are_read_again(tmp_path: Path, tokenizer):
    (tmp_path / "util.py").write_text("def parse_item(line):\n    return {}\n")
    state = server_state(ScriptedEngine(tokenizer, ""))
    state.set_workspace(str(tmp_path))
    state.snippets.warm()
    (tmp_path / "util.py").write_text("def parse_order(line):\n    return []\n")
    (tmp_path / "more.py").write_text("def parse_more(line):\n    return []\n")
    state.files_changed([str(tmp_path / "util.py"), str(tmp_path / "more.py")], True)
    document = state.open("file:///elsewhere/a.py", "python", 1,
                          "x = parse_order(1) + parse_more(2)\n").parsed
    found = {s.text.split("(")[0] for s in state.snippets.snippets_for(document, 10)}
    assert {"def parse_order", "def parse_more"} <= found


async def test_clients_without_document_changes_get_plain_changes(tokenizer):
    engine = ScriptedEngine(tokenizer, " ```python\ndef total(items: list) -> int:\n```", "eos")
    state = server_state(engine, instruct_model="scripted")
    applied: list[types.ApplyWorkspaceEditParams] = []

    async def apply_edit(params: types.ApplyWorkspaceEditParams
                         ) -> types.ApplyWorkspaceEditResult:
        applied.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    result = await EditService(state).execute([target(1).as_argument()], apply_edit,
                                              document_changes=False)
    assert result["applied"] and applied[0].edit.document_changes is None
    (edit,) = applied[0].edit.changes[URI]
    assert edit.new_text == "def total(items: list) -> int:\n"


async def test_an_item_seen_in_the_document_counts_as_accepted_once(tokenizer):
    state = server_state(ScriptedEngine(tokenizer, "return sum(items)\n"))
    completions = CompletionService(state)
    state.models.load_completion(state.settings)
    answer = await completions.answer(URI, 1, 4, invoked=False)
    assert answer is not None
    # The client inserts the item (and never runs the accept command).
    document = state.change(URI, 2, [Change("return sum(items)", (1, 4), (1, 4))])
    completions.document_changed(document)
    completions.document_changed(document)
    assert completions.stats.accepted == completions.stats.accepted_from_changes == 1
    assert not completions.stats.accept(answer.item_ids[0])  # the command after it: not again
