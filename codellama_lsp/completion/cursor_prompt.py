"""The prompt for a cursor: the text around it (and, in a document, code from other files),
fitted into the model's token budget."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from codellama_lsp.completion.line_tokens import line_tokenizer
from codellama_lsp.completion.snippets import Snippet, SnippetSource, render
from codellama_lsp.syntax.parsed import ParsedDocument
from fim.budget import PREFIX_SHARE, Edges, Window, fit_window, line_counter
from fim.prompt import FimFormat, Prompt, build_prompt, overhead_tokens, to_lf
from fim.tokenizer import Tokenizer


def prompt_budget(context_window: int, max_new_tokens: int, fmt: FimFormat) -> int:
    """Tokens left for prefix and suffix once the sentinels and the answer have their room."""
    return context_window - max_new_tokens - overhead_tokens(fmt)


def prefix_share(fmt: FimFormat) -> float:
    """The share of the budget the prefix may take when both sides are longer than it: all
    of it left to right (no suffix), else `PREFIX_SHARE`."""
    return 1.0 if fmt is FimFormat.L2R else PREFIX_SHARE


def prompt_for_cursor(tokenizer: Tokenizer, prefix: str, suffix: str, fmt: FimFormat,
                      context_window: int, max_new_tokens: int, heal: bool = False) -> Prompt:
    """Prompt ids for the text before and after the cursor, as much of it as fits (with `heal`,
    backed off before a partial word at the cursor: `fim.healing`)."""
    prefix, suffix = to_lf(prefix), to_lf(suffix)
    if fmt is FimFormat.L2R:
        suffix = ""
    budget = prompt_budget(context_window, max_new_tokens, fmt)
    window = fit_window(tokenizer, prefix, suffix, budget, prefix_share=prefix_share(fmt))
    return build_prompt(tokenizer, window.prefix, window.suffix, fmt, heal)


SNIPPET_SHARE = 0.25  # cross-file snippets get at most this share of the prompt budget


@dataclass(frozen=True)
class DocumentPrompt:
    prompt: Prompt
    window: Window  # the document's text around the cursor that the prompt holds (LF)
    snippets: list[Snippet]  # cross-file snippets placed before the prefix, best first
    snippet_tokens: int


def document_prompt(tokenizer: Tokenizer, document: ParsedDocument, offset: int,
                    fmt: FimFormat, context_window: int, max_new_tokens: int,
                    snippets: SnippetSource | None = None, heal: bool = False) -> DocumentPrompt:
    """The prompt for a cursor in a document: cross-file snippets as comments (at most a quarter
    of the budget), then as much of the text around the cursor as fits; with `heal`, backed off
    before a partial word at the cursor (`fim.healing`)."""
    tokenizer = line_tokenizer(tokenizer)  # same ids, each line encoded once
    text = document.text
    budget = prompt_budget(context_window, max_new_tokens, fmt)
    count = _counter(tokenizer)
    # Only the lines that can fit are looked at: a large file costs what its window costs.
    start = _prefix_start(text, offset, budget, count)
    end = offset if fmt is FimFormat.L2R else _suffix_end(text, offset, budget, count)
    prefix, suffix = to_lf(text[start:offset]), to_lf(text[offset:end])
    edges = Edges(lines_before=text.count("\n", 0, start),
                  lines_after=text.count("\n", end) if end < len(text) else 0)
    comment = document.language.line_comment if document.language else "#"
    chosen: list[Snippet] = []
    used = 0
    if snippets is not None and budget > 0:
        chosen, used = _fit_snippets(snippets.snippets_for(document, offset), comment,
                                     int(budget * SNIPPET_SHARE), count)
    window = fit_window(tokenizer, prefix, suffix, budget - used, count=count,
                        prefix_share=prefix_share(fmt), edges=edges)
    if chosen:
        # Definitions the window already shows are not shown twice.
        cursor_line = text.count("\n", 0, offset)
        kept = [s for s in chosen if not _in_window(s, document, window, cursor_line)]
        if len(kept) != len(chosen):
            chosen, used = kept, sum(count(render([s], comment)) for s in kept)
    block = render(chosen, comment)
    prompt = build_prompt(tokenizer, block + window.prefix, window.suffix, fmt, heal)
    while chosen and len(prompt.ids) > budget + overhead_tokens(fmt):
        chosen = chosen[:-1]  # tokens merged across the seam: drop the last snippet
        block = render(chosen, comment)
        prompt = build_prompt(tokenizer, block + window.prefix, window.suffix, fmt, heal)
    return DocumentPrompt(prompt, window, chosen, used)


def _fit_snippets(candidates: list[Snippet], comment: str, budget: int,
                  count: Callable[[str], int]) -> tuple[list[Snippet], int]:
    """The best snippets whose comment blocks fit in `budget` tokens, without repeats."""
    chosen: list[Snippet] = []
    texts: set[str] = set()
    used = 0
    for snippet in candidates:
        if snippet.text in texts:
            continue
        cost = count(render([snippet], comment))
        if used + cost > budget:
            continue
        chosen.append(snippet)
        texts.add(snippet.text)
        used += cost
        if budget - used < 8:
            break
    return chosen, used


def _in_window(snippet: Snippet, document: ParsedDocument, window: Window,
               cursor_line: int) -> bool:
    """Whether the window already holds this snippet's lines."""
    if document.path is not None and snippet.file == document.path or (
            document.path is None and snippet.file == "<document>"):
        first = cursor_line - window.prefix.count("\n")
        last = cursor_line + window.suffix.count("\n")
        return not (snippet.last_line < first or snippet.first_line > last)
    return snippet.text in window.prefix or snippet.text in window.suffix


def _prefix_start(text: str, offset: int, budget: int, count: Callable[[str], int]) -> int:
    """Where text[:offset] starts to matter: the first line that could still fit. Lines are
    added walking up from the cursor until their tokens pass `budget` (plus one line), so the
    window fitting that follows never looks at the rest of a large file; it keeps the same lines
    it would have."""
    lf = to_lf if "\r" in text else str
    start = text.rfind("\n", 0, offset) + 1  # the cursor's line is always kept
    used = 0
    while start > 0 and used <= budget:
        previous = text.rfind("\n", 0, start - 1) + 1
        used += count(lf(text[previous:start]))
        start = previous
    return start


def _suffix_end(text: str, offset: int, budget: int, count: Callable[[str], int]) -> int:
    """Where text[offset:] stops mattering: after the last line that could still fit (as
    `_prefix_start`)."""
    lf = to_lf if "\r" in text else str
    end = text.find("\n", offset)
    used = 0
    while end >= 0 and used <= budget:
        following = text.find("\n", end + 1)
        line_end = len(text) if following < 0 else following + 1
        used += count(lf(text[end + 1:line_end]))
        end = following
    return len(text) if end < 0 else end + 1


@lru_cache(maxsize=8)
def _counter(tokenizer: Tokenizer) -> Callable[[str], int]:
    """A per-tokenizer cache of line token counts: lines repeat from one prompt to the next."""
    return line_counter(tokenizer)
