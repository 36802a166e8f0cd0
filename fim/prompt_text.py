"""Code Llama prompts as text, for servers that take text (TGI, llama.cpp, Ollama, OpenAI clients).

The text form is the conventional one of Meta's model card: PSM
`<PRE> {prefix} <SUF>{suffix} <MID>`, SPM `<PRE> <SUF>{suffix} <MID> {prefix}`, left to right just
the prefix. `prompt_parts` reads the parts back out of prompt ids, and `parse_prompt_text` turns
such text into exactly the ids that `build_prompt` gives, so a text prompt and its token ids
complete alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fim.prompt import FimFormat, build_prompt
from fim.tokenizer import Tokenizer, TokenizerError

_SPM = re.compile(r"<PRE> <SUF>(.*) <MID> (.*)", re.DOTALL)
_PSM = re.compile(r"<PRE> (.*) <SUF>(.*) <MID>", re.DOTALL)
_MARKERS = ("<PRE>", "<SUF>", "<MID>")


@dataclass(frozen=True)
class PromptParts:
    format: FimFormat
    prefix: str
    suffix: str


def prompt_parts(tokenizer: Tokenizer, ids: list[int]) -> PromptParts:
    """Prefix and suffix text of prompt ids built by `build_prompt` (any format)."""
    body = ids[1:] if ids and ids[0] == tokenizer.bos_id else list(ids)
    fim = tokenizer.fim
    if fim is None or not body or body[0] != fim.prefix:
        return PromptParts(FimFormat.L2R, tokenizer.decode(body), "")
    try:
        suf = body.index(fim.suffix)
        mid = body.index(fim.middle)
    except ValueError:
        raise TokenizerError("prompt ids have <PRE> without <SUF> and <MID>") from None
    if suf == 1:  # SPM: <PRE> <SUF> suffix <MID> prefix
        return PromptParts(FimFormat.SPM, tokenizer.decode(body[mid + 1:]),
                           tokenizer.decode_infilling(body[2:mid]))
    return PromptParts(FimFormat.PSM, tokenizer.decode(body[1:suf]),
                       tokenizer.decode_infilling(body[suf + 1:mid]))


def render_prompt_text(parts: PromptParts) -> str:
    """The conventional text form of a prompt (a server adds BOS itself)."""
    if parts.format is FimFormat.PSM:
        return f"<PRE> {parts.prefix} <SUF>{parts.suffix} <MID>"
    if parts.format is FimFormat.SPM:
        return f"<PRE> <SUF>{parts.suffix} <MID> {parts.prefix}"
    return parts.prefix


def parse_prompt_text(tokenizer: Tokenizer, text: str) -> list[int]:
    """Prompt ids for text in the conventional form (text without markers: left to right)."""
    if not any(marker in text for marker in _MARKERS):
        return build_prompt(tokenizer, text, "", FimFormat.L2R).ids
    if not tokenizer.has_fim:
        raise TokenizerError("the prompt has FIM markers but the model has no FIM pieces")
    match = _SPM.fullmatch(text)
    if match:
        return build_prompt(tokenizer, match.group(2), match.group(1), FimFormat.SPM).ids
    match = _PSM.fullmatch(text)
    if match:
        return build_prompt(tokenizer, match.group(1), match.group(2), FimFormat.PSM).ids
    raise TokenizerError("the prompt has <PRE>/<SUF>/<MID> markers but not in Code Llama's form "
                         "'<PRE> {prefix} <SUF>{suffix} <MID>'")
