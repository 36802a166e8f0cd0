"""`codellama complete FILE:LINE[:COL]`: print the text Code Llama would insert at the cursor."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from codellama_lsp.commands.model_args import (
    add_fim_order_args,
    add_model_args,
    add_setting_option,
    check_model_args,
    engine_from_args,
    non_negative_float,
    seed,
)
from codellama_lsp.completion.pipeline import CompletionOptions, complete_in_document
from codellama_lsp.completion.policy import Mode, decide
from codellama_lsp.completion.snippets import SnippetSource
from codellama_lsp.errors import UserError
from codellama_lsp.syntax.parsed import ParsedDocument
from codellama_lsp.syntax.source_files import cursor_offset, parse_location, read_source
from fim.prompt import choose_format
from fim.tokenizer import load_tokenizer


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("complete", help="complete the code at FILE:LINE[:COL]",
                                 description="Print the text to insert at the cursor. LINE and "
                                 "COL are 1-based; without COL the cursor is at the line's end.")
    parser.add_argument("location", metavar="FILE:LINE[:COL]", help="the cursor")
    add_model_args(parser)
    add_setting_option(parser, "maxNewTokens", help="longest completion, in tokens, as the "
                       "language server's; under half of --context-window")
    parser.add_argument("--temperature", type=non_negative_float, default=0.0,
                        help="0 is greedy; above 0 samples")
    add_setting_option(parser, "topP", help="nucleus sampling share (with --temperature above 0)")
    parser.add_argument("--seed", type=seed, default=None,
                        help="sampling seed, 0 to 2**63-1 (default: a new one each run)")
    add_fim_order_args(parser)
    add_setting_option(parser, "tokenHealing", help="true: where the cursor stands inside a "
                       "word, heal the prompt's end (the language server's default); false: not")
    parser.add_argument("--json", action="store_true",
                        help="print the completion with token counts and timings (and whether "
                        "token healing applied)")
    parser.add_argument("--no-context", action="store_true",
                        help="no cross-file snippets (definitions, recent edits) in the prompt")
    parser.add_argument("--root", default=None,
                        help="workspace folder scanned for cross-file definitions (default: the "
                        "nearest folder above FILE holding .git, else FILE's folder)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    location = parse_location(args.location)
    source = read_source(location.path)
    offset = cursor_offset(source.text, location.line, location.column)
    check_model_args(args, args.max_new_tokens)
    if args.fim == "spm":  # the tokenizer tells in milliseconds; the weights would take minutes
        choose_format(load_tokenizer(args.model), spm=True, strict=True)
    snippets = None if args.no_context else snippet_source(args.root, location.path)
    engine = engine_from_args(args)
    options = CompletionOptions(max_new_tokens=args.max_new_tokens,
                                temperature=args.temperature, top_p=args.top_p,
                                spm=args.fim != "psm", seed=args.seed,
                                token_healing=args.token_healing)
    document = ParsedDocument(source.text, path=str(location.path.resolve()))
    decision = decide(source.text, offset, document)
    result = complete_in_document(engine, document, offset, options, snippets=snippets,
                                  decision=decision)
    if args.json:
        report = {"completion": result.text if result else "",
                  "mode": decision.mode.value,
                  "language": document.language.name if document.language else None,
                  "model": args.model}
        if result is None and decision.mode is not Mode.NONE:
            report["cleaned_away"] = True  # the model answered; clean-up left nothing to show
        if result is not None:
            report["format"] = result.prompt.format.value
            report["healed"] = result.healed
            report.update(result.result.as_dict())
            report.pop("text")
            report["raw"] = result.raw
        print(json.dumps(report, ensure_ascii=False))
    elif result is not None:
        sys.stdout.write(result.text)
        if sys.stdout.isatty():
            sys.stdout.write("\n")
    return 0


def snippet_source(root: str | None, path: Path) -> SnippetSource:
    """Cross-file snippets from `root` (default: the workspace around `path`)."""
    if root is not None and not Path(root).is_dir():
        raise UserError(f"{root}: no such folder (--root)")
    return SnippetSource(root or workspace_root(path))


def workspace_root(path: Path) -> Path:
    """The nearest folder above `path` that holds `.git`, else `path`'s own folder."""
    folder = path.resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder
