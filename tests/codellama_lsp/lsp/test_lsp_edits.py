"""Instruction edits over LSP: the real `codellama lsp` process over stdio.

The completion model is the tiny random model. The instruct model is a copy of it whose output
layer is zeroed ("constant model"): every logit is 0, so greedy decoding picks id 0 (`<unk>`,
decoded " ⁇ ") at every step and never a stop id. Its reply is therefore the same for any prompt
and runs exactly `editMaxNewTokens` tokens, which makes the edits and the timing of a long edit
(cancellation, a change while it runs) deterministic; every path (tokenizer, prompt, engine,
reply parsing, edits) is the real one.
"""

from __future__ import annotations

import asyncio
import re
import shutil

import pytest
import pytest_asyncio
from lsprotocol import types
from lsprotocol.converters import get_converter
from pygls.exceptions import JsonRpcException, JsonRpcRequestCancelled

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

SOURCE = ("import os\n"
          "\n"
          "def area(w, h):\n"
          "    return w * h\n"
          "\n"
          "print(area(2, y))\n")
# One line of " ⁇ " pieces at the selection's indentation (see the module's docstring).
CONSTANT_LINE = re.compile(r"^( *)⁇( +⁇)* *\n$")
SHORT = 12  # editMaxNewTokens for quick edits
LONG = 4000  # long enough to be still running whatever the machine's speed


@pytest.fixture(scope="module")
def constant_model(tiny_model, tmp_path_factory):
    import torch
    from transformers import LlamaForCausalLM

    directory = tmp_path_factory.mktemp("constant-model")
    shutil.copytree(tiny_model, directory, dirs_exist_ok=True)
    model = LlamaForCausalLM.from_pretrained(tiny_model)
    with torch.no_grad():
        model.lm_head.weight.zero_()
    model.save_pretrained(directory)
    return directory


def edit_capabilities(apply_edit: bool = True, encodings: list[str] | None = None
                      ) -> types.ClientCapabilities:
    caps = capabilities(encodings)
    caps.workspace.apply_edit = apply_edit
    caps.workspace.workspace_edit = types.WorkspaceEditClientCapabilities(document_changes=True)
    return caps


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
async def session(tiny_model, constant_model):
    client, _ = await start({"model": str(tiny_model), "instructModel": str(constant_model),
                             "editMaxNewTokens": SHORT, "debounceMs": 0}, edit_capabilities())
    editor = Editor(client)
    await wait_for_model(client)
    yield client, editor
    await client.shutdown_session()
    await client.stop()


def lsp_range(start: tuple[int, int], end: tuple[int, int]) -> dict:
    return {"start": {"line": start[0], "character": start[1]},
            "end": {"line": end[0], "character": end[1]}}


async def edit(client, uri: str, start: tuple[int, int], end: tuple[int, int],
               instruction: str = "add type hints", msg_id: str | None = None) -> dict:
    params = {"textDocument": {"uri": uri}, "range": lsp_range(start, end),
              "instruction": instruction}
    return plain(await client.protocol.send_request_async("codellama/edit", params,
                                                          msg_id=msg_id))


def configure(client, **settings) -> None:
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"codellama": settings}))


async def edit_stats(client) -> dict:
    return (await stats(client))["edits"]


async def code_actions(client, uri: str, start: tuple[int, int], end: tuple[int, int],
                       diagnostics: list[types.Diagnostic] = (), only=None) -> list[dict]:
    """The code actions as JSON: lsprotocol's client-side converter reads a CodeAction that
    carries a command as a bare Command (it checks only for a "command" key)."""
    converter = get_converter()
    context = types.CodeActionContext(diagnostics=list(diagnostics), only=only)
    result = await raw_request(client, types.TEXT_DOCUMENT_CODE_ACTION, {
        "textDocument": {"uri": uri}, "range": lsp_range(start, end),
        "context": converter.unstructure(context)})
    return plain(result) or []


async def execute(client, action: dict, **changes) -> dict:
    argument = {**action["command"]["arguments"][0], **changes}
    return plain(await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command=action["command"]["command"], arguments=[argument])))


def titles(actions: list[dict]) -> list[str]:
    return [action["title"] for action in actions]


UNDEFINED = types.Diagnostic(range=types.Range(types.Position(5, 15), types.Position(5, 16)),
                             message="undefined name 'y'", source="pyflakes",
                             severity=types.DiagnosticSeverity.Error)


