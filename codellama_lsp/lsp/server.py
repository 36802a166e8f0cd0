"""The language server: pygls wiring only, protocol in and protocol out.

The handlers translate LSP messages into calls on `SuggestionService` (documents, settings,
model, scheduler, cache, stats) and `EditService` (instruction edits: the `codellama/edit`
request, code actions, the `codellama.edit` command) and their answers back into LSP types;
positions are converted in the negotiated encoding (`positions`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from codellama_lsp.errors import UserError
from codellama_lsp.lsp.completion_service import Answer, SuggestionService
from codellama_lsp.lsp.documents import Change, Document, UnknownDocument
from codellama_lsp.lsp.edit_service import (
    EDIT_COMMAND,
    EDIT_METHOD,
    EditService,
    parse_target,
    rpc_error,
)
from codellama_lsp.lsp.protocol import CodeLlamaProtocol
from codellama_lsp.lsp.settings import SECTION, Settings, update_settings
from codellama_lsp.syntax.positions import Encoding, PositionError

log = logging.getLogger(__name__)

VERSION = "0.1.0"
ACCEPT_COMMAND = "codellama.accept"
STATS_METHOD = "codellama/stats"
DOCUMENT_METHOD = "codellama/documentText"
PROGRESS_CREATE_TIMEOUT_S = 5.0


class CodeLlamaServer(LanguageServer):
    def __init__(self, defaults: Settings) -> None:
        super().__init__("codellama-lsp", VERSION, protocol_cls=CodeLlamaProtocol,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.service = SuggestionService(defaults)
        self.edits = EditService(self.service, self.show)
        self.encoding = Encoding.UTF16
        self._progress_tokens = itertools.count(1)
        self.loop: asyncio.AbstractEventLoop | None = None  # known once the client is there

    def show(self, kind: types.MessageType, message: str) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))


def create_server(defaults: Settings | None = None) -> CodeLlamaServer:
    server = CodeLlamaServer(defaults or Settings())
    server.feature(types.INITIALIZE)(initialize)
    server.feature(types.INITIALIZED)(initialized)
    server.feature(types.SHUTDOWN)(shutdown)
    server.feature(types.EXIT)(exit_)
    server.feature(types.TEXT_DOCUMENT_DID_OPEN)(did_open)
    server.feature(types.TEXT_DOCUMENT_DID_CHANGE)(did_change)
    server.feature(types.TEXT_DOCUMENT_DID_CLOSE)(did_close)
    server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)(did_change_configuration)
    server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION,
                   types.InlineCompletionOptions())(inline_completion)
    server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions())(completion)
    server.feature(STATS_METHOD)(stats)
    server.feature(DOCUMENT_METHOD)(document_text)
    server.command(ACCEPT_COMMAND)(accept)
    server.feature(EDIT_METHOD)(edit)
    server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.RefactorRewrite,
                           types.CodeActionKind.QuickFix]))(code_action)
    server.command(EDIT_COMMAND)(run_edit)
    return server


# -- lifecycle ---------------------------------------------------------------------------------

def initialize(ls: CodeLlamaServer, params: types.InitializeParams) -> None:
    ls.loop = asyncio.get_running_loop()
    ls.encoding = Encoding(ls.workspace.position_encoding or Encoding.UTF16.value)
    ls.service.set_workspace(workspace_root(params))
    apply_settings(ls, params.initialization_options)


def workspace_root(params: types.InitializeParams) -> str | None:
    """The first workspace folder's path (or the older rootUri/rootPath), if on disk."""
    uris = [f.uri for f in params.workspace_folders or []] + [params.root_uri or ""]
    for uri in uris:
        if uri.startswith("file:"):
            return to_fs_path(uri)
    return params.root_path or None


def initialized(ls: CodeLlamaServer, params: types.InitializedParams) -> None:
    start_loading(ls)
    ls.service.warm_snippets()


def shutdown(ls: CodeLlamaServer, params: None) -> None:
    ls.service.scheduler.shutdown()
    ls.edits.shutdown()


