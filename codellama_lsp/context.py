"""The prompt for a cursor: the text around it, fitted into the model's token budget."""

from __future__ import annotations

from fim.budget import fit_window
from fim.prompt import FimFormat, Prompt, build_prompt, overhead_tokens, to_lf
from fim.tokenizer import Tokenizer


def prompt_budget(context_window: int, max_new_tokens: int, fmt: FimFormat) -> int:
    """Tokens left for prefix and suffix once the sentinels and the answer have their room."""
    return context_window - max_new_tokens - overhead_tokens(fmt)


def prompt_for_cursor(tokenizer: Tokenizer, prefix: str, suffix: str, fmt: FimFormat,
                      context_window: int, max_new_tokens: int) -> Prompt:
    """Prompt ids for the text before and after the cursor, as much of it as fits."""
    prefix, suffix = to_lf(prefix), to_lf(suffix)
    if fmt is FimFormat.L2R:
        suffix = ""
    budget = prompt_budget(context_window, max_new_tokens, fmt)
    window = fit_window(tokenizer, prefix, suffix, budget,
                        prefix_share=1.0 if fmt is FimFormat.L2R else 0.75)
    return build_prompt(tokenizer, window.prefix, window.suffix, fmt)
