"""Instruction edits in the language server: the `codellama/edit` request, the code actions and
the command that applies their edit with `workspace/applyEdit`.

The instruct engine is loaded lazily, on the first edit: many users only want completions, and
a 7B instruct model costs its memory. Where `instructModel` equals `model`, the shared
EnginePool hands out the completion engine (one copy of the weights; nothing to load). A failed
load is shown once (window/showMessage); edits then fail at once, and no code actions are
offered, until the settings name another instruct model.

An edit never lands on a document that changed under it: the edit is computed against one
version; if the document has another version when the result is ready, the request answers
ContentModified and the command refuses (no applyEdit, one window/showMessage). Where the
client takes `documentChanges`, the applied edit is a versioned TextDocumentEdit, so a client
whose document moved on in the last moment refuses it too; other clients (Neovim) get plain
`changes`, checked against the document's version right before they are sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcContentModified, JsonRpcException, JsonRpcInvalidParams

from codellama_lsp.edits.plan import (
    EditError,
    EditOptions,
    EditPlan,
    check_range,
    plan_edit,
    selected_lines,
)
from codellama_lsp.edits.reply import NoUsableCode
from codellama_lsp.errors import UserError
from codellama_lsp.lsp.code_actions import (
    EDIT_COMMAND,
    EditParamsError,
    EditTarget,
    code_actions,
    parse_target,
)
from codellama_lsp.lsp.documents import Document, UnknownDocument
from codellama_lsp.lsp.runner import Runner, Work
from codellama_lsp.lsp.state import ServerState
from codellama_lsp.syntax.positions import Encoding, PositionError
from fim.engines.base import Engine, EngineError

log = logging.getLogger(__name__)

EDIT_METHOD = "codellama/edit"
REQUEST_FAILED = -32803  # LSP's RequestFailed: valid params, but the edit could not be made
# An edit waits for its model however long it loads (a 7B model on a cold disk takes minutes);
# the user can cancel it.
_LOAD_WAIT_S = 24 * 3600.0

__all__ = ["EDIT_COMMAND", "EDIT_METHOD", "EditService", "parse_target", "rpc_error"]


class StaleEdit(UserError):
    """The document changed since the edit was asked for."""


class EditFailed(UserError):
    """The model is unavailable or the generation failed."""


@dataclass(frozen=True)
class ComputedEdit:
    uri: str
    version: int  # the version the edit was computed against
    plan: EditPlan
    document: Document

    def text_edits(self) -> list[types.TextEdit]:
        return [types.TextEdit(range=types.Range(
            types.Position(edit.start.line, edit.start.character),
            types.Position(edit.end.line, edit.end.character)), new_text=edit.new_text)
            for edit in self.plan.edits]

    def as_result(self) -> dict:
        """The `codellama/edit` answer: `{edits: TextEdit[], version}`."""
        return {"edits": [edit.as_lsp() for edit in self.plan.edits], "version": self.version}

    def workspace_edit(self, document_changes: bool) -> types.WorkspaceEdit:
        """A versioned TextDocumentEdit (the client refuses it if its document moved on), or
        plain `changes` for clients without documentChanges."""
        if not document_changes:
            return types.WorkspaceEdit(changes={self.uri: self.text_edits()})
        return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=self.uri,
                                                                        version=self.version),
            edits=self.text_edits())])


@dataclass
class EditStats:
    cancelled: int = 0  # requests cancelled ($/cancelRequest)
    applied: int = 0  # edits the client applied
    refused_stale: int = 0  # edits refused: the document changed
    no_change: int = 0  # the model proposed no change
    failed: int = 0  # no usable code, model unavailable, generation failed


ApplyEdit = Callable[[types.ApplyWorkspaceEditParams], Awaitable[types.ApplyWorkspaceEditResult]]


def rpc_error(exc: UserError) -> JsonRpcException:
    """The JSON-RPC error a failed `codellama/edit` request answers with."""
    if isinstance(exc, (EditParamsError, EditError)):
        return JsonRpcInvalidParams(str(exc))
    if isinstance(exc, StaleEdit):
        return JsonRpcContentModified(str(exc))
    return JsonRpcException(str(exc), code=REQUEST_FAILED)


class EditService:
    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.runner = Runner(2, "edit")
        self.stats = EditStats()

    async def engine(self) -> Engine:
        """The instruct engine for the current settings, loading it on first use."""
        engine = await self.state.models.instruct_engine(self.state.settings, _LOAD_WAIT_S)
        if engine is None:
            loader = self.state.models.instruct
            if loader.error:
                raise EditFailed(f"instruct model {loader.description} is unavailable: "
                                 f"{loader.error}. Edits are off until the settings name an "
                                 "instruct model that loads.")
            raise EditFailed(f"instruct model {loader.description} is unavailable: still "
                             "loading")
        return engine

    # -- computing an edit ---------------------------------------------------------------------

    async def compute(self, target: EditTarget) -> ComputedEdit:
        """The edit `target` asks for, against the document's current version. Raises a
        UserError (EditParamsError, EditError, StaleEdit, NoUsableCode, EditFailed);
        cancelling the task cancels the generation."""
        if target.instruction is None or not target.instruction.strip():
            raise EditParamsError("instruction must be a non-empty string")
        document = self._document(target.uri)
        if target.version is not None and target.version != document.version:
            self.stats.refused_stale += 1
            raise StaleEdit(f"{target.uri} changed since the edit was offered (version "
                            f"{target.version}, now {document.version}); nothing was changed")
        start_line, end_line = _lines(document, target.range, self.state.encoding)
        version, text, language = document.version, document.text, document.language_id
        settings = self.state.settings
        engine = await self.engine()
        options = EditOptions(max_new_tokens=settings.edit_max_new_tokens,
                              position_encoding=self.state.encoding)
        instruction = target.instruction
        plan = await self._plan(lambda cancel: plan_edit(
            engine, text, start_line, end_line, instruction, language, cancel, options))
        if not self.state.documents.is_current(document, version):
            self.stats.refused_stale += 1
            raise StaleEdit(f"{target.uri} changed while the edit was computed (version "
                            f"{version}, now {document.version}); nothing was changed")
        return ComputedEdit(target.uri, version, plan, document)

    def _document(self, uri: str) -> Document:
        try:
            return self.state.documents.get(uri)
        except UnknownDocument as exc:
            raise EditParamsError(f"{exc} (open it first)") from None

    async def _plan(self, work: Work[EditPlan]) -> EditPlan:
        """Run `work(cancel)` on the runner's threads; cancelling the task cancels it."""
        try:
            return await self.runner.run(work)
        except asyncio.CancelledError:
            self.stats.cancelled += 1
            raise
        except NoUsableCode:
            self.stats.failed += 1
            raise
        except EngineError as exc:
            self.stats.failed += 1
            raise EditFailed(f"the generation failed: {exc}") from None

    # -- code actions and their command --------------------------------------------------------

    def code_actions(self, params: types.CodeActionParams,
                     client_applies: bool) -> list[types.CodeAction]:
        """The edits offered for a selection and for the diagnostics in the request's context:
        to clients that can apply a workspace edit, for an open document, while the instruct
        model has not failed to load."""
        uri = params.text_document.uri
        if not client_applies or uri not in self.state.documents \
                or self.state.models.instruct_failed(self.state.settings):
            return []
        return code_actions(params, self.state.documents.get(uri).version)

    async def execute(self, arguments: list[Any], apply_edit: ApplyEdit,
                      document_changes: bool = True) -> dict:
        """Run the edit command: compute the edit, then apply it with workspace/applyEdit (as a
        versioned TextDocumentEdit where the client takes `document_changes`, else as plain
        changes), unless the document changed meanwhile. The outcome is shown to the user
        (window/showMessage) and returned as `{applied, message}`."""
        try:
            target = parse_target(arguments[0] if arguments else None)
        except EditParamsError as exc:
            self.state.window.show(types.MessageType.Error, f"Code Llama: bad edit command: {exc}")
            raise JsonRpcInvalidParams(f"{EDIT_COMMAND}: {exc}") from None
        if target.instruction is None or not target.instruction.strip():
            message = ("Code Llama: this edit needs an instruction; the editor must ask for it "
                       f"and pass it as \"instruction\" in the {EDIT_COMMAND} command's argument")
            self.state.window.show(types.MessageType.Error, message)
            raise JsonRpcInvalidParams(message)
        try:
            computed = await self.compute(target)
        except StaleEdit as exc:
            return self._not_applied(types.MessageType.Warning, f"the edit was refused: {exc}")
        except UserError as exc:
            return self._not_applied(types.MessageType.Error, f"no edit: {exc}")
        if not computed.plan.changed:
            self.stats.no_change += 1
            return self._not_applied(types.MessageType.Info, "the model proposed no change")
        if not self.state.documents.is_current(computed.document, computed.version):
            self.stats.refused_stale += 1  # plain changes carry no version: refused here
            return self._not_applied(types.MessageType.Warning, "the edit was refused: "
                                     f"{target.uri} changed meanwhile; nothing was changed")
        answer = await apply_edit(types.ApplyWorkspaceEditParams(
            edit=computed.workspace_edit(document_changes),
            label=target.title or "Code Llama: edit"))
        if not answer.applied:
            reason = answer.failure_reason or "the editor did not apply it"
            return self._not_applied(types.MessageType.Warning, f"the edit was not applied: "
                                     f"{reason}")
        self.stats.applied += 1
        return {"applied": True, "version": computed.version}

    def _not_applied(self, kind: types.MessageType, message: str) -> dict:
        self.state.window.show(kind, f"Code Llama: {message}")
        return {"applied": False, "message": message}

    # -- the rest ------------------------------------------------------------------------------

    def report(self) -> dict:
        """The edits' part of `codellama/stats`."""
        loader = self.state.models.instruct
        return {**vars(self.stats),
                "started": self.runner.started,  # generations started
                "running": self.runner.running,  # generations running now
                "instruct_model": {"name": loader.description, "state": loader.state.value,
                                   "error": loader.error},
                "engines_loaded": len(self.state.engines.loaded())}

    def shutdown(self) -> None:
        self.runner.shutdown()


def _lines(document: Document, selection: types.Range, encoding: Encoding) -> tuple[int, int]:
    """The whole lines (first, last) an LSP range selects; EditParamsError or EditError if it
    is not a range of the document."""
    start, end = selection.start, selection.end
    try:
        document.index.offset(start.line, start.character, encoding)
        document.index.offset(end.line, end.character, encoding)
    except PositionError as exc:
        raise EditParamsError(f"bad range: {exc}") from None
    if (end.line, end.character) < (start.line, start.character):
        raise EditParamsError("bad range: it ends before it starts")
    first, last = selected_lines(start.line, start.character, end.line, end.character)
    check_range(document.text, first, last)
    return first, last
