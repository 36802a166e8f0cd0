"""The language server: pygls wiring only, protocol in and protocol out.

The handlers translate LSP messages into calls on the server's state (`ServerState`: settings,
documents, models, workspace), the completion service and the edit service, and their answers
back into LSP types; positions are converted in the negotiated encoding (`positions`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from codellama_lsp.errors import UserError
from codellama_lsp.lsp.client_window import LspWindow, client_has
from codellama_lsp.lsp.completion_service import Answer, CompletionService
from codellama_lsp.lsp.documents import Change, Document, UnknownDocument
from codellama_lsp.lsp.edit_service import (
    EDIT_COMMAND,
    EDIT_METHOD,
    EditService,
    parse_target,
    rpc_error,
)
from codellama_lsp.lsp.lifetime import ClientWatch
from codellama_lsp.lsp.next_edit_service import NextEditService
from codellama_lsp.lsp.next_edit_wire import (
    ACCEPT_NEXT_EDIT_COMMAND,
    APPLY_NEXT_EDIT_COMMAND,
    DID_SHOW_METHOD,
    INLINE_EDIT_METHOD,
    NextEditParamsError,
    parse_request,
    shown_id,
)
from codellama_lsp.lsp.prewarm import PREWARM_METHOD, parse_cursor
from codellama_lsp.lsp.protocol import CodeLlamaProtocol
from codellama_lsp.lsp.settings import SECTION, Settings
from codellama_lsp.lsp.state import ServerState
from codellama_lsp.syntax import languages
from codellama_lsp.syntax.positions import Encoding, PositionError

log = logging.getLogger(__name__)

VERSION = "0.1.0"
ACCEPT_COMMAND = "codellama.accept"
STATS_METHOD = "codellama/stats"
DOCUMENT_METHOD = "codellama/documentText"
WATCHER_ID = "codellama-workspace-files"


class CodeLlamaServer(LanguageServer):
    def __init__(self, defaults: Settings) -> None:
        super().__init__("codellama-lsp", VERSION, protocol_cls=CodeLlamaProtocol,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.state = ServerState(defaults, LspWindow(self))
        self.completions = CompletionService(self.state)
        self.edits = EditService(self.state)
        self.next_edits = NextEditService(self.state)
        self.loop: asyncio.AbstractEventLoop | None = None  # known once the client is there
        self.client_watch: ClientWatch | None = None  # set by `codellama lsp`

    def has(self, capability: str) -> bool:
        """Whether the client declared `capability` (a dotted path, e.g. "workspace.apply_edit")."""
        return client_has(self.client_capabilities, capability)


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
    server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)(did_change_watched_files)
    server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION,
                   types.InlineCompletionOptions())(inline_completion)
    server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions())(completion)
    server.feature(PREWARM_METHOD)(cursor_rested)
    server.feature(STATS_METHOD)(stats)
    server.feature(DOCUMENT_METHOD)(document_text)
    server.command(ACCEPT_COMMAND)(accept)
    server.feature(EDIT_METHOD)(edit)
    server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.RefactorRewrite,
                           types.CodeActionKind.QuickFix]))(code_action)
    server.command(EDIT_COMMAND)(run_edit)
    server.feature(INLINE_EDIT_METHOD)(inline_edit)
    server.feature(DID_SHOW_METHOD)(did_show_inline_edit)
    server.command(ACCEPT_NEXT_EDIT_COMMAND)(accept_next_edit)
    server.command(APPLY_NEXT_EDIT_COMMAND)(apply_next_edit)
    return server


# -- lifecycle ---------------------------------------------------------------------------------

def initialize(ls: CodeLlamaServer, params: types.InitializeParams) -> None:
    ls.loop = asyncio.get_running_loop()
    if ls.client_watch is not None:
        ls.client_watch.initialize_named(params.process_id)
    ls.state.encoding = Encoding(ls.workspace.position_encoding or Encoding.UTF16.value)
    ls.state.set_workspace(workspace_root(params))
    ls.state.apply_settings(params.initialization_options)


def workspace_root(params: types.InitializeParams) -> str | None:
    """The first workspace folder's path (or the older rootUri/rootPath), if on disk."""
    uris = [f.uri for f in params.workspace_folders or []] + [params.root_uri or ""]
    for uri in uris:
        if uri.startswith("file:"):
            return to_fs_path(uri)
    return params.root_path or None


