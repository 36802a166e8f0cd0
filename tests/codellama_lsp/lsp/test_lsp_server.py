"""End to end: the real `codellama lsp` process over stdio, with the tiny model."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled

from tests.support.lsp_session import (
    change,
    inline_params,
    open_document,
    server_text,
    start,
    stats,
    wait_for_generation,
    wait_for_model,
)

pytestmark = [pytest.mark.server, pytest.mark.asyncio(loop_scope="module")]

SOURCE = "def add(a, b):\n    return \n\nprint(add(1, ))\n"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(tiny_model):
    client, result = await start({"model": str(tiny_model), "maxNewTokens": 12,
                                  "debounceMs": 0, "invokedItems": 3})
    await wait_for_model(client)
    yield client, result
    await client.shutdown_session()
    await client.stop()


async def test_initialize_advertises_inline_completion_and_reports_loading(session):
    client, result = session
    caps = result.capabilities
    assert caps.inline_completion_provider is not None
    assert caps.position_encoding == types.PositionEncodingKind.Utf16
    assert caps.text_document_sync.change == types.TextDocumentSyncKind.Incremental
    assert "codellama.accept" in caps.execute_command_provider.commands
    (reports,) = client.progress_reports.values()
    assert isinstance(reports[0], types.WorkDoneProgressBegin)
    assert isinstance(reports[-1], types.WorkDoneProgressEnd) and "loaded" in reports[-1].message
    assert any("loaded" in m.message for m in client.log_messages)
    assert (await stats(client))["model"]["state"] == "ready"


async def test_incremental_changes_with_an_emoji_and_crlf(session):
    client, _ = session
    uri = "file:///emoji.py"
    open_document(client, uri, "s = '😀'\r\nt = 1\r\n")
    change(client, uri, 2, (0, 8), (0, 8), "!")  # after the emoji (2 UTF-16 units) and quote
    change(client, uri, 3, (1, 4), (1, 5), "42\r\nu = 3")
    change(client, uri, 4, (0, 5), (0, 7), "🎉🎉")  # replace the emoji itself
    assert await server_text(client, uri) == {
        "uri": uri, "version": 4, "text": "s = '🎉🎉'!\r\nt = 42\r\nu = 3\r\n"}


async def test_automatic_trigger_gives_one_greedy_item_at_the_cursor(session):
    client, _ = session
    uri = "file:///auto.py"
    open_document(client, uri, SOURCE)
    first = await client.text_document_inline_completion_async(inline_params(uri, 1, 11))
    assert len(first.items) <= 1
    for item in first.items:
        assert item.range.start == types.Position(1, 11)
        assert item.range.end.line == 1 and item.command.command == "codellama.accept"
    before = await stats(client)
    again = await client.text_document_inline_completion_async(inline_params(uri, 1, 11))
    # greedy, and from the cache (each shown item has its own id for the accept command)
    assert [(i.insert_text, i.range) for i in again.items] == \
        [(i.insert_text, i.range) for i in first.items]
    assert (await stats(client))["generations"] == before["generations"]


async def test_invoked_trigger_gives_several_distinct_items(session):
    client, _ = session
    uri = "file:///invoked.py"
    open_document(client, uri, SOURCE)
    result = await client.text_document_inline_completion_async(
        inline_params(uri, 3, 13, invoked=True))
    texts = [item.insert_text for item in result.items]
    assert 2 <= len(texts) <= 3 and len(set(texts)) == len(texts)
    for item in result.items:
        assert item.range.start == types.Position(3, 13) and item.range.end.line == 3


async def test_typing_the_suggestion_is_answered_from_the_cache(session):
    client, _ = session
    uri = "file:///forward.py"
    open_document(client, uri, "x = 1\n")
    (item,) = (await client.text_document_inline_completion_async(
        inline_params(uri, 1, 0))).items
    typed = item.insert_text[:2]
    assert "\n" not in typed and "\r" not in typed and len(item.insert_text) > 2
    before = await stats(client)
    change(client, uri, 2, (1, 0), (1, 0), typed)
    column = len(typed.encode("utf-16-le")) // 2
    rest = await client.text_document_inline_completion_async(inline_params(uri, 1, column))
    assert [i.insert_text for i in rest.items] == [item.insert_text[2:]]
    after = await stats(client)
    assert after["generations"] == before["generations"]
    assert after["forwarded"] == before["forwarded"] + 1


async def test_the_latest_answer_is_in_the_stats_for_the_info_line(session):
    client, _ = session
    uri = "file:///info.py"
    open_document(client, uri, "y = 2\n")
    (item,) = (await client.text_document_inline_completion_async(
        inline_params(uri, 1, 0))).items
    last = (await stats(client))["last_answer"]
    assert last["item_ids"] == list(item.command.arguments) and last["cached"] is False
    assert 0 < last["generated_tokens"] <= 12 and last["ms"] > 0
    assert 0 <= last["reused_prompt_tokens"] <= last["prompt_tokens"] and last["prompt_tokens"]
    (again,) = (await client.text_document_inline_completion_async(
        inline_params(uri, 1, 0))).items
    cached = (await stats(client))["last_answer"]
    assert cached["item_ids"] == list(again.command.arguments) and cached["cached"] is True


async def test_cancel_request_stops_the_generation_and_the_next_is_served(session):
    client, _ = session
    uri = "file:///cancel.py"
    open_document(client, uri, SOURCE)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"codellama": {"maxNewTokens": 1000}}))
    before = await stats(client)
    pending = asyncio.ensure_future(client.protocol.send_request_async(
        types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(uri, 1, 11), msg_id="to-cancel"))
    await wait_for_generation(client, before)
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="to-cancel"))
    with pytest.raises(JsonRpcRequestCancelled):
        await pending
    after = await stats(client)
    assert after["cancelled"] == before["cancelled"] + 1
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"codellama": {"maxNewTokens": 12}}))
    served = await client.text_document_inline_completion_async(inline_params(uri, 0, 4))
    assert served is not None


async def test_a_newer_request_supersedes_the_older(session):
    client, _ = session
    uri = "file:///newer.py"
    open_document(client, uri, SOURCE)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"codellama": {"maxNewTokens": 1000}}))
    before = await stats(client)
    older = asyncio.ensure_future(
        client.text_document_inline_completion_async(inline_params(uri, 1, 11)))
    await wait_for_generation(client, before)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"codellama": {"maxNewTokens": 12}}))
    change(client, uri, 2, (1, 11), (1, 11), "a")
    newer = await client.text_document_inline_completion_async(inline_params(uri, 1, 12))
    assert list((await older).items) == []
    after = await stats(client)
    assert after["superseded"] == before["superseded"] + 1
    assert after["max_running_per_document"] == 1
    assert newer is not None


async def test_accepting_an_item_runs_its_command_once(session):
    client, _ = session
    uri = "file:///accept.py"
    open_document(client, uri, "import os\n")
    (item,) = (await client.text_document_inline_completion_async(
        inline_params(uri, 1, 0))).items
    before = await stats(client)
    command = item.command
    for _ in range(2):
        await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command=command.command, arguments=list(command.arguments)))
    after = await stats(client)
    assert after["accepted"] == before["accepted"] + 1
    assert after["shown"] >= 1 and after["latency_ms"]["p50"] > 0


async def test_no_model_call_in_the_middle_of_a_word(session):
    """The completion policy runs in the server: mid-word, no suggestion and no generation."""
    client, _ = session
    uri = "file:///midword.py"
    open_document(client, uri, "result = compute_total(values)\n")
    before = await stats(client)
    answer = await client.text_document_inline_completion_async(inline_params(uri, 0, 13))
    assert list(answer.items) == []
    assert (await stats(client))["generations"] == before["generations"]


async def test_single_line_suggestion_mid_line(session):
    """Mid-line the policy asks for one line: no item ever spans lines."""
    client, _ = session
    uri = "file:///midline.py"
    open_document(client, uri, "def f(x):\n    y = \n    return y\n")
    answer = await client.text_document_inline_completion_async(
        inline_params(uri, 1, 8, invoked=True))
    for item in answer.items:
        assert "\n" not in item.insert_text and item.range.start.line == item.range.end.line