def exit_(ls: CodeLlamaServer, params: None) -> None:
    ls.service.scheduler.shutdown()  # an exit without shutdown must not wait for a generation
    ls.edits.shutdown()


# -- documents ---------------------------------------------------------------------------------

def did_open(ls: CodeLlamaServer, params: types.DidOpenTextDocumentParams) -> None:
    item = params.text_document
    ls.service.open(item.uri, item.language_id, item.version, item.text)


def did_change(ls: CodeLlamaServer, params: types.DidChangeTextDocumentParams) -> None:
    changes = [_change(c) for c in params.content_changes]
    try:
        ls.service.change(params.text_document.uri, params.text_document.version, changes,
                          ls.encoding)
    except UnknownDocument as exc:
        log.warning("didChange ignored: %s", exc)


def _change(change: types.TextDocumentContentChangeEvent) -> Change:
    if isinstance(change, types.TextDocumentContentChangePartial):
        start, end = change.range.start, change.range.end
        return Change(change.text, (start.line, start.character), (end.line, end.character))
    return Change(change.text)


def did_close(ls: CodeLlamaServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.service.close(params.text_document.uri)


# -- settings and the model --------------------------------------------------------------------

async def did_change_configuration(ls: CodeLlamaServer,
                                   params: types.DidChangeConfigurationParams) -> None:
    raw = params.settings
    if not raw and _client_has(ls, "workspace.configuration"):
        # The client sends no values, only the news: ask for our section.
        items = [types.ConfigurationItem(section=SECTION)]
        raw = (await ls.workspace_configuration_async(types.ConfigurationParams(items)))[0]
    apply_settings(ls, raw, reload=True)


def apply_settings(ls: CodeLlamaServer, raw: Any, reload: bool = False) -> None:
    update = update_settings(ls.service.settings, raw)
    for error in update.errors:
        log.warning("%s", error)
        ls.show(types.MessageType.Warning, f"codellama: {error}")
    before, ls.service.settings = ls.service.settings, update.settings
    after = update.settings
    if reload and (before.engine, before.load_options()) != (after.engine, after.load_options()):
        start_loading(ls)


def start_loading(ls: CodeLlamaServer) -> None:
    settings = ls.service.settings
    log.info("loading %s (engine %s)", settings.model, settings.engine)
    outcome = ls.service.loader.start(settings.model, lambda: ls.service.load_engine(settings))
    asyncio.ensure_future(_report_loading(ls, asyncio.wrap_future(outcome)))


async def _report_loading(ls: CodeLlamaServer, outcome: asyncio.Future) -> None:
    """$/progress while the model loads (where the client shows progress); one
    window/showMessage if loading fails."""
    token = f"codellama-load-{next(ls._progress_tokens)}"
    progress = _client_has(ls, "window.work_done_progress")
    if progress:
        try:
            await asyncio.wait_for(ls.work_done_progress.create_async(token),
                                   PROGRESS_CREATE_TIMEOUT_S)
            ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(
                title="Code Llama", message=f"loading {ls.service.loader.description}"))
        except Exception as exc:  # noqa: BLE001 - progress is a courtesy, loading goes on
            log.info("no progress reporting: %s", exc)
            progress = False
    result = await outcome
    if result.error is None:
        message = f"loaded {result.description} in {result.seconds:.1f}s"
        log.info("%s", message)
    else:
        message = f"cannot load model {result.description}: {result.error}"
        log.error("%s", message)
        ls.show(types.MessageType.Error, f"codellama: {message}. Completions are off until "
                "the settings name a model that loads.")
    if progress:
        ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))


def _client_has(ls: CodeLlamaServer, path: str) -> bool:
    value: Any = ls.client_capabilities
    for name in path.split("."):
        value = getattr(value, name, None)
        if value is None:
            return False
    return bool(value)


# -- completions -------------------------------------------------------------------------------

