"""The pygls private names the server relies on (all in `lsp/pygls_compat.py`) are there."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from codellama_lsp.lsp import pygls_compat

pytestmark = pytest.mark.unit


def test_the_installed_pygls_has_every_private_name_the_server_uses():
    absent = pygls_compat.missing()
    assert not absent, (
        f"pygls {version('pygls')} lacks {', '.join(absent)}: adapt "
        "codellama_lsp/lsp/pygls_compat.py to it, or keep pyproject.toml's pin on pygls "
        "to the versions this test passes on")


def test_a_pygls_without_them_is_named(monkeypatch):
    """What the test above says where a pygls release renames what the server relies on."""
    from pygls.protocol import JsonRPCProtocol, LanguageServerProtocol

    renamed = JsonRPCProtocol.__init__

    def without_shutdown_flag(self, *args, **kwargs):
        renamed(self, *args, **kwargs)
        self.shutdown_received = self.__dict__.pop("_shutdown")

    monkeypatch.setattr(JsonRPCProtocol, "__init__", without_shutdown_flag)
    monkeypatch.delattr(LanguageServerProtocol, "lsp_text_document__did_close")
    assert pygls_compat.missing() == [
        "JsonRPCProtocol()._shutdown",
        "LanguageServerProtocol.lsp_text_document__did_close (the built-in "
        "textDocument/didClose handler, with its method_name)"]


async def test_document_notifications_leave_no_future_behind():
    """pygls keeps a future for every generator handler a notification runs and never drops
    it; the server's document handlers must not be generators (else RSS grows per keystroke)."""
    from codellama_lsp.lsp.server import create_server

    server = create_server()
    protocol = server.protocol
    uri = "file:///tmp/leak.py"

    sent: list[bytes] = []
    protocol.set_writer(type("Writer", (), {"write": lambda self, data: sent.append(data)})())

    def notify(method: str, params: dict, msg_id: int | None = None) -> None:
        data = {"jsonrpc": "2.0", "method": method, "params": params}
        if msg_id is not None:
            data["id"] = msg_id
        protocol.handle_message(protocol.structure_message(data))

    notify("initialize", {"processId": None, "rootUri": None, "capabilities": {}}, msg_id=1)
    assert sent, "initialize was answered"
    notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": "x = 1\n"}})
    before = pygls_compat.pending_futures(protocol)
    for number in range(2, 202):
        notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": number},
            "contentChanges": [{"range": {"start": {"line": 0, "character": 0},
                                          "end": {"line": 0, "character": 0}}, "text": "y"}]})
    notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert pygls_compat.pending_futures(protocol) == before
    assert server.state.documents.all() == []
