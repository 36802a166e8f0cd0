"""`codellama prompt FILE:LINE[:COL] --tokenizer PATH`: the exact prompt the model would get.

With `--dialog DIALOG.json` it prints the Code Llama - Instruct prompt of a dialog instead."""

from __future__ import annotations

import argparse
import json

from codellama_lsp.commands.complete import snippet_source
from codellama_lsp.commands.model_args import (
    add_fim_order_args,
    add_setting_option,
    check_new_tokens_option,
)
from codellama_lsp.completion.cursor_prompt import document_prompt, prompt_for_cursor
from codellama_lsp.errors import UserError
from codellama_lsp.syntax.parsed import ParsedDocument
from codellama_lsp.syntax.source_files import cursor_offset, parse_location, read_source
from fim.instruct import DialogError, build_instruct_prompt, parse_dialog
from fim.prompt import choose_format
from fim.tokenizer import load_tokenizer


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("prompt", help="print the prompt ids for FILE:LINE[:COL]",
                                 description="Print the exact prompt (token ids and text) that "
                                 "the model would get for a cursor. For debugging and "
                                 "conformance tests.")
    parser.add_argument("location", metavar="FILE:LINE[:COL]", nargs="?",
                        help="the cursor (not with --dialog)")
    parser.add_argument("--dialog", metavar="DIALOG.json",
                        help='the Code Llama - Instruct prompt of a dialog instead: a JSON list '
                        'of {"role": "system"|"user"|"assistant", "content": ...} (default: the '
                        'FIM prompt at FILE:LINE[:COL])')
    parser.add_argument("--tokenizer", required=True,
                        help="tokenizer.model, tokenizer.json, a model directory or a hub id")
    add_fim_order_args(parser)
    parser.add_argument("--raw", action="store_true",
                        help="Meta's reference prompt of exactly the text before and after the "
                        "cursor (no extra context, no token healing)")
    parser.add_argument("--no-context", action="store_true",
                        help="no cross-file snippets (definitions, recent edits)")
    parser.add_argument("--root", default=None,
                        help="workspace folder for cross-file snippets (default: the nearest "
                        "folder above FILE holding .git, else FILE's folder)")
    add_setting_option(parser, "tokenHealing", help="true: where the cursor stands inside a "
                       "word, back the prompt off before the word's typed pieces, as the "
                       "language server does with the in-process engine; false: not")
    add_setting_option(parser, "contextWindow", help="tokens of prompt plus completion")
    add_setting_option(parser, "maxNewTokens", help="tokens kept free for the completion, as "
                       "the language server's; under half of --context-window")
    parser.add_argument("--json", action="store_true",
                        help='print {"ids": [...], "text": ..., "format": ..., "removed": ...} '
                        '("removed": the text token healing took off the prompt\'s end, '
                        '"removed_ids": its ids)')
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.dialog is not None:
        if args.location is not None:
            raise UserError("give either FILE:LINE[:COL] or --dialog, not both")
        return run_dialog(args)
    if args.location is None:
        raise UserError("expected FILE:LINE[:COL] (or --dialog DIALOG.json)")
    location = parse_location(args.location)
    source = read_source(location.path)
    offset = cursor_offset(source.text, location.line, location.column)
    check_new_tokens_option(args.max_new_tokens, args.context_window)
    snippets = None if args.raw or args.no_context else snippet_source(args.root, location.path)
    tokenizer = load_tokenizer(args.tokenizer)
    fmt = choose_format(tokenizer, args.fim != "psm", strict=args.fim == "spm")
    if args.raw:
        prompt = prompt_for_cursor(tokenizer, source.text[:offset], source.text[offset:], fmt,
                                   args.context_window, args.max_new_tokens)
    else:
        document = ParsedDocument(source.text, path=str(location.path.resolve()))
        prompt = document_prompt(tokenizer, document, offset, fmt, args.context_window,
                                 args.max_new_tokens, snippets, heal=args.token_healing).prompt
    if args.json:
        print(json.dumps({"ids": prompt.ids, "text": prompt.text, "format": fmt.value,
                          "removed": prompt.heal_text, "removed_ids": list(prompt.heal_ids)},
                         ensure_ascii=False))
    else:
        print(prompt.text)
        print(" ".join(map(str, prompt.ids)))
        if prompt.heal_text:
            print(f"token healing removed {prompt.heal_text!r} "
                  f"(ids {' '.join(map(str, prompt.heal_ids))}): the answer starts with it")
    return 0


def run_dialog(args: argparse.Namespace) -> int:
    """Print the instruct prompt of the dialog in `args.dialog`."""
    try:
        with open(args.dialog, encoding="utf-8") as file:
            data = json.load(file)
    except FileNotFoundError:
        raise UserError(f"{args.dialog}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{args.dialog}: cannot read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{args.dialog}: not JSON ({exc})") from None
    try:
        prompt = build_instruct_prompt(load_tokenizer(args.tokenizer), parse_dialog(data))
    except DialogError as exc:
        raise UserError(f"{args.dialog}: {exc}") from None
    if args.json:
        print(json.dumps({"ids": prompt.ids, "text": prompt.text}, ensure_ascii=False))
    else:
        print(prompt.text)
        print(" ".join(map(str, prompt.ids)))
    return 0