async def inline_completion(ls: CodeLlamaServer, params: types.InlineCompletionParams
                            ) -> types.InlineCompletionList:
    invoked = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
    answer = await _answer(ls, params.text_document.uri, params.position, invoked)
    if answer is None:
        return types.InlineCompletionList(items=[])
    return types.InlineCompletionList(items=[types.InlineCompletionItem(
        insert_text=text, range=_replaced_range(ls, answer, text), command=_accept(item_id))
        for text, item_id in zip(answer.texts, answer.item_ids)])


async def completion(ls: CodeLlamaServer, params: types.CompletionParams
                     ) -> types.CompletionList:
    """The fallback for clients without inline completion: the suggestion as a completion item."""
    if _client_has(ls, "text_document.inline_completion"):
        return types.CompletionList(is_incomplete=False, items=[])
    invoked = params.context is not None and \
        params.context.trigger_kind == types.CompletionTriggerKind.Invoked
    answer = await _answer(ls, params.text_document.uri, params.position, invoked)
    if answer is None:
        return types.CompletionList(is_incomplete=True, items=[])
    return types.CompletionList(is_incomplete=True, items=[types.CompletionItem(
        label=_label(text), kind=types.CompletionItemKind.Text, detail="Code Llama",
        sort_text=f"{rank:02d}", filter_text=text,
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=types.TextEdit(_replaced_range(ls, answer, text), text),
        command=_accept(item_id))
        for rank, (text, item_id) in enumerate(zip(answer.texts, answer.item_ids))])


async def _answer(ls: CodeLlamaServer, uri: str, position: types.Position, invoked: bool
                  ) -> Answer | None:
    try:
        return await ls.service.answer(uri, position.line, position.character, ls.encoding,
                                       invoked)
    except PositionError as exc:
        raise JsonRpcInvalidParams(f"{exc} in {uri}") from None


def _accept(item_id: int) -> types.Command:
    return types.Command(title="Accept", command=ACCEPT_COMMAND, arguments=[item_id])


def _label(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else text
    return first if len(first) <= 60 else first[:59] + "…"


def _replaced_range(ls: CodeLlamaServer, answer: Answer, text: str) -> types.Range:
    return types.Range(_position(ls, answer.document, answer.offset),
                       _position(ls, answer.document, answer.replaced_end(text)))


def _position(ls: CodeLlamaServer, document: Document, offset: int) -> types.Position:
    line, character = document.index.position(offset, ls.encoding)
    return types.Position(line, character)


# -- stats, acceptance, inspection ---------------------------------------------------------------

def accept(ls: CodeLlamaServer, *args: Any) -> bool:
    return ls.service.stats.accept(args[0] if args else None)


def stats(ls: CodeLlamaServer, params: Any) -> dict:
    return {**ls.service.report(), "edits": ls.edits.report()}


def document_text(ls: CodeLlamaServer, params: Any) -> dict:
    """The server's copy of a document (for tests and debugging)."""
    uri = params.get("uri") if isinstance(params, dict) else getattr(params, "uri", None)
    if not isinstance(uri, str):
        raise JsonRpcInvalidParams("params must be {\"uri\": string}")
    try:
        document = ls.service.documents.get(uri)
    except UnknownDocument as exc:
        raise JsonRpcInvalidParams(str(exc)) from None
    return {"uri": uri, "version": document.version, "text": document.text}


# -- instruction edits (edit_service) ------------------------------------------------------------

async def edit(ls: CodeLlamaServer, params: Any) -> dict:
    """`codellama/edit` {textDocument: {uri}, range, instruction} -> {edits, version};
    cancellable with $/cancelRequest."""
    try:
        computed = await ls.edits.compute(parse_target(params), ls.encoding)
    except UserError as exc:
        raise rpc_error(exc) from None
    return computed.as_result()


def code_action(ls: CodeLlamaServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    applies = _client_has(ls, "workspace.apply_edit") and \
        _client_has(ls, "workspace.workspace_edit.document_changes")
    return ls.edits.code_actions(params, applies)


async def run_edit(ls: CodeLlamaServer, *args: Any) -> dict:
    return await ls.edits.execute(list(args), ls.encoding, ls.workspace_apply_edit_async)
