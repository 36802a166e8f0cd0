"""Instruction edits in the language server: the `codellama/edit` request, the code actions and
the command that applies their edit with `workspace/applyEdit`.

The instruct engine is loaded lazily, on the first edit: many users only want completions, and
a 7B instruct model costs its memory. Where `instructModel` equals `model`, the shared
EnginePool hands out the completion engine (one copy of the weights; nothing to load). A failed
load is shown once (window/showMessage); edits then fail at once, and no code actions are
offered, until the settings name another instruct model.

An edit never lands on a document that changed under it: the edit is computed against one
version; if the document has another version when the result is ready, the request answers
ContentModified and the command refuses (no applyEdit, one window/showMessage). The applied
edit is a versioned TextDocumentEdit, so a client whose document moved on in the last moment
refuses it too.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from lsprotocol import types
from lsprotocol.converters import get_converter
from pygls.exceptions import JsonRpcContentModified, JsonRpcException, JsonRpcInvalidParams

from codellama_lsp.edits.actions import SELECTION_ACTIONS, EditAction, fix_action
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
from codellama_lsp.lsp.completion_service import SuggestionService
from codellama_lsp.lsp.documents import Document, UnknownDocument
from codellama_lsp.lsp.model_loading import LoadState, ModelLoader
from codellama_lsp.lsp.settings import Settings
from codellama_lsp.syntax.positions import Encoding, PositionError
from fim.engines.base import Engine, EngineError

log = logging.getLogger(__name__)

EDIT_METHOD = "codellama/edit"
EDIT_COMMAND = "codellama.edit"
REQUEST_FAILED = -32803  # LSP's RequestFailed: valid params, but the edit could not be made
# An edit waits for its model however long it loads (a 7B model on a cold disk takes minutes);
# the user can cancel it.
_LOAD_WAIT_S = 24 * 3600.0
_converter = get_converter()


class EditParamsError(UserError):
    """The request's params or the command's arguments are malformed."""


class StaleEdit(UserError):
    """The document changed since the edit was asked for."""


class EditFailed(UserError):
    """The model is unavailable or the generation failed."""


@dataclass(frozen=True)
class EditTarget:
    """What to edit: `{textDocument: {uri}, range, instruction, version?}`."""

    uri: str
    range: types.Range  # in the negotiated position encoding
    instruction: str | None  # None: the client must ask the user (edit selection…)
    version: int | None = None  # the version the action was offered for, if known
    title: str | None = None  # the action's title: the applied edit's label

    def as_argument(self) -> dict:
        """The command argument that names this target (JSON)."""
        argument: dict[str, Any] = {"textDocument": {"uri": self.uri},
                                    "range": _converter.unstructure(self.range),
                                    "instruction": self.instruction}
        if self.version is not None:
            argument["version"] = self.version
        if self.title is not None:
            argument["title"] = self.title
        return argument


@dataclass(frozen=True)
class ComputedEdit:
    uri: str
    version: int  # the version the edit was computed against
    plan: EditPlan

    def text_edits(self) -> list[types.TextEdit]:
        return [types.TextEdit(range=types.Range(
            types.Position(edit.start.line, edit.start.character),
            types.Position(edit.end.line, edit.end.character)), new_text=edit.new_text)
            for edit in self.plan.edits]

    def as_result(self) -> dict:
        """The `codellama/edit` answer: `{edits: TextEdit[], version}`."""
        return {"edits": [edit.as_lsp() for edit in self.plan.edits], "version": self.version}

    def workspace_edit(self) -> types.WorkspaceEdit:
        return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=self.uri,
                                                                        version=self.version),
            edits=self.text_edits())])


@dataclass
class EditStats:
    started: int = 0  # generations started
    running: int = 0  # generations running now
    cancelled: int = 0  # requests cancelled ($/cancelRequest)
    applied: int = 0  # edits the client applied
    refused_stale: int = 0  # edits refused: the document changed
    no_change: int = 0  # the model proposed no change
    failed: int = 0  # no usable code, model unavailable, generation failed


Show = Callable[[types.MessageType, str], None]
ApplyEdit = Callable[[types.ApplyWorkspaceEditParams], Awaitable[types.ApplyWorkspaceEditResult]]


def parse_target(raw: Any) -> EditTarget:
    """An EditTarget from request params or a command argument; EditParamsError if malformed."""
    raw = _plain(raw)
    if not isinstance(raw, dict):
        raise EditParamsError("expected {textDocument: {uri}, range, instruction}")
    document = raw.get("textDocument")
    uri = document.get("uri") if isinstance(document, dict) else None
    if not isinstance(uri, str) or not uri:
        raise EditParamsError("textDocument.uri must be a string")
    try:
        selection = _converter.structure(raw.get("range"), types.Range)
    except Exception:  # noqa: BLE001 - cattrs raises several kinds; all mean the same here
        raise EditParamsError("range must be {start: {line, character}, end: {line, "
                              "character}} with non-negative integers") from None
    instruction = raw.get("instruction")
    if instruction is not None and not isinstance(instruction, str):
        raise EditParamsError("instruction must be a string")
    version = raw.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise EditParamsError("version must be an integer")
    title = raw.get("title")
    return EditTarget(uri, selection, instruction, version,
                      title if isinstance(title, str) else None)


def rpc_error(exc: UserError) -> JsonRpcException:
    """The JSON-RPC error a failed `codellama/edit` request answers with."""
    if isinstance(exc, (EditParamsError, EditError)):
        return JsonRpcInvalidParams(str(exc))
    if isinstance(exc, StaleEdit):
        return JsonRpcContentModified(str(exc))
    return JsonRpcException(str(exc), code=REQUEST_FAILED)


class EditService:
    def __init__(self, service: SuggestionService, show: Show) -> None:
        self._service = service
        self._show = show
        self.loader = ModelLoader(close_replaced=False)  # the pool closes engines
        self._loading_key: tuple | None = None
        self._executor = ThreadPoolExecutor(2, thread_name_prefix="edit")
        self._running: set[threading.Event] = set()
        self._lock = threading.Lock()
        self.stats = EditStats()

    # -- the instruct engine -------------------------------------------------------------------

    async def engine(self) -> Engine:
        """The instruct engine for the current settings, loading it on first use."""
        settings = self._service.settings
        key = (settings.engine, settings.instruct_load_options())
        if key != self._loading_key:
            self._loading_key = key
            log.info("loading instruct model %s for edits", settings.instruct_model)
            outcome = self.loader.start(settings.instruct_model, lambda: self._load(settings))
            asyncio.ensure_future(self._report(asyncio.wrap_future(outcome)))
        engine = await self.loader.engine(_LOAD_WAIT_S)
        if engine is None:
            raise EditFailed(f"instruct model {self.loader.description} is unavailable: "
                             f"{self.loader.error or 'still loading'}")
        return engine

    def _load(self, settings: Settings) -> Engine:
        pool = self._service.engines
        pool.retain(settings.engine_keys())
        return pool.get(settings.engine, settings.instruct_load_options())

    async def _report(self, outcome: asyncio.Future) -> None:
        result = await outcome
        if result.error is None:
            log.info("instruct model %s ready in %.1fs", result.description, result.seconds)
            return
        message = f"cannot load instruct model {result.description}: {result.error}"
        log.error("%s", message)
        self._show(types.MessageType.Error, f"codellama: {message}. Edits are off until the "
                   "settings name an instruct model that loads.")

    def _edits_off(self) -> bool:
        """Whether the current instruct model failed to load (until the settings change)."""
        settings = self._service.settings
        return (self._loading_key == (settings.engine, settings.instruct_load_options())
                and self.loader.state is LoadState.FAILED)

    # -- computing an edit ---------------------------------------------------------------------

    async def compute(self, target: EditTarget, encoding: Encoding) -> ComputedEdit:
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
        start_line, end_line = _lines(document, target.range, encoding)
        version, text, language = document.version, document.text, document.language_id
        settings = self._service.settings
        engine = await self.engine()
        options = EditOptions(max_new_tokens=settings.edit_max_new_tokens,
                              position_encoding=encoding.value)
        instruction = target.instruction
        plan = await self._in_thread(lambda cancel: plan_edit(
            engine, text, start_line, end_line, instruction, language, cancel, options))
        if target.uri not in self._service.documents \
                or self._service.documents.get(target.uri) is not document \
                or document.version != version:
            self.stats.refused_stale += 1
            raise StaleEdit(f"{target.uri} changed while the edit was computed (version "
                            f"{version}, now {document.version}); nothing was changed")
        return ComputedEdit(target.uri, version, plan)

    def _document(self, uri: str) -> Document:
        try:
            return self._service.documents.get(uri)
        except UnknownDocument as exc:
            raise EditParamsError(f"{exc} (open it first)") from None

    async def _in_thread(self, work: Callable[[threading.Event], EditPlan]) -> EditPlan:
        """Run `work(cancel)` in a thread; cancelling the task sets `cancel` and waits for the
        thread to stop (within one token)."""
        cancel = threading.Event()
        future = asyncio.get_running_loop().run_in_executor(self._executor, self._counted,
                                                            work, cancel)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            cancel.set()
            self.stats.cancelled += 1
            await asyncio.wait([future])
            raise
        except (NoUsableCode, EngineError) as exc:
            self.stats.failed += 1
            if isinstance(exc, EngineError):
                raise EditFailed(f"the generation failed: {exc}") from None
            raise

    def _counted(self, work: Callable[[threading.Event], EditPlan],
                 cancel: threading.Event) -> EditPlan:
        with self._lock:
            self.stats.started += 1
            self.stats.running += 1
            self._running.add(cancel)
        try:
            return work(cancel)
        finally:
            with self._lock:
                self.stats.running -= 1
                self._running.discard(cancel)

    # -- code actions and their command --------------------------------------------------------

    def code_actions(self, params: types.CodeActionParams,
                     client_applies: bool) -> list[types.CodeAction]:
        """The edits offered for a selection and for the diagnostics in the request's context.

        Offered only to clients that can apply a versioned workspace edit, for an open
        document, while the instruct model has not failed to load."""
        uri = params.text_document.uri
        if not client_applies or uri not in self._service.documents or self._edits_off():
            return []
        version = self._service.documents.get(uri).version
        only = params.context.only
        actions = []
        selection = params.range
        if selection.start != selection.end and _wanted(types.CodeActionKind.RefactorRewrite,
                                                        only):
            actions += [_code_action(action, types.CodeActionKind.RefactorRewrite,
                                     EditTarget(uri, selection, action.instruction, version,
                                                action.title))
                        for action in SELECTION_ACTIONS]
        if _wanted(types.CodeActionKind.QuickFix, only):
            for diagnostic in params.context.diagnostics:
                action = fix_action(diagnostic.message, diagnostic.source)
                fix = _code_action(action, types.CodeActionKind.QuickFix,
                                   EditTarget(uri, diagnostic.range, action.instruction, version,
                                              action.title))
                fix.diagnostics = [diagnostic]
                actions.append(fix)
        return actions

    async def execute(self, arguments: list[Any], encoding: Encoding,
                      apply_edit: ApplyEdit) -> dict:
        """Run the edit command: compute the edit, then apply it with workspace/applyEdit as a
        versioned TextDocumentEdit, unless the document changed meanwhile. The outcome is
        shown to the user (window/showMessage) and returned as `{applied, message}`."""
        try:
            target = parse_target(arguments[0] if arguments else None)
        except EditParamsError as exc:
            self._show(types.MessageType.Error, f"Code Llama: bad edit command: {exc}")
            raise JsonRpcInvalidParams(f"{EDIT_COMMAND}: {exc}") from None
        if target.instruction is None or not target.instruction.strip():
            message = ("Code Llama: this edit needs an instruction; the editor must ask for it "
                       f"and pass it as \"instruction\" in the {EDIT_COMMAND} command's argument")
            self._show(types.MessageType.Error, message)
            raise JsonRpcInvalidParams(message)
        try:
            computed = await self.compute(target, encoding)
        except StaleEdit as exc:
            return self._not_applied(types.MessageType.Warning, f"the edit was refused: {exc}")
        except UserError as exc:
            return self._not_applied(types.MessageType.Error, f"no edit: {exc}")
        if not computed.plan.changed:
            self.stats.no_change += 1
            return self._not_applied(types.MessageType.Info, "the model proposed no change")
        answer = await apply_edit(types.ApplyWorkspaceEditParams(
            edit=computed.workspace_edit(), label=target.title or "Code Llama: edit"))
        if not answer.applied:
            reason = answer.failure_reason or "the editor did not apply it"
            return self._not_applied(types.MessageType.Warning, f"the edit was not applied: "
                                     f"{reason}")
        self.stats.applied += 1
        return {"applied": True, "version": computed.version}

    def _not_applied(self, kind: types.MessageType, message: str) -> dict:
        self._show(kind, f"Code Llama: {message}")
        return {"applied": False, "message": message}

    # -- the rest ------------------------------------------------------------------------------

    def report(self) -> dict:
        """The edits' part of `codellama/stats`."""
        return {**vars(self.stats),
                "instruct_model": {"name": self.loader.description,
                                   "state": self.loader.state.value,
                                   "error": self.loader.error},
                "engines_loaded": len(self._service.engines.loaded())}

    def shutdown(self) -> None:
        with self._lock:
            for cancel in self._running:
                cancel.set()
        self._executor.shutdown(wait=False, cancel_futures=True)


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


def _wanted(kind: str, only: Sequence[str] | None) -> bool:
    """Whether a client that asked for `only` these kinds wants actions of `kind`."""
    return not only or any(kind == wanted or kind.startswith(wanted + ".") for wanted in only)


def _code_action(action: EditAction, kind: str, target: EditTarget) -> types.CodeAction:
    return types.CodeAction(title=action.title, kind=kind, command=types.Command(
        title=action.title, command=EDIT_COMMAND, arguments=[target.as_argument()]))


def _plain(value: Any) -> Any:
    """pygls hands custom params over as namedtuples: back to dicts and lists."""
    if hasattr(value, "_asdict"):
        return {key: _plain(item) for key, item in value._asdict().items()}
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
