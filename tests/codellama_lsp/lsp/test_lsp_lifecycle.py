"""Each test its own server: settings, model loading failures, encodings, fallback, TCP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
from lsprotocol import types

from tests.support.engines import FakeServingEngine, tgi_reply
from tests.support.lsp_session import (
    ROOT,
    capabilities,
    change,
    inline_params,
    open_document,
    server_text,
    start,
    stats,
    wait_for_model,
)
from tests.support.ports import listening_url
from tests.support.waiting import until_async

pytestmark = pytest.mark.server

SOURCE = "def add(a, b):\n    return \n"


async def test_configuration_changes_are_validated_pushed_and_pulled(tiny_model):
    client, _ = await start({"model": str(tiny_model), "maxNewTokens": 8, "debounceMs": 0,
                             "debounce": 3})
    try:
        await until_async(lambda: client.messages)  # the unknown initialization option
        assert "unknown setting codellama.debounce" in client.messages[0].message
        await wait_for_model(client)
        uri = "file:///conf.py"
        open_document(client, uri, SOURCE)
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
            settings={"codellama": {"languages": ["rust"], "maxNewTokens": "lots"}}))
        await until_async(lambda: len(client.messages) == 2)
        assert client.messages[1].type == types.MessageType.Warning
        assert "maxNewTokens='lots'" in client.messages[1].message
        result = await client.text_document_inline_completion_async(inline_params(uri, 1, 11))
        assert list(result.items) == [] and (await stats(client))["generations"] == 0
        # settings=None: the server pulls its section with workspace/configuration
        client.set_configuration({"languages": ["python"]}, section="codellama")
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(None))
        async def generated() -> int:
            await client.text_document_inline_completion_async(inline_params(uri, 1, 11))
            return (await stats(client))["generations"]
        assert await until_async(generated, "a completion once python is enabled") == 1
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_a_failed_load_is_reported_once_and_the_server_stays_up(tmp_path, tiny_model):
    client, _ = await start({"model": str(tmp_path / "no-model")})
    try:
        state = await wait_for_model(client)
        assert state["model"]["state"] == "failed"
        assert "no such model directory" in state["model"]["error"]
        uri = "file:///failed.py"
        open_document(client, uri, SOURCE)
        for _ in range(3):
            result = await client.text_document_inline_completion_async(
                inline_params(uri, 1, 11))
            assert list(result.items) == []
        errors = [m for m in client.messages if m.type == types.MessageType.Error]
        assert len(errors) == 1 and "cannot load model" in errors[0].message
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
            settings={"codellama": {"model": str(tiny_model), "debounceMs": 0}}))
        await until_async(lambda: len(client.progress_reports) == 2)
        assert (await wait_for_model(client))["model"]["state"] == "ready"
        result = await client.text_document_inline_completion_async(inline_params(uri, 1, 11))
        assert (await stats(client))["generations"] == 1
    finally:
        await client.shutdown_session()
        await client.stop()


@pytest.mark.parametrize("encoding, column", [("utf-8", 10), ("utf-32", 7)])
async def test_the_position_encoding_the_client_offers_is_used(encoding, column):
    client, result = await start({"engine": "http://127.0.0.1:9"},
                                 capabilities(encodings=[encoding, "utf-16"]))
    try:
        assert result.capabilities.position_encoding == encoding
        uri = "file:///enc.py"
        open_document(client, uri, "s = '😀'\n")  # the emoji: 4 UTF-8 bytes, 1 UTF-32 unit
        change(client, uri, 2, (0, column), (0, column), "!")
        assert (await server_text(client, uri))["text"] == "s = '😀'!\n"
    finally:
        await client.shutdown_session()
        await client.stop()


def scripted_engine(answer: str) -> FakeServingEngine:
    """A serving engine (TGI's protocol) that answers every prompt with `answer`."""
    return FakeServingEngine({("POST", "/generate"): lambda body: tgi_reply(body, answer)})


async def test_completion_fallback_items_insert_their_whole_text(tiny_model):
    engine = scripted_engine("a + b  # the sum")
    client, _ = await start({"engine": "tgi+" + engine.url, "model": str(tiny_model),
                             "maxNewTokens": 8, "debounceMs": 0}, capabilities(inline=False))
    try:
        await wait_for_model(client)
        uri = "file:///fallback.py"
        open_document(client, uri, "def add(a, b):\n    return x\n")
        result = await client.text_document_completion_async(types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri), position=types.Position(1, 12)))
        (item,) = result.items
        # No range: clients replace the word before the cursor ("x") with the insertText,
        # all of it (Neovim's omnifunc keeps only the first word of a textEdit's newText).
        assert item.text_edit is None and item.insert_text == "xa + b  # the sum"
        assert item.filter_text == item.insert_text and item.label == "a + b  # the sum"
        assert item.insert_text_format == types.InsertTextFormat.PlainText
        assert item.command.command == "codellama.accept"
        # A client that never runs the accept command (eglot): the acceptance is seen in the
        # document's change.
        change(client, uri, 2, (1, 11), (1, 12), item.insert_text)
        counted = await stats(client)
        assert counted["accepted"] == 1 and counted["accepted_from_changes"] == 1
    finally:
        await client.shutdown_session()
        await client.stop()
        engine.close()


