"""The server never loses the stream, and keeps the LSP lifecycle: raw frames, byte by byte, to
the real `codellama lsp` over stdio (tests/support/raw_lsp.py)."""

from __future__ import annotations

import json

import psutil
import pytest

from tests.support.raw_lsp import RawServer

pytestmark = pytest.mark.server

PARSE_ERROR, INVALID_REQUEST, NOT_INITIALIZED = -32700, -32600, -32002


@pytest.fixture(scope="module")
def server():
    raw = RawServer()
    raw.initialize()
    yield raw
    raw.close()


def stats_body(msg_id) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": "codellama/stats",
                       "params": {}}).encode()


def test_header_names_are_case_insensitive(server):
    server.send({"jsonrpc": "2.0", "id": "lower", "method": "codellama/stats", "params": {}},
                header="content-length")
    assert "result" in server.answer("lower")


def test_a_length_ten_bytes_short_is_a_parse_error_for_that_request_only(server):
    body = stats_body("short")
    server.send_bytes(f"Content-Length: {len(body) - 10}\r\n\r\n".encode() + body)
    assert server.error("short")["code"] == PARSE_ERROR  # its id could be read
    assert server.stats_answered()


def test_a_length_ten_bytes_long_loses_neither_request(server):
    body = stats_body("long")
    server.send_bytes(f"Content-Length: {len(body) + 10}\r\n\r\n".encode() + body)
    following = server.request("codellama/stats", {})  # its first 10 bytes end the long frame
    assert "result" in server.answer("long") and "result" in server.answer(following)


@pytest.mark.parametrize("header", [b"Content-Type: application/vscode-jsonrpc",
                                    b"Content-Length: ten", b"Content-Length: -5",
                                    b"Content-Length 12", b"Content-Length: 1e3"])
def test_a_frame_without_a_usable_length_is_answered_and_skipped(server, header):
    server.send_bytes(header + b"\r\n\r\n" + stats_body("lost"))
    error = server.error(None)
    assert error["code"] == PARSE_ERROR and "malformed frame" in error["message"]
    assert server.stats_answered()


def test_any_content_length_is_refused_without_allocating_it(server):
    process = psutil.Process(server.process.pid)
    before = process.memory_info().rss
    for length in (10**20, 10**12, 2 * 10**9, 64 * 1024 * 1024 + 1):
        server.send_bytes(f"Content-Length: {length}\r\n\r\n".encode())
        error = server.error(None)
        assert error["code"] == PARSE_ERROR and "over the limit" in error["message"]
        assert server.stats_answered()
    assert process.memory_info().rss - before < 50 * 1024 * 1024


@pytest.mark.parametrize("body, msg_id, code", [
    (b"not json at all", None, PARSE_ERROR),
    (b'{"jsonrpc": "2.0", "id": 41, "method": "codellama/stats", "params": {', 41, PARSE_ERROR),
    (b'{"jsonrpc": "2.0", "id": 42, "method": "codellama/stats", "params": '
     + b"[" * 50_000 + b"]" * 50_000 + b"}", 42, PARSE_ERROR),
    (b"[1, 2, 3]", None, INVALID_REQUEST),
    (b'{"id": 44, "method": "codellama/stats"}', 44, INVALID_REQUEST),  # no "jsonrpc"
    (b'{"jsonrpc": "2.0", "id": 45, "method": "textDocument/didClose", "params": '
     b'{"textDocument": {"uri": "file:///a.py"}}}', 45, INVALID_REQUEST),  # a notification
])
def test_every_request_gets_an_answer(server, body, msg_id, code):
    server.send_bytes(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    assert server.error(msg_id)["code"] == code
    assert server.stats_answered()


def test_garbage_between_frames_is_skipped(server):
    server.send_bytes(b"\x00\xffgarbage}\r\n" + b"Content-Length: " + str(
        len(stats_body("after"))).encode() + b"\r\n\r\n" + stats_body("after"))
    assert "result" in server.answer("after")


# -- the lifecycle (a server each) -------------------------------------------------------------

def test_requests_before_initialize_are_refused_then_served():
    raw = RawServer()
    try:
        assert raw.error(raw.request("codellama/stats", {}))["code"] == NOT_INITIALIZED
        raw.notify("textDocument/didOpen", {"textDocument": {
            "uri": "file:///a.py", "languageId": "python", "version": 1, "text": "x\n"}})
        raw.initialize()
        refused = raw.error(raw.request("codellama/documentText", {"uri": "file:///a.py"}))
        assert "unknown document" in refused["message"]  # the early didOpen was dropped
        assert raw.stats_answered()
    finally:
        raw.close()


def test_a_second_initialize_is_refused_and_keeps_the_position_encoding():
    raw = RawServer()
    try:
        assert raw.initialize(["utf-8"])["result"]["capabilities"]["positionEncoding"] == "utf-8"
        second = raw.error(raw.request("initialize", {"processId": None, "capabilities": {
            "general": {"positionEncodings": ["utf-32"]}}}))
        assert second["code"] == INVALID_REQUEST
        uri = "file:///enc.py"
        raw.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": "é = 1\n"}})
        raw.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": 2},
            "contentChanges": [{"range": {"start": {"line": 0, "character": 2},
                                          "end": {"line": 0, "character": 2}}, "text": "x"}]})
        text = raw.answer(raw.request("codellama/documentText", {"uri": uri}))["result"]["text"]
        assert text == "éx = 1\n"  # character 2 in UTF-8 bytes: right after é
    finally:
        raw.close()


def test_after_shutdown_requests_are_invalid_and_exit_ends_with_0():
    raw = RawServer()
    try:
        raw.initialize()
        # Info lines go to the client's log (window/logMessage) ...
        assert raw.notification("window/logMessage", "loading")["params"]["type"] == 3
        assert raw.answer(raw.request("shutdown"))["result"] is None
        assert raw.error(raw.request("codellama/stats", {}))["code"] == INVALID_REQUEST
        raw.notify("exit")
        assert raw.exit_code() == 0
        stderr = raw.stderr()
        assert "loading" not in stderr  # ... and not to stderr, which keeps warnings only
        assert all(line.startswith(("WARNING", "ERROR")) for line in stderr.splitlines()
                   if line[:1].isupper() and " " in line[:9])
    finally:
        raw.close()


def test_exit_without_shutdown_ends_with_1():
    raw = RawServer()
    try:
        raw.initialize()
        raw.notify("exit")
        assert raw.exit_code() == 1
    finally:
        raw.close()
