"""The edit engine: selected lines and an instruction in, replacement text and minimal line
edits out. Used by `codellama edit` and by the language server's edit request and code actions.

Lines are 0-based and the selection is whole lines, `start_line..end_line` inclusive; an LSP
range is turned into such lines by `selected_lines`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from codellama_lsp.edits.prompt import EditRequest, edit_dialog
from codellama_lsp.edits.reply import Selection, fit_reply
from codellama_lsp.edits.text_edits import TextEdit, line_edits, split_lines, unified_diff
from codellama_lsp.errors import UserError
from codellama_lsp.syntax import languages
from codellama_lsp.syntax.positions import Encoding
from codellama_lsp.syntax.source_files import detect_newline
from fim.engines.base import Engine, GenerationRequest, GenerationResult, StopReason
from fim.instruct import InstructPrompt, answer_text, build_instruct_prompt, has_special_tags
from fim.prompt import to_lf

DEFAULT_CONTEXT_LINES = 3
# Room left for the answer beyond a copy of the selection (comments, new lines).
_ANSWER_SLACK = 128


class EditError(UserError):
    """An edit that cannot be made (bad range, too long a selection, ...)."""


class EditCancelled(EditError):
    """The edit was cancelled before the model finished."""


@dataclass(frozen=True)
class EditOptions:
    context_lines: int = DEFAULT_CONTEXT_LINES
    max_new_tokens: int | None = None  # None: twice the selection's tokens plus some slack
    temperature: float = 0.0
    top_p: float = 0.95
    seed: int | None = None
    position_encoding: Encoding = Encoding.UTF16  # of the edits' characters


@dataclass
class EditPlan:
    start_line: int  # first selected line, 0-based
    end_line: int  # last selected line, 0-based, inclusive
    old_text: str  # the selected lines as in the document (line ends included)
    new_text: str  # what replaces them, with the document's line ends
    edits: list[TextEdit]  # minimal: changed lines only; positions in the document
    reply: str  # the model's answer, as Meta's chat_completion returns it
    prompt: InstructPrompt
    result: GenerationResult

    @property
    def changed(self) -> bool:
        return bool(self.edits)

    def apply(self, text: str) -> str:
        """The whole document `text` (the one planned on) with the edit made."""
        lines = split_lines(text)
        return ("".join(lines[:self.start_line]) + self.new_text
                + "".join(lines[self.end_line + 1:]))

    def diff(self, text: str, path: str) -> str:
        """A unified diff of the document `text` before and after the edit."""
        return unified_diff(text, self.apply(text), path)


def selected_lines(start_line: int, start_character: int, end_line: int,
                   end_character: int) -> tuple[int, int]:
    """The whole lines (first, last inclusive) an LSP range covers: a range ending at the
    start of a line, as a selection of whole lines does, does not take that line."""
    if end_line > start_line and end_character == 0:
        end_line -= 1
    return start_line, end_line


def plan_edit(engine: Engine, text: str, start_line: int, end_line: int, instruction: str,
              language_id: str, cancel: threading.Event | None = None,
              options: EditOptions = EditOptions()) -> EditPlan:
    """Ask the instruct model `engine` to apply `instruction` to lines `start_line..end_line`
    (0-based, inclusive) of the document `text`; raises EditError, NoUsableCode or
    EditCancelled."""
    check_range(text, start_line, end_line)
    lines = split_lines(text)
    if not instruction.strip():
        raise EditError("the instruction is empty")
    old = "".join(lines[start_line:end_line + 1])
    context = options.context_lines
    before = "".join(lines[max(0, start_line - context):start_line])
    after = "".join(lines[end_line + 1:end_line + 1 + context])
    request = EditRequest(instruction, to_lf(old), to_lf(before), to_lf(after),
                          languages.fence_tag(language_id))
    dialog = edit_dialog(request)
    if has_special_tags(dialog):
        # Meta's chat_completion refuses these too: they would end the prompt's turn early.
        raise EditError("the instruction or the code holds Code Llama - Instruct's control "
                        "tags ([INST], [/INST], <<SYS>>, <</SYS>>); they cannot be sent")
    request, prompt, max_new_tokens = _fit_budget(engine, request, options)
    generation = GenerationRequest(prompt.ids, max_new_tokens, options.temperature,
                                   options.top_p, seed=options.seed, cache_key="edit")
    if cancel is not None:
        generation.cancel = cancel
    result = engine.generate(generation)
    if result.stop_reason == StopReason.CANCELLED:
        raise EditCancelled("the edit was cancelled")
    reply = answer_text(result.text)
    selection = Selection(request.code, request.before, request.after, detect_newline(text),
                          old.endswith("\n"))
    new = fit_reply(reply, selection, request.language)
    edits = line_edits(old, new, start_line, options.position_encoding)
    return EditPlan(start_line, end_line, old, new, edits, reply, prompt, result)


def check_range(text: str, start_line: int, end_line: int) -> None:
    """Raise EditError unless lines `start_line..end_line` (0-based) are lines of `text`."""
    line_count = len(split_lines(text))
    last = max(line_count, 1) - 1  # an empty document has one (empty) line to write into
    if not 0 <= start_line <= last:
        raise EditError(f"line {start_line + 1} is out of range (the file has {line_count} lines)")
    if not start_line <= end_line <= last:
        raise EditError(f"line {end_line + 1} is out of range (the selection must end at or "
                        f"after line {start_line + 1}, and the file has {line_count} lines)")


def _fit_budget(engine: Engine, request: EditRequest,
                options: EditOptions) -> tuple[EditRequest, InstructPrompt, int]:
    """The request, its prompt and the answer length within the context window (dropping the
    context lines before giving up)."""
    tokenizer = engine.tokenizer
    code_tokens = len(tokenizer.encode(request.code))
    wanted = options.max_new_tokens or 2 * code_tokens + _ANSWER_SLACK
    candidates = [request]
    if request.before or request.after:
        candidates.append(EditRequest(request.instruction, request.code, "", "",
                                      request.language))
    for candidate in candidates:
        prompt = build_instruct_prompt(tokenizer, edit_dialog(candidate))
        room = engine.context_window - len(prompt.ids)
        if room >= min(wanted, code_tokens + 16):
            return candidate, prompt, min(wanted, room)
    raise EditError(f"the selection is too long for the model's context window of "
                    f"{engine.context_window} tokens (prompt {len(prompt.ids)} tokens, "
                    f"selection {code_tokens}); select less")
