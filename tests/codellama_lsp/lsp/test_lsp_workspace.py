"""The server indexes the workspace for cross-file context, in the background."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types

from tests.support.lsp_session import (
    capabilities,
    inline_params,
    open_document,
    server_config,
    wait_for_model,
)

pytestmark = pytest.mark.asyncio


async def test_workspace_is_indexed_after_initialized(tiny_model, tmp_path):
    (tmp_path / "util.py").write_text("def parse_item(line: str) -> dict:\n    return {}\n")
    (tmp_path / "shop.py").write_text("from util import parse_item\n\nitem = \n")
    (tmp_path / "notes.bin").write_bytes(b"\0\1\2")  # not source: skipped, no crash
    client = await server_config().start()
    try:
        await client.initialize_session(types.InitializeParams(
            capabilities=capabilities(), root_uri=tmp_path.as_uri(),
            workspace_folders=[types.WorkspaceFolder(tmp_path.as_uri(), "shop")],
            initialization_options={"model": str(tiny_model), "debounceMs": 0,
                                    "maxNewTokens": 8}))
        for _ in range(200):
            if any("workspace files" in m.message for m in client.log_messages):
                break
            await asyncio.sleep(0.05)
        messages = [m.message for m in client.log_messages if "workspace files" in m.message]
        assert len(messages) == 1 and messages[0].endswith("indexed 2 workspace files for "
                                                             "cross-file context")
        await wait_for_model(client)
        uri = (tmp_path / "shop.py").as_uri()
        open_document(client, uri, (tmp_path / "shop.py").read_text())
        answer = await client.text_document_inline_completion_async(inline_params(uri, 2, 7))
        assert answer is not None  # served with the snippet source in place
    finally:
        await client.shutdown_session()
        await client.stop()
