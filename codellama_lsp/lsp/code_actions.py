"""The code actions offered for a selection and for diagnostics, and the argument of the
`codellama.edit` command they carry (which also serves as the `codellama/edit` request's
params)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lsprotocol import types
from lsprotocol.converters import get_converter

from codellama_lsp.edits.actions import SELECTION_ACTIONS, EditAction, fix_action
from codellama_lsp.errors import UserError

EDIT_COMMAND = "codellama.edit"
_converter = get_converter()


class EditParamsError(UserError):
    """The request's params or the command's arguments are malformed."""


@dataclass(frozen=True)
class EditTarget:
    """What to edit: `{textDocument: {uri}, range, instruction, version?, title?}`."""

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


def parse_target(raw: Any) -> EditTarget:
    """An EditTarget from request params or a command argument; EditParamsError if malformed."""
    raw = plain(raw)
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


def code_actions(params: types.CodeActionParams, version: int) -> list[types.CodeAction]:
    """The edits offered for the request's selection (refactor.rewrite) and for the diagnostics
    in its context (quickfix), for the document at `version`."""
    uri, only, selection = params.text_document.uri, params.context.only, params.range
    actions = []
    if selection.start != selection.end and _wanted(types.CodeActionKind.RefactorRewrite, only):
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


def _wanted(kind: str, only: Sequence[str] | None) -> bool:
    """Whether a client that asked for `only` these kinds wants actions of `kind`."""
    return not only or any(kind == wanted or kind.startswith(wanted + ".") for wanted in only)


def _code_action(action: EditAction, kind: str, target: EditTarget) -> types.CodeAction:
    return types.CodeAction(title=action.title, kind=kind, command=types.Command(
        title=action.title, command=EDIT_COMMAND, arguments=[target.as_argument()]))


def plain(value: Any) -> Any:
    """pygls hands custom params over as namedtuples: back to dicts and lists."""
    if hasattr(value, "_asdict"):
        return {key: plain(item) for key, item in value._asdict().items()}
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value
