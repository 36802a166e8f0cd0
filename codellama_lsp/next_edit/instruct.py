"""Code Llama - Instruct predicting the next edit: the recent diffs and an editable region
around the cursor, with a cursor marker, in the project's exact `[INST]` dialog format
(`fim.instruct`); the answer is parsed as an edit's reply is (`edits.reply`) and reduced to a
minimal diff of the region.

The region is `REGION_RADIUS` lines above and below the cursor's line. The diffs are dropped,
oldest first, until the prompt leaves room for the answer in the context window.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from codellama_lsp.edits.prompt import fence_for
from codellama_lsp.edits.reply import NoUsableCode, Selection, fit_reply
from codellama_lsp.edits.text_edits import split_lines
from codellama_lsp.next_edit.edit import NextEdit, line_start, minimal_edit
from codellama_lsp.next_edit.history import Hunk
from codellama_lsp.syntax.source_files import detect_newline
from fim.engines.base import Engine, GenerationRequest, StopReason
from fim.instruct import (
    InstructPrompt,
    Message,
    answer_text,
    build_instruct_prompt,
    has_special_tags,
)
from fim.prompt import to_lf
from fim.tokenizer import Tokenizer

REGION_RADIUS = 5
CURSOR = "<|cursor|>"
ANSWER_SLACK = 64  # room for the answer beyond a copy of the region
SYSTEM = ("You are an expert programmer who predicts the edit a programmer will make next, from "
          "the edits they just made. You rewrite only the code you are given, keep everything "
          "that edit does not change, and answer with the rewritten code in one fenced code "
          "block.")


@dataclass(frozen=True)
class Region:
    start: int  # character offsets of whole lines in the document
    end: int
    marked: str  # the region's text (LF) with CURSOR at the cursor


def region_around(text: str, cursor: int, radius: int = REGION_RADIUS) -> Region:
    """The whole lines within `radius` of the cursor's line."""
    cursor_line = text.count("\n", 0, cursor)
    first = max(0, cursor_line - radius)
    last = min(len(split_lines(text)) - 1, cursor_line + radius)
    start = line_start(text, first)
    end = line_start(text, last + 1)
    return Region(start, end, to_lf(text[start:cursor]) + CURSOR + to_lf(text[cursor:end]))


def _block(fence: str, tag: str, body: str) -> str:
    if body and not body.endswith("\n"):
        body += "\n"
    return f"{fence}{tag}\n{body}{fence}"


def next_edit_dialog(diffs: list[str], label: str, tag: str, marked: str) -> list[Message]:
    """The dialog (system message, one user turn) asking for the next edit of the region."""
    fence = fence_for(marked, *diffs)
    parts = []
    if diffs:
        parts.append("The programmer's recent edits, newest first, as unified diffs:\n"
                     + _block(fence, "diff", "".join(diffs)))
    parts.append(f"The code around the cursor in {label} (the cursor is at {CURSOR}):\n"
                 + _block(fence, tag, marked))
    parts.append("Rewrite this code with the edit the programmer will most likely make next, "
                 "one that carries on from their recent edits. Answer with the complete "
                 f"rewritten code in one {fence}{tag} fenced block, without the {CURSOR} "
                 "marker; where no edit is due, answer with the code unchanged.")
    return [Message("system", SYSTEM), Message("user", "\n\n".join(parts))]


def instruct_prompt(tokenizer: Tokenizer, hunks: list[Hunk], label: str, tag: str,
                    marked: str, context_window: int) -> tuple[InstructPrompt, int] | None:
    """The prompt and the answer's room in tokens, dropping the oldest diffs until both fit;
    None where even the region alone does not fit, or the text holds the dialog's control
    tags (Meta's chat_completion refuses those)."""
    diffs = [hunk.diff() for hunk in hunks]
    wanted = 2 * len(tokenizer.encode(marked)) + ANSWER_SLACK
    while True:
        dialog = next_edit_dialog(diffs, label, tag, marked)
        if has_special_tags(dialog):
            return None
        prompt = build_instruct_prompt(tokenizer, dialog)
        room = context_window - len(prompt.ids)
        if room >= wanted:
            return prompt, wanted
        if not diffs:
            return None
        diffs = diffs[:-1]


def instruct_edit(engine: Engine, text: str, cursor: int, hunks: list[Hunk], label: str,
                  tag: str, max_new_tokens: int | None = None,
                  cancel: threading.Event | None = None) -> NextEdit | None:
    """The model's next edit of the region around `cursor`, as the smallest edit that makes
    it; None where it proposes no change or no usable code."""
    region = region_around(text, cursor)
    built = instruct_prompt(engine.tokenizer, hunks, label, tag, region.marked,
                            engine.context_window)
    if built is None:
        return None
    prompt, room = built
    request = GenerationRequest(prompt.ids, min(room, max_new_tokens or room), 0.0, 1.0,
                                cache_key="next-edit-instruct")
    if cancel is not None:
        request.cancel = cancel
    result = engine.generate(request)
    if result.stop_reason == StopReason.CANCELLED:
        return None
    return reply_edit(text, region, answer_text(result.text), tag)


def reply_edit(text: str, region: Region, reply: str, tag: str) -> NextEdit | None:
    """The model's `reply` for `region` as a minimal edit of `text`."""
    old = text[region.start:region.end]
    selection = Selection(to_lf(old), "", "", detect_newline(text), old.endswith("\n"))
    try:
        new = fit_reply(reply.replace(CURSOR, ""), selection, tag)
    except NoUsableCode:
        return None
    return minimal_edit(text, region.start, region.end, new, "instruct")
