"""Next-edit suggestions in the language server, apart from the protocol's wiring: when they are
computed, for which version, what was offered, shown, accepted and applied.

- **After a pause**: a request waits until its document has rested `nextEditDelayMs` since its
  last change; a change meanwhile (the next keystroke) or a newer request for the document
  cancels it, and it answers no edits at once. Nothing is built before the pause is over (the
  syntax tree's snapshot, the edit history, the model): typing fast computes and shows nothing,
  at the cost of one request and its empty answer per keystroke.
- **Never in a completion's way**: the work runs on its own one-thread scheduler; a change of
  the document and every inline completion request cancel it (the engine stops before its next
  token), so it never holds the model while a completion waits.
- **Versions**: a request for another version than the server's gets no edits; an edit is
  applied (`codellama.applyNextEdit`, the code action) only to the version it was made for.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from codellama_lsp.errors import UserError
from codellama_lsp.lsp.documents import Document, UnknownDocument
from codellama_lsp.lsp.next_edit_wire import (
    ACTION_TITLE,
    APPLY_NEXT_EDIT_COMMAND,
    ExplicitEdit,
    InlineEditRequest,
    NextEditParamsError,
    inline_edit,
    parse_apply_argument,
)
from codellama_lsp.lsp.scheduler import Claim, Scheduler
from codellama_lsp.lsp.settings import Settings
from codellama_lsp.lsp.state import ServerState
from codellama_lsp.lsp.stats import percentile
from codellama_lsp.next_edit.edit import NextEdit
from codellama_lsp.next_edit.fill import FillOptions
from codellama_lsp.next_edit.mode import Mode
from codellama_lsp.next_edit.predict import Context, ModelOptions, predict
from codellama_lsp.syntax.positions import PositionError
from fim.engines.base import Engine, EngineError

log = logging.getLogger(__name__)

_KIND = types.CodeActionKind.QuickFix
OFFERED_KEPT = 64  # edits kept for their acceptance or application
FILL_MAX_NEW_TOKENS = 48  # one line


@dataclass(frozen=True)
class Offered:
    """An edit as offered: its id, the document and version it was made for."""

    id: str
    document: Document
    version: int
    edit: NextEdit

    def as_result(self, encoding_position: Callable[[int], tuple[int, int]]) -> dict:
        return inline_edit(self.document.uri, self.version, encoding_position(self.edit.start),
                           encoding_position(self.edit.end), self.edit.text, self.id)


@dataclass
class NextEditStats:
    requests: int = 0  # textDocument/copilotInlineEdit requests
    answered: int = 0  # requests answered with at least one edit
    stale: int = 0  # requests for a version the server does not have
    cancelled: int = 0  # cut short by a change, a newer request or a completion
    shown: int = 0  # textDocument/didShowInlineEdit of an edit we offered
    accepted: int = 0  # codellama.acceptNextEdit, and edits applied through the server
    applied: int = 0  # edits the server applied (code action, codellama.applyNextEdit)
    refused_stale: int = 0  # applications refused: the document changed
    by_source: dict[str, int] = field(default_factory=dict)  # edits offered, per source
    latencies_ms: list[float] = field(default_factory=list)  # from the pause to the answer

    def report(self) -> dict:
        figures = {key: value for key, value in vars(self).items() if key != "latencies_ms"}
        figures["latency_ms"] = {"count": len(self.latencies_ms),
                                 "p50": percentile(self.latencies_ms, 50),
                                 "p95": percentile(self.latencies_ms, 95)}
        return figures


ApplyEdit = Callable[[types.ApplyWorkspaceEditParams], Awaitable[types.ApplyWorkspaceEditResult]]


class NextEditService:
    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.scheduler = Scheduler(max_threads=1, when_idle=state.freed_memory.give_back)
        self.stats = NextEditStats()
        self.cache_key = f"next-edit-{uuid.uuid4().hex[:12]}"
        self._changed_at: dict[str, float] = {}  # monotonic time of each document's last change
        self._offered: OrderedDict[str, Offered] = OrderedDict()
        self._latest: dict[str, list[str]] = {}  # the ids last offered per document
        self._ids = itertools.count(1)

    # -- what the documents and completions tell us ---------------------------------------------

    def document_changed(self, uri: str) -> None:
        """The next keystroke: the pause starts again, and the work for `uri` stops."""
        self._changed_at[uri] = time.monotonic()
        self.scheduler.cancel(uri)
        self._latest.pop(uri, None)

    def yield_to_completion(self) -> None:
        """An inline completion is asked for: stop what runs now (within one token)."""
        self.scheduler.runner.cancel_all()

    def forget(self, uri: str) -> None:
        self.scheduler.forget(uri)
        self.scheduler.forget(f"{uri}#action")
        self._changed_at.pop(uri, None)
        self._latest.pop(uri, None)

    def shutdown(self) -> None:
        self.scheduler.shutdown()

    # -- textDocument/copilotInlineEdit ---------------------------------------------------------

    async def suggest(self, request: InlineEditRequest) -> list[dict]:
        """The edits for `request` (the result's `edits`): none where next edits are off, the
        document is unknown or at another version, its language is off, or a change came
        first. Raises JsonRpcInvalidParams for a position outside the document."""
        self.stats.requests += 1
        settings = self.state.settings
        try:
            document = self.state.documents.get(request.uri)
        except UnknownDocument as exc:
            log.info("no next edit: %s", exc)
            return []
        if request.version != document.version:
            self.stats.stale += 1
            log.info("no next edit: %s is at version %d, not %d", request.uri,
                     document.version, request.version)
            return []
        try:
            offset = document.index.offset(request.line, request.character,
                                           self.state.encoding)
        except PositionError as exc:
            raise JsonRpcInvalidParams(f"{exc} in {request.uri}") from None
        if Mode(settings.next_edits) is Mode.OFF \
                or not settings.enabled_for(document.language_id):
            return []
        offered = await self._compute(document, offset, settings, document.uri, pause=True)
        return [item.as_result(self._converter(item.document)) for item in offered]

    async def _compute(self, document: Document, offset: int, settings: Settings, key: str,
                       pause: bool) -> list[Offered]:
        """Predict for the current version of `document` (after the pause where `pause`) on
        the scheduler's `key` (a newer call with the same key supersedes this one); the edits
        offered, [] where cut short."""
        version = document.version
        now = time.monotonic()
        rests_at = self._changed_at.get(document.uri, 0.0) + settings.next_edit_delay_ms / 1000
        wait = max(0.0, rests_at - now) if pause else 0.0
        try:
            with self.scheduler.claim(key) as claim:
                edits = await self._predict(claim, wait, document, offset, settings)
        except EngineError as exc:
            log.error("next edit failed: %s", exc)
            return []
        if edits is None or not self.state.documents.is_current(document, version):
            self.stats.cancelled += 1
            return []
        # From the moment the document had rested (or the request came, if later).
        self.stats.latencies_ms.append((time.monotonic() - (now + wait)) * 1000)
        offered = [self._offer(document, version, edit) for edit in edits]
        if offered:
            self.stats.answered += 1
            self._latest[document.uri] = [item.id for item in offered]
        return offered

    async def _predict(self, claim: Claim, wait: float, document: Document, offset: int,
                       settings: Settings) -> list[NextEdit] | None:
        """The edits for `document` as it is once `wait` is over; None where the claim was
        stopped first (a change, a newer request). The context (the syntax tree, the history)
        is built only after the wait: a request the next keystroke cancels costs next to
        nothing."""
        if not await claim.pause(wait):
            return None
        mode = Mode(settings.next_edits)
        engine = await self._engine(mode, settings)
        if claim.stopped:  # changed while the engine was looked up
            return None
        context = Context(document.parsed.snapshot(), offset, document.uri,
                          self.state.label(document), self.state.history.recent(document.uri),
                          document.language_id)
        options = ModelOptions(FillOptions(min(FILL_MAX_NEW_TOKENS, settings.max_new_tokens),
                                           settings.fim_format == "spm", self.cache_key),
                               settings.edit_max_new_tokens)
        return await self.scheduler.run_claimed(
            claim, lambda cancel: predict(context, mode, engine, options, cancel))

    async def _engine(self, mode: Mode, settings: Settings) -> Engine | None:
        """The model a mode asks for, if it is ready (a request never waits for a load)."""
        if mode is Mode.FIM:
            return await self.state.models.completion.engine(0)
        if mode is Mode.INSTRUCT:
            return await self.state.models.instruct_engine(settings, 0)
        return None

    def _offer(self, document: Document, version: int, edit: NextEdit) -> Offered:
        offered = Offered(f"next-edit-{next(self._ids)}", document, version, edit)
        self._offered[offered.id] = offered
        while len(self._offered) > OFFERED_KEPT:
            self._offered.popitem(last=False)
        self.stats.by_source[edit.source] = self.stats.by_source.get(edit.source, 0) + 1
        return offered

    def _converter(self, document: Document) -> Callable[[int], tuple[int, int]]:
        index, encoding = document.index, self.state.encoding
        return lambda offset: index.position(offset, encoding)

    # -- shown, accepted -------------------------------------------------------------------------

    def shown(self, edit_id: str | None) -> None:
        """textDocument/didShowInlineEdit of one of our edits (others are ignored)."""
        if edit_id in self._offered:
            self.stats.shown += 1

    def accept(self, edit_id: object) -> bool:
        """codellama.acceptNextEdit [id]: whether the id was one of ours."""
        if not isinstance(edit_id, str) or self._offered.pop(edit_id, None) is None:
            return False
        self.stats.accepted += 1
        return True

    # -- the code action and the command that applies an edit -----------------------------------

    async def code_actions(self, params: types.CodeActionParams,
                           client_applies: bool) -> list[types.CodeAction]:
        """"Apply next edit" for the cursor (the start of the request's range): the edits last
        offered for this version, else, for an invoked request (or one that does not say), the
        edits computed now, else the rules' (an automatic request never runs the model)."""
        uri, only = params.text_document.uri, params.context.only
        settings = self.state.settings
        if not client_applies or uri not in self.state.documents \
                or Mode(settings.next_edits) is Mode.OFF \
                or (only and not any(_KIND == kind or _KIND.startswith(kind + ".")
                                     for kind in only)):
            return []
        document = self.state.documents.get(uri)
        if not settings.enabled_for(document.language_id):
            return []
        start = params.range.start
        try:
            offset = document.index.offset(start.line, start.character, self.state.encoding)
        except PositionError as exc:
            log.info("no next edit action: %s in %s", exc, uri)
            return []
        offered = [self._offered[i] for i in self._latest.get(uri, []) if i in self._offered
                   and self._offered[i].version == document.version]
        if not offered:
            automatic = params.context.trigger_kind == types.CodeActionTriggerKind.Automatic
            computing = settings if not automatic else _rules_only(settings)
            # Its own key: a code action does not supersede a request for next edits.
            offered = await self._compute(document, offset, computing, f"{uri}#action",
                                          pause=False)
        return [_action(item, rank) for rank, item in enumerate(offered)]

    async def apply(self, arguments: list, apply_edit: ApplyEdit,
                    document_changes: bool) -> dict:
        """codellama.applyNextEdit [id | edit object]: apply the edit with workspace/applyEdit
        (versioned where the client takes documentChanges) unless its document changed; the
        outcome is shown (window/showMessage) and returned as {applied, message?}."""
        try:
            document, version, edit_id, text_edit = self._resolve(
                parse_apply_argument(arguments[0] if arguments else None))
        except NextEditParamsError as exc:
            self.state.window.show(types.MessageType.Error, f"Code Llama: {exc}")
            raise JsonRpcInvalidParams(f"{APPLY_NEXT_EDIT_COMMAND}: {exc}") from None
        except UserError as exc:
            return self._not_applied(types.MessageType.Warning, str(exc))
        if not self.state.documents.is_current(document, version):
            self.stats.refused_stale += 1
            return self._not_applied(types.MessageType.Warning, (
                f"the next edit was refused: {document.uri} changed since it was offered "
                f"(version {version}, now {document.version}); nothing was changed"))
        answer = await apply_edit(types.ApplyWorkspaceEditParams(
            edit=_workspace_edit(document.uri, version, text_edit, document_changes),
            label="Code Llama: next edit"))
        if not answer.applied:
            return self._not_applied(types.MessageType.Warning, "the next edit was not applied: "
                                     + (answer.failure_reason or "the editor did not apply it"))
        self.stats.applied += 1
        if edit_id is not None:
            self.accept(edit_id)
        return {"applied": True, "version": version}

    def _resolve(self, target: str | ExplicitEdit
                 ) -> tuple[Document, int, str | None, types.TextEdit]:
        """The document, version, id and edit an apply argument names; NextEditParamsError
        for a range outside the document, UserError for an edit or document unknown."""
        if isinstance(target, str):
            offered = self._offered.get(target)
            if offered is None:
                raise UserError(f"no next edit {target!r} (it was applied, or is too old); "
                                "nothing was changed")
            position = self._converter(offered.document)
            return offered.document, offered.version, offered.id, types.TextEdit(
                _range(position(offered.edit.start), position(offered.edit.end)),
                offered.edit.text)
        try:
            document = self.state.documents.get(target.uri)
        except UnknownDocument as exc:
            raise UserError(f"{exc}; nothing was changed") from None
        if target.version == document.version:
            try:
                for line, character in (target.start, target.end):
                    document.index.offset(line, character, self.state.encoding)
            except PositionError as exc:
                raise NextEditParamsError(f"bad range: {exc}") from None
        return document, target.version, target.id, types.TextEdit(
            _range(target.start, target.end), target.text)

    def _not_applied(self, kind: types.MessageType, message: str) -> dict:
        self.state.window.show(kind, f"Code Llama: {message}")
        return {"applied": False, "message": message}

    def report(self) -> dict:
        """The next edits' part of `codellama/stats`."""
        return {**self.stats.report(), "mode": self.state.settings.next_edits,
                "history_hunks": len(self.state.history)}


def _rules_only(settings: Settings) -> Settings:
    mode = Mode.RULES.value if settings.next_edits != Mode.OFF.value else settings.next_edits
    return dataclasses.replace(settings, next_edits=mode)


def _range(start: tuple[int, int], end: tuple[int, int]) -> types.Range:
    return types.Range(types.Position(*start), types.Position(*end))


def _action(offered: Offered, rank: int) -> types.CodeAction:
    title = ACTION_TITLE if rank == 0 else f"{ACTION_TITLE} ({rank + 1})"
    return types.CodeAction(title=title, kind=types.CodeActionKind.QuickFix,
                            command=types.Command(title=title, command=APPLY_NEXT_EDIT_COMMAND,
                                                  arguments=[offered.id]))


def _workspace_edit(uri: str, version: int, edit: types.TextEdit,
                    document_changes: bool) -> types.WorkspaceEdit:
    if not document_changes:
        return types.WorkspaceEdit(changes={uri: [edit]})
    return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(
        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
        edits=[edit])])
