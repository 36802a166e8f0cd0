"""The server indexes the workspace for cross-file context in the background, and follows files
changed outside the editor (workspace/didChangeWatchedFiles).

The engine is a serving-engine double speaking TGI's protocol, which is sent the prompt as text:
the test reads there what reached the model.
"""

from __future__ import annotations

import pytest
from lsprotocol import types

from tests.support.engines import FakeServingEngine, tgi_reply
from tests.support.lsp_session import (
    capabilities,
    change,
    inline_params,
    open_document,
    server_config,
    wait_for_model,
)
from tests.support.waiting import until_async

pytestmark = [pytest.mark.server, pytest.mark.asyncio]


def tgi_engine() -> FakeServingEngine:
    return FakeServingEngine({("POST", "/generate"): lambda body: tgi_reply(body, "x", 1)})


async def test_a_definition_from_another_file_reaches_the_prompt(tiny_model, tmp_path):
    (tmp_path / "util.py").write_text("def parse_item(line: str) -> dict:\n    return {}\n")
    (tmp_path / "shop.py").write_text("from util import parse_item\n\nitem = \n")
    (tmp_path / "notes.bin").write_bytes(b"\0\1\2")  # not source: skipped, no crash
    engine = tgi_engine()
    client = await server_config().start()
    registrations: list[types.RegistrationParams] = []

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams) -> None:
        registrations.append(params)

    caps = capabilities()
    caps.workspace.did_change_watched_files = types.DidChangeWatchedFilesClientCapabilities(
        dynamic_registration=True)
    try:
        await client.initialize_session(types.InitializeParams(
            capabilities=caps, root_uri=tmp_path.as_uri(),
            workspace_folders=[types.WorkspaceFolder(tmp_path.as_uri(), "shop")],
            initialization_options={"engine": "tgi+" + engine.url, "model": str(tiny_model),
                                    "debounceMs": 0, "maxNewTokens": 8}))
        await until_async(lambda: any("workspace files" in m.message
                                      for m in client.log_messages), "the workspace indexed")
        messages = [m.message for m in client.log_messages if "workspace files" in m.message]
        assert len(messages) == 1 and messages[0].endswith("indexed 2 workspace files for "
                                                             "cross-file context")
        assert (await wait_for_model(client))["model"]["state"] == "ready"
        uri = (tmp_path / "shop.py").as_uri()
        open_document(client, uri, (tmp_path / "shop.py").read_text())
        await client.text_document_inline_completion_async(inline_params(uri, 2, 7))
        (prompt,) = [body["inputs"] for body in engine.bodies("/generate")]
        # util.py is not open: its definition came from the workspace index.
        assert "util.py" in prompt and "def parse_item(line: str) -> dict:" in prompt

        # Changed outside the editor: the watcher's news makes the index read it again.
        watchers = [r for p in registrations for r in p.registrations
                    if r.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES]
        assert len(watchers) == 1
        (tmp_path / "util.py").write_text("def parse_order(line: str) -> list:\n    return []\n")
        client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
            types.FileEvent(uri=(tmp_path / "util.py").as_uri(),
                            type=types.FileChangeType.Changed)]))
        change(client, uri, 2, (0, 17), (0, 27), "parse_order")
        await client.text_document_inline_completion_async(inline_params(uri, 2, 7))
        prompt = engine.bodies("/generate")[-1]["inputs"]
        assert "def parse_order(line: str) -> list:" in prompt and "parse_item" not in prompt
    finally:
        await client.shutdown_session()
        await client.stop()
        engine.close()
