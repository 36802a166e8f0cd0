"""The pygls private names the server relies on (all in `lsp/pygls_compat.py`) are there."""

from __future__ import annotations

from importlib.metadata import version

from codellama_lsp.lsp import pygls_compat


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
