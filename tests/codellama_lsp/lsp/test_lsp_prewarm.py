"""Pre-warming (`codellama/prewarm`, didOpen) through the real server with the tiny model: the
first completion where the cursor rested computes only the prompt's tail."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types

from codellama_lsp.lsp.prewarm import REST_S
from tests.support.lsp_session import (
    inline_params,
    open_document,
    start,
    stats,
    wait_for_model,
)
from tests.support.waiting import until_async

pytestmark = [pytest.mark.server, pytest.mark.asyncio(loop_scope="function")]

SOURCE = "".join(f"def f{i}(a, b):\n    return a * {i} + b\n\n" for i in range(40)) + \
    "def add(a, b):\n    return \n\nprint(add(1, ))\n"
LINE = SOURCE.count("\n") - 3  # "    return "
CURSOR = (LINE, 11)


def _prewarm(client, uri: str, line: int, character: int) -> None:
    client.protocol.notify("codellama/prewarm", {"textDocument": {"uri": uri},
                                                 "position": {"line": line,
                                                              "character": character}})


async def _until(client, done, what: str, timeout_s: float = 60) -> dict:
    """The stats once `done(stats)` holds; fails where it never does."""
    async def holds() -> dict | None:
        now = await stats(client)
        return now if done(now) else None
    return await until_async(holds, what, timeout_s)


async def _server(tiny_model, **settings):
    client, _ = await start({"model": str(tiny_model), "maxNewTokens": 8, "debounceMs": 0,
                             **settings})
    await wait_for_model(client)
    return client


async def _stop(client) -> None:
    await client.shutdown_session()
    await client.stop()


async def _complete(client, uri: str) -> tuple[int, int]:
    """Complete at CURSOR: the prompt ids it took and how many of them a kept cache covered."""
    before = await stats(client)
    result = await client.text_document_inline_completion_async(inline_params(uri, *CURSOR))
    assert result is not None
    after = await stats(client)
    assert after["generations"] == before["generations"] + 1
    return (after["prompt_tokens"] - before["prompt_tokens"],
            after["reused_prompt_tokens"] - before["reused_prompt_tokens"])


async def test_a_rested_cursor_is_prewarmed_and_its_completion_computes_only_the_tail(
        tiny_model):
    client = await _server(tiny_model)
    try:
        uri = "file:///warm.py"
        open_document(client, uri, SOURCE)  # pre-warmed at the document's start
        opened = await _until(client, lambda s: s["prewarms"] == 1 and s["prewarmed_tokens"],
                              "no pre-warm on didOpen")
        _prewarm(client, uri, *CURSOR)
        await _until(client, lambda s: s["prewarms"] == 2 and
                     s["prewarmed_tokens"] > opened["prewarmed_tokens"],
                     "no pre-warm at the cursor")
        prompt, reused = await _complete(client, uri)
        assert prompt > 200 and reused == prompt - 1  # only the last id is fed in the answer
    finally:
        await _stop(client)


async def test_a_cursor_that_rests_while_the_model_loads_is_prewarmed_once_it_is_ready(
        tiny_model):
    client, _ = await start({"model": str(tiny_model), "maxNewTokens": 8, "debounceMs": 0})
    try:
        uri = "file:///first.py"
        # Loading starts at `initialized`; a fresh process then imports torch for seconds.
        now = await _until(client, lambda s: s["model"]["state"] != "idle", "no load started")
        assert now["model"]["state"] == "loading"
        open_document(client, uri, SOURCE)
        _prewarm(client, uri, *CURSOR)
        await wait_for_model(client)
        await _until(client, lambda s: s["prewarms"] == 1 and s["prewarmed_tokens"],
                     "no pre-warm once the model loaded")
        prompt, reused = await _complete(client, uri)
        assert reused == prompt - 1  # the cursor's prompt, not the didOpen one at the start
    finally:
        await _stop(client)


async def test_a_reopened_document_is_prewarmed_at_its_last_cursor(tiny_model):
    client = await _server(tiny_model)
    try:
        uri = "file:///again.py"
        open_document(client, uri, SOURCE)
        await _complete(client, uri)  # the server remembers this cursor
        client.text_document_did_close(types.DidCloseTextDocumentParams(
            types.TextDocumentIdentifier(uri)))
        before = await stats(client)
        open_document(client, uri, SOURCE + "# changed on disk\n", version=2)
        await _until(client, lambda s: s["prewarms"] > before["prewarms"] and
                     s["prewarmed_tokens"] > before["prewarmed_tokens"], "no pre-warm on reopen")
        prompt, reused = await _complete(client, uri)
        assert reused == prompt - 1  # pre-warmed at the cursor, not at the start
    finally:
        await _stop(client)


async def test_without_prewarm_the_first_completion_computes_the_whole_prompt(tiny_model):
    client = await _server(tiny_model, prewarm=False)
    try:
        uri = "file:///cold.py"
        open_document(client, uri, SOURCE)
        _prewarm(client, uri, *CURSOR)
        await asyncio.sleep(5 * REST_S)  # well past the rest a pre-warm waits for: none may come
        prompt, reused = await _complete(client, uri)
        assert prompt > 200 and reused == 0
        assert (await stats(client))["prewarms"] == 0
        # Turned on, the same server pre-warms.
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
            settings={"codellama": {"prewarm": True}}))
        _prewarm(client, uri, 0, 0)
        await _until(client, lambda s: s["prewarmed_tokens"] > 0, "no pre-warm once on")
    finally:
        await _stop(client)


async def test_a_completion_during_a_prewarm_is_answered(tiny_model):
    client = await _server(tiny_model)
    try:
        uri = "file:///busy.py"
        open_document(client, uri, SOURCE * 3)
        for line in range(0, 60, 3):  # each supersedes the one before
            _prewarm(client, uri, line, 0)
        answers = await asyncio.gather(*[
            client.text_document_inline_completion_async(inline_params(uri, line, 20))
            for line in (1, 4, 7)])
        assert all(answer is not None for answer in answers)
        _prewarm(client, uri, *CURSOR)
        await _until(client, lambda s: s["prewarmed_tokens"] > 0, "no pre-warm afterwards")
        result = await client.text_document_inline_completion_async(inline_params(uri, *CURSOR))
        assert result is not None
    finally:
        await _stop(client)


async def test_bad_prewarm_params_are_ignored_and_the_server_runs_on(tiny_model):
    client = await _server(tiny_model)
    try:
        uri = "file:///ok.py"
        open_document(client, uri, SOURCE)
        bad = [None, [1, 2], {"textDocument": {"uri": uri}},
               {"textDocument": {"uri": uri}, "position": {"line": "1", "character": 0}},
               {"textDocument": {"uri": uri}, "position": {"line": True, "character": 0}},
               {"textDocument": {"uri": 7}, "position": {"line": 0, "character": 0}}]
        for params in bad:
            client.protocol.notify("codellama/prewarm", params)
        _prewarm(client, "file:///never-opened.py", 0, 0)
        _prewarm(client, uri, 10_000, 0)
        await _until(client, lambda s: len(_ignored(client)) >= len(bad) + 2,
                     "bad params not reported")
        assert any("unknown document file:///never-opened.py" in m for m in _ignored(client))
        prompt, _ = await _complete(client, uri)
        assert prompt > 0
    finally:
        await _stop(client)


def _ignored(client) -> list[str]:
    return [m.message for m in client.log_messages if "codellama/prewarm ignored" in m.message]
