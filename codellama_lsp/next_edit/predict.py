"""The one entry point: the next edits for a cursor in a document, given the edit history.

The model-free rules go first (rename propagation, then repeated edits); where they find
nothing, the mode's model is asked: `fim` regenerates the best target line with the completion
model ("jump then fill", trying at most `MAX_FILL_TARGETS` targets), `instruct` has Code Llama -
Instruct rewrite the region around the cursor. The answer is a list of alternatives, best
first (for now at most one).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from codellama_lsp.next_edit.edit import NextEdit
from codellama_lsp.next_edit.fill import FillOptions, fill_edit, targets
from codellama_lsp.next_edit.history import Hunk
from codellama_lsp.next_edit.instruct import instruct_edit
from codellama_lsp.next_edit.mode import Mode
from codellama_lsp.next_edit.rename import rename_edit
from codellama_lsp.next_edit.repeat import repeat_edit
from codellama_lsp.syntax import languages
from codellama_lsp.syntax.parsed import ParsedDocument
from fim.engines.base import Engine

MAX_FILL_TARGETS = 2


@dataclass(frozen=True)
class Context:
    """What a prediction is made for: a document (a snapshot), the cursor in it, the document's
    URI and the path shown for it in diffs, and the history, newest first (all documents)."""

    document: ParsedDocument
    cursor: int  # character offset
    uri: str
    label: str
    history: list[Hunk]
    language_id: str = ""

    @property
    def own_hunks(self) -> list[Hunk]:
        """This document's hunks, newest first (the first stands where it was made)."""
        return [hunk for hunk in self.history if hunk.uri == self.uri]


@dataclass(frozen=True)
class ModelOptions:
    fill: FillOptions = FillOptions()
    instruct_max_new_tokens: int | None = None


def rule_edits(context: Context) -> list[NextEdit]:
    """What the model-free rules suggest: the rest of a renaming, else a repeated edit (of a
    renaming, that would be one of the same occurrences)."""
    own = context.own_hunks
    found = rename_edit(context.document, own, context.cursor)
    if found is None and own:
        found = repeat_edit(context.document, own[0])
    return [found] if found is not None else []


def model_edit(context: Context, mode: Mode, engine: Engine, options: ModelOptions,
               cancel: threading.Event | None = None) -> NextEdit | None:
    """The mode's model's next edit, or None."""
    document = context.document
    if mode is Mode.FIM:
        cursor_line = document.text.count("\n", 0, context.cursor)
        for line in targets(document, context.own_hunks, cursor_line)[:MAX_FILL_TARGETS]:
            if cancel is not None and cancel.is_set():
                return None
            edit = fill_edit(engine, document, line, context.history, options.fill, cancel)
            if edit is not None:
                return edit
        return None
    if mode is Mode.INSTRUCT:
        tag = languages.fence_tag(context.language_id) if context.language_id else ""
        return instruct_edit(engine, document.text, context.cursor, context.history,
                             context.label, tag, options.instruct_max_new_tokens, cancel)
    return None


def predict(context: Context, mode: Mode, engine: Engine | None = None,
            options: ModelOptions = ModelOptions(),
            cancel: threading.Event | None = None) -> list[NextEdit]:
    """The next edits, best first: the rules' where they find any, else the model's."""
    if mode is Mode.OFF:
        return []
    found = rule_edits(context)
    if found or mode is Mode.RULES or engine is None:
        return found
    if cancel is not None and cancel.is_set():
        return []
    edit = model_edit(context, mode, engine, options, cancel)
    return [edit] if edit is not None else []
