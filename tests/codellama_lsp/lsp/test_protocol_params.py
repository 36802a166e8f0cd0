"""Params of methods lsprotocol has no type for reach their handlers as read: plain JSON values,
not pygls's namedtuples (a class defined per JSON object of every message, on the event loop)."""

from __future__ import annotations

import pytest
from lsprotocol import types

from codellama_lsp.lsp.server import create_server

pytestmark = pytest.mark.unit


@pytest.fixture()
def protocol():
    return create_server().protocol


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