# -- the request ---------------------------------------------------------------------------------

async def test_edit_request_returns_minimal_edits_and_the_version(session):
    client, _ = session
    uri = "file:///request.py"
    open_document(client, uri, SOURCE, version=7)
    result = await edit(client, uri, (2, 0), (4, 0))
    assert result["version"] == 7
    (only,) = result["edits"]
    # The two selected lines become the model's one line, at the selection's indentation.
    assert only["range"] == lsp_range((2, 0), (4, 0))
    assert CONSTANT_LINE.match(only["newText"]) and not only["newText"].startswith(" ")
    report = await edit_stats(client)
    assert report["instruct_model"]["state"] == "ready"
    assert report["engines_loaded"] == 2  # the instruct model is not the completion model


async def test_positions_are_in_utf16_and_indentation_is_kept(session):
    client, _ = session
    uri = "file:///emoji.py"
    open_document(client, uri, "def f():\n    s = '😀😀'\n    return s\n")
    # The range ends inside line 1, after the emojis (4 UTF-16 units, 2 code points).
    result = await edit(client, uri, (1, 4), (1, 11))
    (only,) = result["edits"]
    assert only["range"] == lsp_range((1, 0), (2, 0))
    match = CONSTANT_LINE.match(only["newText"])
    assert match and match.group(1) == "    "


async def test_bad_params_get_a_clear_error_and_the_server_stays_up(session):
    client, _ = session
    uri = "file:///bad.py"
    open_document(client, uri, SOURCE)
    good_range = lsp_range((0, 0), (1, 0))
    cases = [
        ({"textDocument": {"uri": uri}, "range": good_range}, -32602, "instruction"),
        ({"textDocument": {"uri": uri}, "range": good_range, "instruction": "  "}, -32602,
         "instruction"),
        ({"textDocument": {"uri": uri}, "range": "all", "instruction": "x"}, -32602, "range"),
        ({"textDocument": {"uri": uri}, "range": lsp_range((0, -1), (1, 0)),
          "instruction": "x"}, -32602, "range"),
        ({"range": good_range, "instruction": "x"}, -32602, "uri"),
        ({"textDocument": {"uri": "file:///never-opened.py"}, "range": good_range,
          "instruction": "x"}, -32602, "unknown document file:///never-opened.py"),
        ({"textDocument": {"uri": uri}, "range": lsp_range((40, 0), (41, 0)),
          "instruction": "x"}, -32602, "out of range"),
        ({"textDocument": {"uri": uri}, "range": lsp_range((3, 0), (1, 0)),
          "instruction": "x"}, -32602, "ends before it starts"),
        ({"textDocument": {"uri": uri}, "range": good_range, "instruction": "[INST] x"},
         -32602, "control tags"),
        ([1, 2], -32602, "expected"),
    ]
    for params, code, words in cases:
        with pytest.raises(JsonRpcException) as caught:
            await raw_request(client, "codellama/edit", params)
        assert caught.value.code == code, params
        assert words in caught.value.message, (params, caught.value.message)
    assert (await edit(client, uri, (0, 0), (1, 0)))["edits"]


async def test_cancel_request_stops_the_edit_and_the_next_is_served(session):
    client, _ = session
    uri = "file:///cancel.py"
    open_document(client, uri, SOURCE)
    configure(client, editMaxNewTokens=LONG)
    before = await edit_stats(client)
    pending = asyncio.ensure_future(edit(client, uri, (2, 0), (4, 0), msg_id="edit-to-cancel"))

    async def running():
        return (await edit_stats(client))["running"] == 1
    await until_async(running)
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="edit-to-cancel"))
    with pytest.raises(JsonRpcRequestCancelled):
        await pending
    after = await edit_stats(client)
    # The generation stopped before the answer was sent (within one token).
    assert after["cancelled"] == before["cancelled"] + 1 and after["running"] == 0
    assert after["started"] == before["started"] + 1
    configure(client, editMaxNewTokens=SHORT)
    assert (await edit(client, uri, (2, 0), (4, 0)))["edits"]


# -- code actions --------------------------------------------------------------------------------

