"""Next-edit suggestions over LSP: the real `codellama lsp` process over stdio, Copilot's wire
(`textDocument/copilotInlineEdit`, `textDocument/didShowInlineEdit`, the accept command) and
ours (`codellama.applyNextEdit`, the code action "Apply next edit").

The rules are model-free, so `nextEdits: "rules"` makes every answer deterministic; the tiny
model is loaded only because the server always loads one.
"""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio
from lsprotocol import types
from lsprotocol.converters import get_converter
from pygls.exceptions import JsonRpcException

from tests.support.lsp_session import (
    capabilities,
    change,
    open_document,
    plain,
    raw_request,
    server_text,
    start,
    stats,
    wait_for_model,
)
from tests.support.waiting import until_async

pytestmark = [pytest.mark.server, pytest.mark.asyncio(loop_scope="module")]

DELAY_MS = 40
SOURCE = ("def total(items):\n"
          "    count = 0\n"
          "    for item in items:\n"
          "        count += item.count\n"
          "    print(count)\n"
          "    return count\n"
          "\n"
          "count = 3\n")
RENAMED = SOURCE.replace("count = 0", "n = 0").replace("count +=", "n +=") \
    .replace("print(count)", "print(n)").replace("return count", "return n")


class Editor:
    """The client's side of workspace/applyEdit: records each edit and says it applied it."""

    def __init__(self, client) -> None:
        self.applied: list[types.ApplyWorkspaceEditParams] = []

        def apply_edit(params: types.ApplyWorkspaceEditParams
                       ) -> types.ApplyWorkspaceEditResult:
            self.applied.append(params)
            return types.ApplyWorkspaceEditResult(applied=True)
        client.feature(types.WORKSPACE_APPLY_EDIT)(apply_edit)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(tiny_model):
    caps = capabilities()
    caps.workspace.apply_edit = True
    caps.workspace.workspace_edit = types.WorkspaceEditClientCapabilities(document_changes=True)
    client, _ = await start({"model": str(tiny_model), "nextEdits": "rules",
                             "nextEditDelayMs": DELAY_MS}, caps)
    editor = Editor(client)
    await wait_for_model(client)
    yield client, editor
    await client.shutdown_session()
    await client.stop()


def configure(client, **settings) -> None:
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"codellama": settings}))


async def next_edits(client, uri: str, version: int, line: int, character: int) -> list[dict]:
    result = await raw_request(client, "textDocument/copilotInlineEdit", {
        "textDocument": {"uri": uri, "version": version},
        "position": {"line": line, "character": character}})
    return plain(result)["edits"]


async def next_edit_stats(client) -> dict:
    return (await stats(client))["next_edits"]


def rename_first_count(client, uri: str) -> int:
    """Rename the first `count` to `n` as a user types: five deletions, one insertion; the
    version reached."""
    for version in range(2, 7):
        change(client, uri, version, (1, 4), (1, 5), "")
    change(client, uri, 7, (1, 4), (1, 4), "n")
    return 7


def apply(text: str, edit: dict) -> str:
    """`edit` (a copilotInlineEdit entry, ASCII text) applied to `text`."""
    lines = text.split("\n")

    def offset(position: dict) -> int:
        return sum(len(line) + 1 for line in lines[:position["line"]]) + position["character"]
    return text[:offset(edit["range"]["start"])] + edit["text"] + \
        text[offset(edit["range"]["end"]):]


async def test_a_rename_at_one_occurrence_suggests_the_others(session):
    client, _ = session
    uri = "file:///rename.py"
    open_document(client, uri, SOURCE)
    version = rename_first_count(client, uri)
    (edit,) = await next_edits(client, uri, version, 1, 5)
    assert edit["textDocument"] == {"uri": uri, "version": version}
    assert edit["command"]["command"] == "codellama.acceptNextEdit"
    current = (await server_text(client, uri))["text"]
    # The other occurrences in the function, not the attribute `item.count` nor the module's
    # own `count`.
    assert apply(current, edit) == RENAMED
    edit_id = edit["command"]["arguments"][0]
    client.protocol.notify("textDocument/didShowInlineEdit",
                           {"item": {"command": {"arguments": [edit_id]}}})
    accepted = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="codellama.acceptNextEdit", arguments=[edit_id]))
    assert accepted is True
    figures = await next_edit_stats(client)
    assert figures["shown"] >= 1 and figures["accepted"] >= 1
    assert figures["by_source"]["rename"] >= 1 and figures["latency_ms"]["count"] >= 1


