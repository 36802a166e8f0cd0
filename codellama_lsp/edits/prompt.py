"""The instruct dialog for an edit: the instruction, the selected lines in a fenced block with
their language tag, and a few lines around them, clearly marked as context not to rewrite."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from codellama_lsp.syntax import languages
from fim.instruct import Message

SYSTEM = ("You are an expert programmer who edits code exactly as instructed. You rewrite only "
          "the code you are given to rewrite, keep everything the instruction does not ask to "
          "change, and answer with the rewritten code in one fenced code block.")


@dataclass(frozen=True)
class EditRequest:
    """What the model is asked: text is LF-only, lines with their ends."""

    instruction: str
    code: str  # the selected lines
    before: str  # context lines above the selection
    after: str  # context lines below the selection
    language: str  # fence tag ("" where unknown)


def language_for_path(path: Path | str) -> str:
    """The LSP language id of a file, from its extension ("plaintext" where unknown)."""
    return languages.language_id_for_path(path)


def fence_tag(language_id: str) -> str:
    """The Markdown fence tag for an LSP language id."""
    return languages.fence_tag(language_id)


def fence_for(*texts: str) -> str:
    """A backtick fence longer than any backtick run in `texts` (Markdown's rule)."""
    longest = max((len(run) for text in texts for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _block(fence: str, language: str, text: str) -> str:
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"{fence}{language}\n{body}{fence}"


def edit_dialog(request: EditRequest) -> list[Message]:
    """The dialog (system message and one user turn) that asks for the edit."""
    fence = fence_for(request.code, request.before, request.after)
    parts = []
    if request.before.strip():
        parts.append("Context above the selection (for reference only; do not rewrite or "
                     "repeat it):\n" + _block(fence, request.language, request.before))
    parts.append("SELECTED CODE (rewrite this):\n" + _block(fence, request.language, request.code))
    if request.after.strip():
        parts.append("Context below the selection (for reference only; do not rewrite or "
                     "repeat it):\n" + _block(fence, request.language, request.after))
    parts.append(f"Instruction: {request.instruction.strip()}\n\n"
                 "Apply the instruction to the SELECTED CODE only. Answer with the complete "
                 f"rewritten SELECTED CODE in one {fence}{request.language} fenced block, "
                 "without the context lines.")
    return [Message("system", SYSTEM), Message("user", "\n\n".join(parts))]
