"""The wire of next-edit suggestions, as GitHub Copilot's language server has it (its README,
"Next Edit Suggestions"), so that clients written for Copilot's next edits (Neovim's
copilot-lsp, Zed) work unchanged:

- request `textDocument/copilotInlineEdit`, params `{textDocument: {uri, version}, position}`
  (the version is required), result `{edits: [{text, textDocument: {uri, version}, range,
  command}]}`: the edits are alternatives, not a sequence; `command` is run with
  `workspace/executeCommand` after the user accepted the edit;
- notification `textDocument/didShowInlineEdit`, params `{item: {command: {arguments: [id]}}}`
  (the item shown; only the command's first argument is read).

Ours besides: the command `codellama.applyNextEdit`, whose argument is an edit's id or an edit
object as the request returned it; the server checks the version and range and applies it with
`workspace/applyEdit` (one undo step), as the code action "Apply next edit" does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from codellama_lsp.errors import UserError
from codellama_lsp.lsp.code_actions import plain

INLINE_EDIT_METHOD = "textDocument/copilotInlineEdit"
DID_SHOW_METHOD = "textDocument/didShowInlineEdit"
ACCEPT_NEXT_EDIT_COMMAND = "codellama.acceptNextEdit"
APPLY_NEXT_EDIT_COMMAND = "codellama.applyNextEdit"
ACTION_TITLE = "Apply next edit"


class NextEditParamsError(UserError):
    """Malformed params or command arguments."""


@dataclass(frozen=True)
class InlineEditRequest:
    uri: str
    version: int
    line: int
    character: int


@dataclass(frozen=True)
class ExplicitEdit:
    """An edit object handed back by a client: `{text, textDocument: {uri, version}, range}`."""

    uri: str
    version: int
    start: tuple[int, int]
    end: tuple[int, int]
    text: str
    id: str | None  # its command's first argument, where it has one


def parse_request(raw: Any) -> InlineEditRequest:
    """The params of `textDocument/copilotInlineEdit`; NextEditParamsError if malformed."""
    raw = plain(raw)
    if not isinstance(raw, dict):
        raise NextEditParamsError(f"{INLINE_EDIT_METHOD} params must be {{textDocument: "
                                  "{uri, version}, position: {line, character}}")
    uri, version = _document(raw.get("textDocument"))
    line, character = _position(raw.get("position"), "position")
    return InlineEditRequest(uri, version, line, character)


def shown_id(raw: Any) -> str | None:
    """The id in `textDocument/didShowInlineEdit`'s `{item: {command: {arguments: [id]}}}`."""
    raw = plain(raw)
    item = raw.get("item") if isinstance(raw, dict) else None
    return _command_id(item.get("command") if isinstance(item, dict) else None)


def parse_apply_argument(raw: Any) -> str | ExplicitEdit:
    """`codellama.applyNextEdit`'s argument: an edit's id, or an edit object."""
    raw = plain(raw)
    if isinstance(raw, str) and raw:
        return raw
    if not isinstance(raw, dict):
        raise NextEditParamsError(f"{APPLY_NEXT_EDIT_COMMAND} takes an edit's id or an edit object "
                                  "{text, textDocument: {uri, version}, range}")
    uri, version = _document(raw.get("textDocument"))
    selection = raw.get("range")
    if not isinstance(selection, dict):
        raise NextEditParamsError("range must be {start: {line, character}, end: {line, "
                                  "character}}")
    start = _position(selection.get("start"), "range.start")
    end = _position(selection.get("end"), "range.end")
    if end < start:
        raise NextEditParamsError("range ends before it starts")
    text = raw.get("text")
    if not isinstance(text, str):
        raise NextEditParamsError("text must be a string")
    return ExplicitEdit(uri, version, start, end, text, _command_id(raw.get("command")))


def inline_edit(uri: str, version: int, start: tuple[int, int], end: tuple[int, int],
                text: str, edit_id: str) -> dict:
    """One entry of the request's `edits`."""
    return {"text": text, "textDocument": {"uri": uri, "version": version},
            "range": {"start": _json_position(start), "end": _json_position(end)},
            "command": {"title": "Accept next edit", "command": ACCEPT_NEXT_EDIT_COMMAND,
                        "arguments": [edit_id]}}


def _json_position(position: tuple[int, int]) -> dict:
    return {"line": position[0], "character": position[1]}


def _document(raw: Any) -> tuple[str, int]:
    uri = raw.get("uri") if isinstance(raw, dict) else None
    if not isinstance(uri, str) or not uri:
        raise NextEditParamsError("textDocument.uri must be a string")
    version = raw.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise NextEditParamsError("textDocument.version must be an integer (the version of "
                                  "the document the client shows)")
    return uri, version


def _position(raw: Any, name: str) -> tuple[int, int]:
    line = raw.get("line") if isinstance(raw, dict) else None
    character = raw.get("character") if isinstance(raw, dict) else None
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
               for n in (line, character)):
        raise NextEditParamsError(f"{name} must be {{line, character}} with non-negative "
                                  "integers")
    assert isinstance(line, int) and isinstance(character, int)
    return line, character


def _command_id(command: Any) -> str | None:
    arguments = command.get("arguments") if isinstance(command, dict) else None
    if isinstance(arguments, list) and arguments and isinstance(arguments[0], str):
        return arguments[0]
    return None