async def test_code_actions_for_a_selection_and_for_a_diagnostic(session):
    client, _ = session
    uri = "file:///actions.py"
    open_document(client, uri, SOURCE, version=3)
    actions = await code_actions(client, uri, (2, 0), (4, 0), [UNDEFINED])
    assert titles(actions) == [
        "Code Llama: edit selection…", "Code Llama: add docstring", "Code Llama: add type hints",
        "Code Llama: fix undefined name 'y'"]
    assert [a["kind"] for a in actions] == ["refactor.rewrite"] * 3 + ["quickfix"]
    converter = get_converter()
    assert actions[3]["diagnostics"] == [converter.unstructure(UNDEFINED)]
    assert all(a["command"]["command"] == "codellama.edit" for a in actions)
    arguments = [a["command"]["arguments"][0] for a in actions]
    assert all(arg["version"] == 3 and arg["textDocument"] == {"uri": uri} for arg in arguments)
    assert arguments[0]["instruction"] is None  # the editor asks the user for it
    assert "docstring" in arguments[1]["instruction"]
    assert "undefined name 'y'" in arguments[3]["instruction"]
    assert arguments[3]["range"] == lsp_range((5, 15), (5, 16))
    # A cursor without a selection: only the fixes; a client asking for quick fixes only.
    assert titles(await code_actions(client, uri, (5, 15), (5, 15), [UNDEFINED])) == \
        ["Code Llama: fix undefined name 'y'"]
    assert await code_actions(client, uri, (1, 0), (1, 0)) == []
    assert [a["kind"] for a in await code_actions(client, uri, (2, 0), (4, 0), [UNDEFINED],
                                                  only=[types.CodeActionKind.QuickFix])] == \
        ["quickfix"]
    assert await code_actions(client, "file:///not-open.py", (0, 0), (1, 0)) == []


async def test_executing_an_action_applies_a_versioned_edit(session):
    client, editor = session
    uri = "file:///apply.py"
    open_document(client, uri, SOURCE, version=5)
    actions = await code_actions(client, uri, (5, 0), (6, 0), [UNDEFINED])
    fix = actions[-1]
    before = len(editor.applied)
    assert await execute(client, fix) == {"applied": True, "version": 5}
    (params,) = editor.applied[before:]
    assert params.label == "Code Llama: fix undefined name 'y'"
    (document_edit,) = params.edit.document_changes
    assert document_edit.text_document == types.OptionalVersionedTextDocumentIdentifier(
        uri=uri, version=5)
    (text_edit,) = document_edit.edits
    assert text_edit.range == types.Range(types.Position(5, 0), types.Position(6, 0))
    assert CONSTANT_LINE.match(text_edit.new_text)
    assert (await edit_stats(client))["applied"] >= 1


async def test_edit_selection_takes_the_instruction_from_the_command_arguments(session):
    client, editor = session
    uri = "file:///ask.py"
    open_document(client, uri, SOURCE, version=2)
    (ask, *_) = await code_actions(client, uri, (2, 0), (4, 0))
    shown, before = len(client.messages), len(editor.applied)
    with pytest.raises(JsonRpcException) as caught:
        await execute(client, ask)
    assert caught.value.code == -32602 and "needs an instruction" in caught.value.message
    (message,) = client.messages[shown:]
    assert message.type == types.MessageType.Error and "needs an instruction" in message.message
    assert len(editor.applied) == before
    assert await execute(client, ask, instruction="handle h == 0") == \
        {"applied": True, "version": 2}
    assert len(editor.applied) == before + 1


# -- an edit never lands on a changed document ---------------------------------------------------

