"""Bad input from an editor: a JSON-RPC error or an empty result, and the next request is served."""

from __future__ import annotations

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcMethodNotFound

from codellama_lsp.lsp.pygls_compat import send_message
from tests.support.lsp_session import (
    inline_params,
    open_document,
    raw_request,
    server_text,
    start,
    stats,
    wait_for_model,
)

pytestmark = [pytest.mark.server, pytest.mark.asyncio(loop_scope="module")]

URI = "file:///bad.py"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(tiny_model):
    client, _ = await start({"model": str(tiny_model), "maxNewTokens": 4, "debounceMs": 0})
    await wait_for_model(client)
    open_document(client, URI, "x = 1\ny = 2\n")
    yield client
    await client.shutdown_session()
    await client.stop()


async def _served(client) -> None:
    """The server still answers a good request."""
    result = await client.text_document_inline_completion_async(inline_params(URI, 1, 5))
    assert result is not None


@pytest.mark.parametrize("params, detail", [
    ({"textDocument": {"uri": URI}, "position": "1:5", "context": {"triggerKind": 2}},
     "$.params.position"),
    ({"textDocument": {"uri": URI}, "position": {"line": 0, "character": 1}}, "context"),
    ({"textDocument": {}, "position": {"line": 0, "character": 1},
      "context": {"triggerKind": 2}}, "uri"),
    ({"textDocument": {"uri": URI}, "position": {"line": 0, "character": 1},
      "context": {"triggerKind": 9}}, "trigger_kind"),
    ({"textDocument": {"uri": URI}, "position": {"line": -1, "character": 0},
      "context": {"triggerKind": 2}}, "line"),
    ([1, 2, 3], "inlineCompletion"),
])
async def test_malformed_params_get_invalid_params(client, params, detail):
    with pytest.raises(JsonRpcInvalidParams) as error:
        await raw_request(client, "textDocument/inlineCompletion", params)
    assert error.value.code == -32602
    assert detail in error.value.message
    await _served(client)


async def test_an_unknown_document_gets_an_empty_result(client):
    result = await client.text_document_inline_completion_async(
        inline_params("file:///never-opened.py", 0, 0))
    assert list(result.items) == []
    await _served(client)


@pytest.mark.parametrize("line, character", [(99, 0), (3, 0)])
async def test_a_line_out_of_range_is_an_error(client, line, character):
    with pytest.raises(JsonRpcInvalidParams, match=f"line {line} is out of range"):
        await client.text_document_inline_completion_async(inline_params(URI, line, character))
    await _served(client)


async def test_a_character_past_the_line_end_means_the_line_end(client):
    result = await client.text_document_inline_completion_async(inline_params(URI, 0, 500))
    for item in result.items:
        assert item.range.start == types.Position(0, 5)


async def test_an_unknown_method_and_bad_custom_params(client):
    with pytest.raises(JsonRpcMethodNotFound):
        await raw_request(client, "codellama/nothing", {})
    with pytest.raises(JsonRpcInvalidParams, match="unknown document"):
        await raw_request(client, "codellama/documentText", {"uri": "file:///none"})
    with pytest.raises(JsonRpcInvalidParams):
        await raw_request(client, "codellama/documentText", [])
    await _served(client)


async def test_bad_notifications_leave_the_document_and_server_intact(client):
    before = await server_text(client, URI)
    send_message(client.protocol, {
        "jsonrpc": "2.0", "method": "textDocument/didChange",
        "params": {"textDocument": {"uri": URI}, "contentChanges": 7}})
    send_message(client.protocol, {
        "jsonrpc": "2.0", "method": "textDocument/didChange",
        "params": {"textDocument": {"uri": "file:///none", "version": 2},
                   "contentChanges": [{"text": "z"}]}})
    send_message(client.protocol, {
        "jsonrpc": "2.0", "method": "workspace/didChangeConfiguration",
        "params": {"settings": "not an object"}})
    assert await server_text(client, URI) == before
    await _served(client)
    assert (await stats(client))["model"]["state"] == "ready"