async def test_partial_acceptance_is_counted_apart(tiny_model):
    engine = scripted_engine("total = a + b\n    return total")
    client, _ = await start({"engine": "tgi+" + engine.url, "model": str(tiny_model),
                             "maxNewTokens": 8, "debounceMs": 0})
    try:
        await wait_for_model(client)
        uri = "file:///partial.py"
        open_document(client, uri, "def add(a, b):\n    \n")
        answer = await client.text_document_inline_completion_async(inline_params(uri, 1, 4))
        (item,) = answer.items
        (item_id,) = item.command.arguments
        await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="codellama.accept", arguments=[item_id, len("total ")]))
        counted = await stats(client)
        assert (counted["accepted"], counted["accepted_partial"]) == (0, 1)
        assert counted["accepted_chars"] == len("total ")
    finally:
        await client.shutdown_session()
        await client.stop()
        engine.close()


def _message(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _read_message(stream) -> dict:
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(stream.read(length))


def _read_answer(stream) -> dict:
    """The next answer, past notifications (window/logMessage)."""
    while "method" in (message := _read_message(stream)):
        pass
    return message


def test_tcp_serves_the_same_protocol():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "codellama_lsp", "lsp", "--tcp",
                                "127.0.0.1:0", "--engine", "http://127.0.0.1:9"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # Port 0: the server takes a free port and says which on stderr.
        lines = iter(process.stderr.readline, b"")
        url = next(filter(None, (listening_url(line.decode()) for line in lines)), None)
        assert url is not None, "the server never said where it listens"
        host, port = url.removeprefix("http://").rsplit(":", 1)
        connection = socket.create_connection((host, int(port)), timeout=30)
        with connection, connection.makefile("rb") as stream:
            connection.sendall(_message({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                         "params": {"capabilities": {}, "processId": None}}))
            reply = _read_message(stream)
            assert reply["id"] == 1
            assert "inlineCompletionProvider" in reply["result"]["capabilities"]
            # The same reader as over stdio: a broken frame is answered and skipped.
            connection.sendall(b"Content-Length: ten\r\n\r\n{}")
            assert _read_answer(stream)["error"]["code"] == -32700
            body = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "codellama/stats"})
            connection.sendall(f"content-length: {len(body)}\r\n\r\n{body}".encode())
            reply = _read_answer(stream)
            assert reply["id"] == 2 and "requests" in reply["result"]
    finally:
        process.terminate()
        process.wait(10)
    assert process.stdout.read() == b""  # nothing ever goes to stdout but the protocol


def test_bad_tcp_address_is_one_line_and_exit_2():
    from tests.support.cli import run_cli
    result = run_cli("lsp", "--tcp", "localhost")
    assert result.returncode == 2
    assert result.stderr.strip() == ("codellama lsp: error: expected --tcp HOST:PORT (PORT 0 "
                                     "to 65535), got 'localhost'")