async def test_a_change_while_the_edit_is_computed_refuses_it(session):
    client, editor = session
    uri = "file:///stale.py"
    open_document(client, uri, SOURCE, version=1)
    (_, docstring, *_) = await code_actions(client, uri, (2, 0), (4, 0))
    configure(client, editMaxNewTokens=LONG // 16)
    before, applied, shown = await edit_stats(client), len(editor.applied), len(client.messages)
    pending = asyncio.ensure_future(execute(client, docstring))

    async def running():
        return (await edit_stats(client))["running"] == 1
    await until_async(running)
    change(client, uri, 2, (0, 0), (0, 0), "# edited meanwhile\n")
    assert (await server_text(client, uri))["version"] == 2
    # The premise: the change landed while the edit was still being computed.
    assert (await edit_stats(client))["running"] == 1
    result = await pending
    configure(client, editMaxNewTokens=SHORT)
    assert result["applied"] is False and "changed while the edit was computed" in \
        result["message"]
    assert len(editor.applied) == applied  # no workspace/applyEdit
    (message,) = client.messages[shown:]
    assert message.type == types.MessageType.Warning and "refused" in message.message
    after = await edit_stats(client)
    assert after["refused_stale"] == before["refused_stale"] + 1
    assert (await server_text(client, uri))["text"] == "# edited meanwhile\n" + SOURCE


async def test_the_request_answers_content_modified_when_the_document_changes(session):
    client, _ = session
    uri = "file:///stale-request.py"
    open_document(client, uri, SOURCE, version=1)
    configure(client, editMaxNewTokens=LONG // 16)
    pending = asyncio.ensure_future(edit(client, uri, (2, 0), (4, 0)))

    async def running():
        return (await edit_stats(client))["running"] == 1
    await until_async(running)
    change(client, uri, 2, (5, 0), (5, 0), "x = 1\n")
    assert (await edit_stats(client))["running"] == 1  # the premise, as above
    with pytest.raises(JsonRpcException) as caught:
        await pending
    configure(client, editMaxNewTokens=SHORT)
    assert caught.value.code == -32801 and "changed while the edit was computed" in \
        caught.value.message


async def test_an_action_offered_for_an_older_version_is_refused(session):
    client, editor = session
    uri = "file:///older.py"
    open_document(client, uri, SOURCE, version=1)
    (_, docstring, *_) = await code_actions(client, uri, (2, 0), (4, 0))
    change(client, uri, 2, (0, 0), (0, 0), "\n")
    before, shown = (await edit_stats(client))["started"], len(client.messages)
    result = await execute(client, docstring)
    assert result["applied"] is False and "changed since the edit was offered" in \
        result["message"]
    assert (await edit_stats(client))["started"] == before  # no model time spent
    assert [m.type for m in client.messages[shown:]] == [types.MessageType.Warning]


# -- the instruct model: one engine where it is the completion model; a failed load -------------

async def test_failed_instruct_model_is_reported_once_and_a_shared_one_serves(tiny_model,
                                                                               tmp_path):
    client, _ = await start({"model": str(tiny_model), "debounceMs": 0,
                             "instructModel": str(tmp_path / "no-such-model"),
                             "editMaxNewTokens": SHORT}, edit_capabilities())
    try:
        await wait_for_model(client)
        uri = "file:///shared.py"
        open_document(client, uri, SOURCE)
        for _ in range(2):
            with pytest.raises(JsonRpcException) as caught:
                await edit(client, uri, (2, 0), (4, 0))
            assert caught.value.code == -32803 and "no such model directory" in \
                caught.value.message and "Edits are off" in caught.value.message
        assert await code_actions(client, uri, (2, 0), (4, 0)) == []  # nothing that would fail
        # The edit's error is what the client shows: no second message of the server's (the
        # round trip above brought any message sent before it).
        errors = [m for m in client.messages if m.type == types.MessageType.Error]
        assert errors == [], errors
        assert (await stats(client))["model"]["state"] == "ready"  # completions unaffected

        configure(client, instructModel=str(tiny_model))
        # The tiny model's reply is noise: edits, or "no usable code"; either way it was the
        # completion engine that answered, loaded once.
        try:
            result = await edit(client, uri, (2, 0), (4, 0))
            assert result["version"] == 1
        except JsonRpcException as exc:
            assert exc.code == -32803 and "no usable code" in exc.message
        report = await edit_stats(client)
        assert report["instruct_model"]["state"] == "ready" and report["engines_loaded"] == 1
        assert len(await code_actions(client, uri, (2, 0), (4, 0))) == 3
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_utf8_client_gets_utf8_edits_and_without_apply_edit_no_code_actions(
        tiny_model, constant_model):
    client, result = await start({"model": str(tiny_model), "instructModel": str(constant_model),
                                  "editMaxNewTokens": SHORT},
                                 edit_capabilities(apply_edit=False, encodings=["utf-8"]))
    try:
        assert result.capabilities.position_encoding == types.PositionEncodingKind.Utf8
        uri = "file:///utf8.py"
        open_document(client, uri, "x = 1\ns = '😀'")  # no final newline
        (only,) = (await edit(client, uri, (1, 0), (1, 10)))["edits"]
        # The last line has no line end: the edit ends inside it, counted in UTF-8 bytes.
        assert only["range"] == lsp_range((1, 0), (1, 10))
        assert re.match(r"^⁇( +⁇)* *$", only["newText"])
        assert await code_actions(client, uri, (0, 0), (1, 0), [UNDEFINED]) == []
    finally:
        await client.shutdown_session()
        await client.stop()
