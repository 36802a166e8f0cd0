"""Code Llama prompt token ids: PSM, SPM (Meta's `infilling_prompt_tokens`) and left to right."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from fim.healing import back_off
from fim.tokenizer import Tokenizer, TokenizerError


class FimFormat(str, enum.Enum):
    PSM = "psm"  # <PRE> prefix <SUF>suffix <MID>
    SPM = "spm"  # <PRE> <SUF>suffix <MID> prefix: typing at the cursor changes only the tail
    L2R = "l2r"  # prefix only, for models without FIM pieces


@dataclass(frozen=True)
class Prompt:
    ids: list[int]
    text: str  # a readable rendering, for logs and `codellama prompt`
    format: FimFormat
    # Token healing: the text the prompt's end was backed off by (the answer must start with
    # it) and the ids it took off; "" and () where the cursor is not inside a word.
    heal_text: str = ""
    heal_ids: tuple[int, ...] = ()


def to_lf(text: str) -> str:
    """Line ends as the model was trained on them: CRLF and lone CR become LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def choose_format(tokenizer: Tokenizer, spm: bool = False, strict: bool = False) -> FimFormat:
    """The format a request gets: L2R without FIM pieces, where SPM asked for by name
    (`strict`: a command's option) is an error and a default or a setting falls back."""
    if not tokenizer.has_fim:
        if spm and strict:
            raise TokenizerError(f"{tokenizer.source}: tokenizer has no FIM pieces "
                                 "(e.g. Code Llama 34B/70B or Python); --fim spm needs them")
        return FimFormat.L2R
    return FimFormat.SPM if spm else FimFormat.PSM


def build_prompt(tokenizer: Tokenizer, prefix: str, suffix: str, fmt: FimFormat,
                 heal: bool = False) -> Prompt:
    """Prompt ids for `prefix`/`suffix` (already LF-normalised) in format `fmt`; with `heal`,
    backed off to before the partial word at the prefix's end (`fim.healing`)."""
    prefix_ids = tokenizer.encode(prefix)
    cut, heal_text = back_off(tokenizer, prefix, prefix_ids) if heal else (0, "")
    heal_ids = tuple(prefix_ids[len(prefix_ids) - cut:]) if cut else ()
    if cut:
        prefix_ids = prefix_ids[:-cut]
        prefix = prefix[: max(0, len(prefix) - len(heal_text))]
    if fmt is FimFormat.L2R:
        return Prompt([tokenizer.bos_id] + prefix_ids, "<s>" + prefix, fmt, heal_text, heal_ids)
    fim = tokenizer.fim
    if fim is None:
        raise TokenizerError(f"{tokenizer.source}: tokenizer has no FIM pieces")
    if fmt is FimFormat.PSM:
        ids = ([tokenizer.bos_id, fim.prefix] + prefix_ids + [fim.suffix]
               + tokenizer.encode_infilling(suffix) + [fim.middle])
        return Prompt(ids, f"<s><PRE> {prefix} <SUF>{suffix} <MID>", fmt, heal_text, heal_ids)
    ids = ([tokenizer.bos_id, fim.prefix, fim.suffix] + tokenizer.encode_infilling(suffix)
           + [fim.middle] + prefix_ids)
    return Prompt(ids, f"<s><PRE> <SUF>{suffix} <MID> {prefix}", fmt, heal_text, heal_ids)


def overhead_tokens(fmt: FimFormat) -> int:
    """Ids a prompt of format `fmt` holds beside the encoded prefix and suffix."""
    return 1 if fmt is FimFormat.L2R else 4