async def test_a_repeated_edit_is_suggested_for_the_next_similar_line(session):
    client, _ = session
    uri = "file:///repeat.py"
    text = "plot(a, b)\nx = 1\nplot(c, d)\n"
    open_document(client, uri, text)
    change(client, uri, 2, (0, 9), (0, 9), ", color")
    (edit,) = await next_edits(client, uri, 2, 0, 16)
    assert edit["range"] == {"start": {"line": 2, "character": 9},
                             "end": {"line": 2, "character": 9}}
    assert edit["text"] == ", color"


async def test_stale_unknown_and_bad_requests_get_nothing_or_an_error(session):
    client, _ = session
    uri = "file:///stale.py"
    open_document(client, uri, SOURCE)
    version = rename_first_count(client, uri)
    before = await next_edit_stats(client)
    assert await next_edits(client, uri, version - 1, 1, 5) == []  # a stale version
    assert await next_edits(client, "file:///never-opened.py", 1, 0, 0) == []
    assert (await next_edit_stats(client))["stale"] == before["stale"] + 1
    bad = [({"textDocument": {"uri": uri, "version": version},
             "position": {"line": 99, "character": 0}}, "out of range"),
           ({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}},
            "version"),
           ({"textDocument": {"uri": uri, "version": version}, "position": "here"},
            "position"),
           ([], "params")]
    for params, words in bad:
        with pytest.raises(JsonRpcException) as caught:
            await raw_request(client, "textDocument/copilotInlineEdit", params)
        assert caught.value.code == -32602 and words in str(caught.value), params
    client.protocol.notify("textDocument/didShowInlineEdit", {"item": "nonsense"})
    assert (await server_text(client, uri))["version"] == version  # still up, unchanged


async def test_a_change_during_the_pause_cancels_the_request_at_once(session):
    client, _ = session
    uri = "file:///typing.py"
    open_document(client, uri, SOURCE)
    configure(client, nextEditDelayMs=10_000)  # the longest pause there is
    try:
        version = rename_first_count(client, uri)
        asked = (await next_edit_stats(client))["requests"]
        request = asyncio.ensure_future(next_edits(client, uri, version, 1, 5))

        async def waiting() -> bool:  # the server has the request and waits for the pause
            return (await next_edit_stats(client))["requests"] > asked
        await until_async(waiting, "the request reached the server")
        change(client, uri, version + 1, (1, 5), (1, 5), "u")  # the next keystroke
        # Answered now, not once the pause would have been over.
        assert await asyncio.wait_for(request, 5) == []
    finally:
        configure(client, nextEditDelayMs=DELAY_MS)
    figures = await next_edit_stats(client)
    assert figures["cancelled"] >= 1, figures


async def test_the_apply_command_is_version_checked_and_one_workspace_edit(session):
    client, editor = session
    uri = "file:///apply.py"
    open_document(client, uri, SOURCE)
    version = rename_first_count(client, uri)
    (edit,) = await next_edits(client, uri, version, 1, 5)
    before = len(editor.applied)
    result = plain(await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="codellama.applyNextEdit", arguments=[edit["command"]["arguments"][0]])))
    assert result == {"applied": True, "version": version}
    (applied,) = editor.applied[before:]
    (document_edit,) = applied.edit.document_changes
    assert document_edit.text_document.version == version  # the client refuses it if moved on
    assert [e.new_text for e in document_edit.edits] == [edit["text"]]

    # The document changes: the same edit (by id or as an object) is refused; a range past
    # the end is an error; nothing reaches the editor.
    (second,) = await next_edits(client, uri, version, 1, 5)
    change(client, uri, version + 1, (7, 0), (7, 0), "# moved on\n")
    for argument in (second["command"]["arguments"][0], second):
        refused = plain(await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="codellama.applyNextEdit",
                                       arguments=[argument])))
        assert refused["applied"] is False and "changed" in refused["message"]
    past_end = {**second, "textDocument": {"uri": uri, "version": version + 1},
                "range": {"start": {"line": 40, "character": 0},
                          "end": {"line": 41, "character": 0}}}
    for argument in (past_end, {"text": "x"}, 42):
        with pytest.raises(JsonRpcException) as caught:
            await client.workspace_execute_command_async(types.ExecuteCommandParams(
                command="codellama.applyNextEdit", arguments=[argument]))
        assert caught.value.code == -32602, argument
    assert len(editor.applied) == before + 1
    assert (await next_edit_stats(client))["refused_stale"] >= 2