async def initialized(ls: CodeLlamaServer, params: types.InitializedParams) -> None:
    ls.completions.start()
    if ls.state.snippets.root is not None and \
            ls.has("workspace.did_change_watched_files.dynamic_registration"):
        await _watch_workspace_files(ls)


async def _watch_workspace_files(ls: CodeLlamaServer) -> None:
    """Ask the client to tell us of files changed outside the editor (workspace index)."""
    watcher = types.FileSystemWatcher(glob_pattern=languages.source_glob())
    registration = types.Registration(
        id=WATCHER_ID, method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=[watcher]))
    try:
        await ls.client_register_capability_async(types.RegistrationParams([registration]))
    except Exception as exc:  # noqa: BLE001 - without it, the index only misses outside edits
        log.info("no file watching: %s", exc)


def shutdown(ls: CodeLlamaServer, params: None) -> None:
    ls.completions.shutdown()
    ls.edits.shutdown()
    ls.next_edits.shutdown()


def exit_(ls: CodeLlamaServer, params: None) -> None:
    ls.completions.shutdown()  # an exit without shutdown must not wait for a generation
    ls.edits.shutdown()
    ls.next_edits.shutdown()


# -- documents and the workspace -----------------------------------------------------------------

def did_open(ls: CodeLlamaServer, params: types.DidOpenTextDocumentParams) -> None:
    item = params.text_document
    ls.state.open(item.uri, item.language_id, item.version, item.text)
    ls.completions.prewarmer.opened(item.uri)


def did_change(ls: CodeLlamaServer, params: types.DidChangeTextDocumentParams) -> None:
    changes = [_change(c) for c in params.content_changes]
    try:
        document = ls.state.change(params.text_document.uri, params.text_document.version,
                                   changes)
    except UnknownDocument as exc:
        log.warning("didChange ignored: %s", exc)
        return
    ls.next_edits.document_changed(document.uri)
    ls.completions.document_changed(document)


def _change(change: types.TextDocumentContentChangeEvent) -> Change:
    if isinstance(change, types.TextDocumentContentChangePartial):
        start, end = change.range.start, change.range.end
        return Change(change.text, (start.line, start.character), (end.line, end.character))
    return Change(change.text)


