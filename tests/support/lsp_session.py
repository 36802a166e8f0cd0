"""Driving the real `codellama lsp` process over stdio with pytest-lsp's client."""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from codellama_lsp.lsp.pygls_compat import await_answer, send_message
from tests.support.paths import ROOT
from tests.support.waiting import until_async

_raw_ids = itertools.count(1)


def server_config(*extra: str) -> ClientServerConfig:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1"}
    return ClientServerConfig(server_command=[sys.executable, "-m", "codellama_lsp", "lsp",
                                              *extra], server_env=env)


def capabilities(encodings: list[str] | None = None, inline: bool = True,
                 progress: bool = True, configuration: bool = True) -> types.ClientCapabilities:
    return types.ClientCapabilities(
        general=types.GeneralClientCapabilities(position_encodings=encodings)
        if encodings else None,
        window=types.WindowClientCapabilities(work_done_progress=progress),
        workspace=types.WorkspaceClientCapabilities(configuration=configuration),
        text_document=types.TextDocumentClientCapabilities(
            inline_completion=types.InlineCompletionClientCapabilities() if inline else None,
            completion=types.CompletionClientCapabilities()))


async def start(options: dict | None, caps: types.ClientCapabilities | None = None,
                ) -> tuple[LanguageClient, types.InitializeResult]:
    client = await server_config().start()
    result = await client.initialize_session(types.InitializeParams(
        capabilities=caps or capabilities(), initialization_options=options))
    return client, result


def plain(value: Any) -> Any:
    """pygls hands custom results over as namedtuples: back to dicts and lists."""
    if hasattr(value, "_asdict"):
        return {key: plain(item) for key, item in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


async def stats(client: LanguageClient) -> dict:
    return plain(await client.protocol.send_request_async("codellama/stats", {}))


async def wait_for_generation(client: LanguageClient, before: dict,
                              timeout_s: float = 60) -> dict:
    """The stats once a generation started after `before` (a stats answer); fails, rather than
    waiting forever, where none starts (e.g. the suggestion cache answered)."""
    async def started() -> dict | None:
        now = await stats(client)
        return now if now["generations"] != before["generations"] else None
    return await until_async(started, "a generation started", timeout_s)


async def wait_for_model(client: LanguageClient, timeout_s: float = 60) -> dict:
    """Poll codellama/stats until the model is loaded (or has failed)."""
    async def settled() -> dict | None:
        current = await stats(client)
        return current if current["model"]["state"] in ("ready", "failed") else None
    return await until_async(settled, "the model loaded or failed", timeout_s)


async def server_text(client: LanguageClient, uri: str) -> dict:
    return plain(await client.protocol.send_request_async("codellama/documentText",
                                                          {"uri": uri}))


def open_document(client: LanguageClient, uri: str, text: str, language: str = "python",
                  version: int = 1) -> None:
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id=language, version=version, text=text)))


def change(client: LanguageClient, uri: str, version: int, start: tuple[int, int],
           end: tuple[int, int], text: str) -> None:
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        [types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(*start), types.Position(*end)), text=text)]))


def inline_params(uri: str, line: int, character: int, invoked: bool = False
                  ) -> types.InlineCompletionParams:
    kind = types.InlineCompletionTriggerKind.Invoked if invoked \
        else types.InlineCompletionTriggerKind.Automatic
    return types.InlineCompletionParams(
        context=types.InlineCompletionContext(trigger_kind=kind),
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line, character))


async def raw_request(client: LanguageClient, method: str, params: Any) -> Any:
    """Send a request exactly as given (even malformed) and await its answer; a JSON-RPC
    error is raised as JsonRpcException."""
    protocol = client.protocol
    msg_id = f"raw-{next(_raw_ids)}"
    future = asyncio.get_running_loop().create_future()
    await_answer(protocol, msg_id, _Bridge(future))
    send_message(protocol, {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
    return await future


class _Bridge:
    """What the client's protocol expects of a pending request: set_result/set_exception."""

    def __init__(self, future: asyncio.Future) -> None:
        self.future = future

    def set_result(self, value: Any) -> None:
        if not self.future.done():
            self.future.set_result(value)

    def set_exception(self, exc: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(exc)

    def done(self) -> bool:
        return self.future.done()

    def cancel(self) -> bool:
        return self.future.cancel()

