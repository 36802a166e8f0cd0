"""A broken model folder named by the editor: one window/showMessage naming the file and what
is wrong with it, and the server goes on serving everything that needs no model."""

from __future__ import annotations

import pytest

from tests.support.broken_models import BROKEN, broken_model
from tests.support.raw_lsp import RawServer

pytestmark = pytest.mark.server

URI = "file:///broken.py"
TEXT = "def add(a, b):\n    return \n"


@pytest.mark.parametrize("kind", BROKEN)
def test_a_broken_model_is_one_message_and_the_server_serves_on(kind, tiny_model, tmp_path):
    model = broken_model(tiny_model, tmp_path / "broken", kind)
    raw = RawServer()
    try:
        raw.initialize(options={"engine": "local", "model": str(model), "debounceMs": 0})
        assert raw.wait_for_model()["state"] == "failed"
        raw.notify("textDocument/didOpen", {"textDocument": {
            "uri": URI, "languageId": "python", "version": 1, "text": TEXT}})
        assert raw.answer(raw.request("codellama/documentText", {"uri": URI}))["result"][
            "text"] == TEXT
        position = {"textDocument": {"uri": URI}, "position": {"line": 1, "character": 11}}
        completion = raw.answer(raw.request("textDocument/completion", position))
        assert completion["result"]["items"] == []
        inline = raw.answer(raw.request("textDocument/inlineCompletion", {
            **position, "context": {"triggerKind": 1}}))
        assert inline["result"]["items"] == []
        assert raw.stats_answered()
        raw.answer(raw.request("shutdown"))
        raw.notify("exit")
        assert raw.exit_code() == 0
        shown = [m["params"]["message"] for m in raw.seen
                 if m.get("method") == "window/showMessage"]
        file, problem = BROKEN[kind]
        assert len(shown) == 1, shown
        assert str(model / file) in shown[0] and problem in shown[0]
        assert "Traceback" not in raw.stderr()
    finally:
        raw.close()