def did_close(ls: CodeLlamaServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.state.close(params.text_document.uri)
    ls.completions.forget(params.text_document.uri)
    ls.next_edits.forget(params.text_document.uri)


def did_change_watched_files(ls: CodeLlamaServer,
                             params: types.DidChangeWatchedFilesParams) -> None:
    paths = [to_fs_path(c.uri) for c in params.changes if c.uri.startswith("file:")]
    came_or_went = any(c.type != types.FileChangeType.Changed for c in params.changes)
    ls.state.files_changed([p for p in paths if p], came_or_went)


# -- settings ----------------------------------------------------------------------------------

async def did_change_configuration(ls: CodeLlamaServer,
                                   params: types.DidChangeConfigurationParams) -> None:
    raw = params.settings
    if not raw and ls.has("workspace.configuration"):
        # The client sends no values, only the news: ask for our section.
        items = [types.ConfigurationItem(section=SECTION)]
        raw = (await ls.workspace_configuration_async(types.ConfigurationParams(items)))[0]
    before = ls.state.apply_settings(raw, reload=True)
    ls.completions.settings_changed(before)


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
    """The fallback for clients without inline completion: each suggestion as a plain-text
    item without a range, whose insertText (the word before the cursor, then the suggestion)
    every client inserts whole: Neovim's omnifunc keeps only the first word of an item's
    textEdit, and an item without a range replaces the word before the cursor everywhere."""
    if ls.has("text_document.inline_completion"):
        return types.CompletionList(is_incomplete=False, items=[])
    invoked = params.context is not None and \
        params.context.trigger_kind == types.CompletionTriggerKind.Invoked
    answer = await _answer(ls, params.text_document.uri, params.position, invoked)
    if answer is None:
        return types.CompletionList(is_incomplete=True, items=[])
    items = []
    for rank, (text, item_id) in enumerate(zip(answer.texts, answer.item_ids)):
        inserted = answer.insert_text(text)
        items.append(types.CompletionItem(
            label=_label(text), kind=types.CompletionItemKind.Text, detail="Code Llama",
            documentation=text, sort_text=f"{rank:02d}", filter_text=inserted,
            insert_text=inserted, insert_text_format=types.InsertTextFormat.PlainText,
            command=_accept(item_id)))
    return types.CompletionList(is_incomplete=True, items=items)


def cursor_rested(ls: CodeLlamaServer, params: Any) -> None:
    """`codellama/prewarm` {textDocument: {uri}, position}: the cursor rests there; bad params
    are logged and ignored."""
    cursor = parse_cursor(params)
    if cursor is not None:
        ls.completions.prewarmer.request(cursor)


async def _answer(ls: CodeLlamaServer, uri: str, position: types.Position, invoked: bool
                  ) -> Answer | None:
    ls.next_edits.yield_to_completion()  # a next edit never holds the model from a completion
    try:
        return await ls.completions.answer(uri, position.line, position.character, invoked)
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
    line, character = document.index.position(offset, ls.state.encoding)
    return types.Position(line, character)


# -- stats, acceptance, inspection ---------------------------------------------------------------

def accept(ls: CodeLlamaServer, *args: Any) -> bool:
    """`codellama.accept` [item_id] (accepted whole) or [item_id, accepted_chars] (in part)."""
    return ls.completions.stats.accept(args[0] if args else None,
                                       args[1] if len(args) > 1 else None)


def stats(ls: CodeLlamaServer, params: Any) -> dict:
    return {**ls.completions.report(), "edits": ls.edits.report(),
            "next_edits": ls.next_edits.report()}


def document_text(ls: CodeLlamaServer, params: Any) -> dict:
    """The server's copy of a document (for tests and debugging)."""
    uri = params.get("uri") if isinstance(params, dict) else getattr(params, "uri", None)
    if not isinstance(uri, str):
        raise JsonRpcInvalidParams("params must be {\"uri\": string}")
    try:
        document = ls.state.documents.get(uri)
    except UnknownDocument as exc:
        raise JsonRpcInvalidParams(str(exc)) from None
    return {"uri": uri, "version": document.version, "text": document.text}


# -- instruction edits (edit_service) ------------------------------------------------------------

async def edit(ls: CodeLlamaServer, params: Any) -> dict:
    """`codellama/edit` {textDocument: {uri}, range, instruction} -> {edits, version};
    cancellable with $/cancelRequest."""
    try:
        computed = await ls.edits.compute(parse_target(params))
    except UserError as exc:
        # Expected (no usable code, a document that changed...): the client tells the user.
        log.info("%s: no edit: %s", EDIT_METHOD, exc)
        raise rpc_error(exc) from None
    return computed.as_result()


async def code_action(ls: CodeLlamaServer, params: types.CodeActionParams
                      ) -> list[types.CodeAction]:
    applies = ls.has("workspace.apply_edit")
    return ls.edits.code_actions(params, applies) + \
        await ls.next_edits.code_actions(params, applies)


async def run_edit(ls: CodeLlamaServer, *args: Any) -> dict:
    return await ls.edits.execute(list(args), ls.workspace_apply_edit_async,
                                  ls.has("workspace.workspace_edit.document_changes"))


# -- next-edit suggestions (next_edit_service; the wire is Copilot's) ------------------------------

async def inline_edit(ls: CodeLlamaServer, params: Any) -> dict:
    """`textDocument/copilotInlineEdit` {textDocument: {uri, version}, position} -> {edits};
    cancellable with $/cancelRequest."""
    try:
        request = parse_request(params)
    except NextEditParamsError as exc:
        raise JsonRpcInvalidParams(str(exc)) from None
    return {"edits": await ls.next_edits.suggest(request)}


def did_show_inline_edit(ls: CodeLlamaServer, params: Any) -> None:
    """`textDocument/didShowInlineEdit` {item: {command: {arguments: [id]}}}."""
    ls.next_edits.shown(shown_id(params))


def accept_next_edit(ls: CodeLlamaServer, *args: Any) -> bool:
    """`codellama.acceptNextEdit` [id]: the user took the edit (the client applied it)."""
    return ls.next_edits.accept(args[0] if args else None)


async def apply_next_edit(ls: CodeLlamaServer, *args: Any) -> dict:
    """`codellama.applyNextEdit` [id or edit object]: applied by the server, version-checked."""
    return await ls.next_edits.apply(list(args), ls.workspace_apply_edit_async,
                                     ls.has("workspace.workspace_edit.document_changes"))
