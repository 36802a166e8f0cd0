"""The edits offered as code actions: on a selection, and on a diagnostic ("fix <message>")."""

from __future__ import annotations

from dataclasses import dataclass

TITLE_PREFIX = "Code Llama: "


@dataclass(frozen=True)
class EditAction:
    title: str  # shown in the editor's code action menu
    instruction: str | None  # None: ask the user for the instruction


SELECTION_ACTIONS = (
    EditAction(TITLE_PREFIX + "edit selection…", None),
    EditAction(TITLE_PREFIX + "add docstring",
               "Add a docstring (or doc comment, as is usual for the language) to each function "
               "and class. Change nothing else."),
    EditAction(TITLE_PREFIX + "add type hints",
               "Add type annotations to the parameters, return values and variables where the "
               "language supports them. Change nothing else."),
)


def fix_action(message: str, source: str | None = None) -> EditAction:
    """The action that asks the model to fix the problem a diagnostic reports."""
    first_line = message.strip().splitlines()[0] if message.strip() else "this problem"
    short = first_line if len(first_line) <= 60 else first_line[:59] + "…"
    origin = f" reported by {source}" if source else ""
    return EditAction(f"{TITLE_PREFIX}fix {short}",
                      f"Fix this problem{origin}: {message.strip()}\n"
                      "Change only what the fix needs.")
