"""What the evaluations share: one completion at a cursor through the editor's path (policy,
prompt, engine, clean-up), kept both before and after clean-up; the prompt variants an evaluation
compares in one run (FIM order, token healing); and a progress line."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from codellama_lsp.commands.model_args import add_setting_option
from codellama_lsp.completion.cleanup import clean, document_cleanup_context
from codellama_lsp.completion.cursor_prompt import document_prompt
from codellama_lsp.completion.policy import Mode, decide
from codellama_lsp.syntax.parsed import ParsedDocument
from fim.engines.base import Engine, GenerationRequest, StopReason
from fim.prompt import FimFormat, choose_format, to_lf


@dataclass(frozen=True)
class Infill:
    raw: str  # the model's answer (LF), as it comes without clean-up
    cleaned: str  # what the editor shows ("" for nothing)
    mode: Mode


@dataclass(frozen=True)
class Variant:
    """A way to prompt: the FIM order and whether token healing applies."""

    fim: str  # "spm" or "psm"
    heal: bool = False

    @property
    def name(self) -> str:
        return self.fim + ("+healing" if self.heal else "")


VARIANTS = (Variant("spm"), Variant("spm", True), Variant("psm"), Variant("psm", True))


def infill(engine: Engine, document: ParsedDocument, offset: int, variant: Variant,
           max_new_tokens: int) -> Infill:
    """Complete at `offset` as the editor does (no cross-file snippets); one generation gives
    both the raw and the cleaned answer. Where the policy offers nothing, the raw answer is
    still generated (as for one line), so that "without clean-up" has an answer everywhere."""
    text = document.text
    decision = decide(text, offset, document)
    fmt = choose_format(engine.tokenizer, variant.fim == "spm")
    built = document_prompt(engine.tokenizer, document, offset, fmt, engine.context_window,
                            max_new_tokens, heal=variant.heal and engine.can_heal)
    stop = [] if decision.mode in (Mode.BLOCK, Mode.STATEMENT) else ["\n"]
    result = engine.generate(GenerationRequest(built.prompt.ids, max_new_tokens, 0.0, 1.0,
                                               stop, heal_text=built.prompt.heal_text))
    context = document_cleanup_context(decision.mode, document, offset)
    cleaned = clean(result.text, context, result.stop_reason == StopReason.LENGTH)
    return Infill(to_lf(result.text), cleaned or "", decision.mode)


def fim_format(name: str) -> FimFormat:
    return FimFormat.SPM if name == "spm" else FimFormat.PSM


def add_fim_args(parser: argparse.ArgumentParser) -> None:
    add_setting_option(parser, "fimFormat", help="prompt order: suffix-prefix-middle (as the "
                       "editor) or prefix-suffix-middle")
    add_setting_option(parser, "tokenHealing", help="true: heal the prompt where the cursor "
                       "stands inside a word (as the editor); false: not")
    parser.add_argument("--variants", type=variant_list, default=None, metavar="LIST",
                        help="compare prompt variants in one run, on the same input with the "
                        "same model: a comma-separated list of " + ", ".join(
                            v.name for v in VARIANTS) + ", or all (default: --fim with "
                        "--token-healing)")
    parser.add_argument("--no-cleanup", action="store_true",
                        help="score the model's raw answers (default: after clean-up)")
    add_setting_option(parser, "maxNewTokens",
                       help="tokens the model may write per completion, as the editor's")


def variant_list(text: str) -> list[Variant]:
    """`--variants`: names from VARIANTS, comma-separated, or `all`."""
    if text.strip() == "all":
        return list(VARIANTS)
    by_name = {v.name: v for v in VARIANTS}
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in by_name]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(by_name)}, or all; got {text!r}")
    return [by_name[name] for name in dict.fromkeys(chosen)]


def chosen_variants(args: argparse.Namespace) -> list[Variant]:
    """The variants a run compares: `--variants`, else the one of `--fim` and
    `--token-healing`."""
    return args.variants or [Variant(args.fim, args.token_healing)]


class ProgressLine:
    """`[#####.....] done/total <figure>` on stderr, redrawn in place on a terminal."""

    def __init__(self, total: int, label: str) -> None:
        self._total = total
        self._label = label
        self._tty = sys.stderr.isatty()
        self._shown = -1

    def update(self, done: int, figure: str = "") -> None:
        tenth = done * 10 // max(self._total, 1)
        if not self._tty and tenth == self._shown and done != self._total:
            return  # in a log: a line per tenth
        self._shown = tenth
        filled = done * 20 // max(self._total, 1)
        line = f"{self._label} [{'#' * filled}{'.' * (20 - filled)}] {done}/{self._total} {figure}"
        print(("\r" if self._tty else "") + line, end="" if self._tty else "\n",
              file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._tty:
            print(file=sys.stderr)