async def test_an_unknown_document_or_edit_or_a_wrong_version_changes_nothing(session):
    client, editor = session
    uri = "file:///wrong.py"
    open_document(client, uri, SOURCE)
    version = rename_first_count(client, uri)
    assert await next_edits(client, uri, version + 5, 1, 5) == []  # a version not yet seen
    (edit,) = await next_edits(client, uri, version, 1, 5)
    before = len(editor.applied)
    arguments = [
        {**edit, "textDocument": {"uri": "file:///never-opened.py", "version": version}},
        {**edit, "textDocument": {"uri": uri, "version": version - 1}},  # an older version
        {**edit, "textDocument": {"uri": uri, "version": version + 1}},  # a newer one
        "next-edit-unknown"]
    for argument in arguments:
        refused = plain(await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="codellama.applyNextEdit",
                                       arguments=[argument])))
        assert refused["applied"] is False and "nothing was changed" in refused["message"], \
            argument
    with pytest.raises(JsonRpcException) as caught:  # no argument at all
        await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="codellama.applyNextEdit", arguments=[]))
    assert caught.value.code == -32602
    assert await code_actions(client, "file:///never-opened.py", 1, 5) == []
    assert len(editor.applied) == before  # nothing reached the editor
    assert (await server_text(client, uri))["text"] == SOURCE.replace("count = 0", "n = 0")


async def code_actions(client, uri: str, line: int, character: int,
                       trigger: types.CodeActionTriggerKind | None = None) -> list[dict]:
    context = types.CodeActionContext(diagnostics=[], trigger_kind=trigger)
    position = {"line": line, "character": character}
    return plain(await raw_request(client, types.TEXT_DOCUMENT_CODE_ACTION, {
        "textDocument": {"uri": uri}, "range": {"start": position, "end": position},
        "context": get_converter().unstructure(context)})) or []


async def test_the_code_action_applies_the_next_edit(session):
    client, editor = session
    uri = "file:///action.py"
    open_document(client, uri, SOURCE)
    rename_first_count(client, uri)
    for trigger in (None, types.CodeActionTriggerKind.Automatic):
        actions = await code_actions(client, uri, 1, 5, trigger)
        assert [a["title"] for a in actions] == ["Apply next edit"]
    command = actions[0]["command"]
    before = len(editor.applied)
    await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command=command["command"], arguments=command["arguments"]))
    (applied,) = editor.applied[before:]
    (document_edit,) = applied.edit.document_changes
    (text_edit,) = document_edit.edits
    assert text_edit.new_text.count("n") >= 3 and "count" not in text_edit.new_text.replace(
        "item.count", "")
    assert await code_actions(client, uri, 99, 0) == []  # past the end: no action


async def test_switched_off_there_is_nothing(session):
    client, _ = session
    uri = "file:///off.py"
    open_document(client, uri, SOURCE)
    version = rename_first_count(client, uri)
    configure(client, nextEdits="off")
    try:
        assert await next_edits(client, uri, version, 1, 5) == []
        assert await code_actions(client, uri, 1, 5) == []
    finally:
        configure(client, nextEdits="rules")
    assert len(await next_edits(client, uri, version, 1, 5)) == 1
