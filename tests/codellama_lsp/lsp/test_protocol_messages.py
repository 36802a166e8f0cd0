"""How messages are read and routed: params of methods lsprotocol has no type for reach their
handlers as read, plain JSON values, not pygls's namedtuples (a class defined per JSON object of
every message, on the event loop); each kind of message reaches pygls's handler of its kind
without pygls's isinstance checks against runtime-checkable Protocols."""

from __future__ import annotations

import asyncio
import json

import pytest
from lsprotocol import types

from codellama_lsp.lsp.pygls_compat import await_answer
from codellama_lsp.lsp.server import create_server

pytestmark = pytest.mark.unit


@pytest.fixture()
def protocol():
    return create_server().protocol


class Sent(list):
    closed = False

    def close(self) -> None:
        self.closed = True

    def write(self, data: bytes) -> None:
        self.append(json.loads(data.decode().split("\r\n\r\n", 1)[1]))


def receive(protocol, message: dict) -> None:
    protocol.handle_message(protocol.structure_message({"jsonrpc": "2.0", **message}))


@pytest.fixture()
async def initialized(protocol):
    sent = Sent()
    protocol.set_writer(sent)
    # No `initialized`: it would start loading the model in a thread that outlives the test.
    receive(protocol, {"id": 1, "method": "initialize",
                       "params": {"processId": None, "rootUri": None, "capabilities": {}}})
    return protocol, sent


async def test_each_kind_of_message_reaches_its_handler(initialized):
    protocol, sent = initialized
    uri = "file:///tmp/routed.py"
    receive(protocol, {"method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": "x = 1\n"}}})
    receive(protocol, {"id": 2, "method": "codellama/documentText", "params": {"uri": uri}})
    answered = asyncio.get_running_loop().create_future()
    await_answer(protocol, 90, answered)
    receive(protocol, {"id": 90, "result": {"applied": True}})
    failed = asyncio.get_running_loop().create_future()
    await_answer(protocol, 91, failed)
    receive(protocol, {"id": 91, "error": {"code": -32603, "message": "no"}})
    for _ in range(5):
        await asyncio.sleep(0)
    document = next(m for m in sent if m.get("id") == 2)
    assert document["result"] == {"uri": uri, "version": 1, "text": "x = 1\n"}
    assert answered.result().applied is True  # pygls's namedtuple for an untyped result
    assert "no" in str(failed.exception())


async def test_after_shutdown_only_exit_is_heard(initialized):
    protocol, sent = initialized
    receive(protocol, {"id": 3, "method": "shutdown"})
    for _ in range(3):
        await asyncio.sleep(0)
    late = asyncio.get_running_loop().create_future()
    await_answer(protocol, 92, late)
    receive(protocol, {"id": 92, "result": None})
    assert not late.done()
    with pytest.raises(SystemExit):
        receive(protocol, {"method": "exit"})
    assert sent.closed  # pygls's exit closed the output first


def test_a_custom_request_keeps_its_params_as_they_were_read(protocol):
    params = {"textDocument": {"uri": "file:///a.py", "version": 3},
              "position": {"line": 1, "character": 2}, "class": [1, {"2": None}]}
    message = protocol.structure_message({"jsonrpc": "2.0", "id": 7,
                                          "method": "textDocument/copilotInlineEdit",
                                          "params": params})
    assert (message.id, message.method) == (7, "textDocument/copilotInlineEdit")
    assert message.params == params
    assert type(message.params["textDocument"]) is dict  # keys that are not names kept too


def test_a_custom_notification_without_params_gets_none(protocol):
    message = protocol.structure_message({"jsonrpc": "2.0",
                                          "method": "textDocument/didShowInlineEdit"})
    assert not hasattr(message, "id")
    assert (message.method, message.params) == ("textDocument/didShowInlineEdit", None)


def test_an_lsp_method_still_gets_its_typed_params(protocol):
    message = protocol.structure_message({
        "jsonrpc": "2.0", "id": 1, "method": types.TEXT_DOCUMENT_INLINE_COMPLETION,
        "params": {"textDocument": {"uri": "file:///a.py"},
                   "position": {"line": 0, "character": 0},
                   "context": {"triggerKind": 2}}})
    assert isinstance(message.params, types.InlineCompletionParams)
    assert message.params.position == types.Position(0, 0)
