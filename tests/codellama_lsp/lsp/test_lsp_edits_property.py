"""Property: after any sequence of incremental edits (emoji, CRLF, lone CR, several changes per
notification, now and then the whole text), the server's copy of the document equals the
client's."""

from __future__ import annotations

import asyncio
import itertools
import re
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types

from tests.support.lsp_session import open_document, server_text, start

pytestmark = pytest.mark.server

PIECES = ["a", "b", " ", "\n", "\r\n", "\r", "😀", "é", "\t", "中"]
_uris = itertools.count()


class LoopThread:
    """The client's event loop in a thread, so that synchronous hypothesis examples can use it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def server():
    loop = LoopThread()
    # No model is needed to keep documents: a URL engine fails at once and costs nothing.
    client, _ = loop.run(start({"engine": "http://127.0.0.1:9"}))
    yield loop, client
    loop.run(client.shutdown_session())
    loop.run(client.stop())
    loop.close()


def utf16_position(text: str, offset: int) -> types.Position:
    """Written independently of codellama_lsp.syntax.positions: split, then count UTF-16 units."""
    lines = re.split(r"\r\n|\r|\n", text[:offset])
    return types.Position(len(lines) - 1, len(lines[-1].encode("utf-16-le")) // 2)


def valid_offsets(text: str) -> list[int]:
    """Offsets an editor can name: not between the two characters of a CRLF."""
    return [i for i in range(len(text) + 1)
            if not (0 < i < len(text) and text[i - 1] == "\r" and text[i] == "\n")]


fragments = st.lists(st.sampled_from(PIECES), max_size=6).map("".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(initial=fragments, data=st.data())
def test_server_text_equals_client_text_after_every_edit(server, initial, data):
    loop, client = server
    uri = f"file:///property/{next(_uris)}.txt"
    text, version = initial, 1
    loop.loop.call_soon_threadsafe(open_document, client, uri, text, "plaintext")
    for _ in range(data.draw(st.integers(1, 6), label="notifications")):
        changes = []
        for _ in range(data.draw(st.integers(1, 3), label="changes in one notification")):
            new = data.draw(fragments, label="inserted")
            if data.draw(st.integers(0, 9), label="whole document?") == 0:
                changes.append(types.TextDocumentContentChangeWholeDocument(text=new))
                text = new
                continue
            offsets = valid_offsets(text)
            a, b = sorted(data.draw(st.sampled_from(offsets)) for _ in range(2))
            changes.append(types.TextDocumentContentChangePartial(
                range=types.Range(utf16_position(text, a), utf16_position(text, b)), text=new))
            text = text[:a] + new + text[b:]
        version += 1
        params = types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version), changes)
        loop.loop.call_soon_threadsafe(client.text_document_did_change, params)
        mirrored = loop.run(server_text(client, uri))
        assert mirrored == {"uri": uri, "version": version, "text": text}
