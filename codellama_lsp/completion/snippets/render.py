"""Snippets as the comment blocks the prompt carries before the prefix."""

from __future__ import annotations

from collections.abc import Iterable

from codellama_lsp.completion.snippets.ranking import Snippet


def render(snippets: Iterable[Snippet], comment: str) -> str:
    """The snippets as comment blocks, each starting with its path, each line ending in LF."""
    blocks = []
    for snippet in snippets:
        lines = [f"{comment} Path: {snippet.path}"]
        lines += [f"{comment} {line}".rstrip() for line in snippet.text.split("\n")]
        blocks.append("\n".join(lines) + "\n")
    return "".join(blocks)
