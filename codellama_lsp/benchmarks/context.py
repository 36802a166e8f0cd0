"""`codellama bench context FILE`: time to build the prompt at many cursor positions.

Each prompt is the whole path a completion takes before the model: the policy (from the tree),
cross-file snippets (tag-query index of the workspace, ranked), the token windows and the
prompt ids. The file is parsed and the workspace indexed once first, as an editor does when a
file is opened; those times are reported apart. No model is loaded: only a tokenizer (the
tiny test tokenizer, trained in a second, unless --tokenizer names one).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from codellama_lsp.commands.model_args import (
    add_fim_order_args,
    add_setting_option,
    check_new_tokens_option,
    positive_int,
    seed,
)
from codellama_lsp.completion.cursor_prompt import document_prompt
from codellama_lsp.completion.policy import Mode, decide
from codellama_lsp.completion.snippets import SnippetSource
from codellama_lsp.errors import UserError
from codellama_lsp.syntax.parsed import ParsedDocument
from codellama_lsp.syntax.source_files import read_source
from fim.prompt import choose_format
from fim.tokenizer import Tokenizer, load_tokenizer


def register(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser("context", help="time to build a prompt (policy, windows, "
                              "cross-file snippets, token ids)", description=__doc__)
    parser.add_argument("file", metavar="FILE", help="the source file to complete in")
    parser.add_argument("--tokenizer", default=None,
                        help="tokenizer.model / tokenizer.json / model folder (default: the "
                        "tiny test tokenizer)")
    parser.add_argument("--root", default=None,
                        help="workspace for cross-file snippets (default: FILE's folder)")
    parser.add_argument("--no-context", action="store_true", help="no cross-file snippets")
    parser.add_argument("--positions", type=positive_int, default=300,
                        help="cursors to build a prompt at")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the random cursors")
    add_fim_order_args(parser)
    add_setting_option(parser, "contextWindow", help="tokens of prompt plus completion")
    add_setting_option(parser, "maxNewTokens", default=128,
                       help="tokens kept free for the completion")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_new_tokens_option(args.max_new_tokens, args.context_window)
    if args.root is not None and not Path(args.root).is_dir():
        raise UserError(f"{args.root}: no such folder (--root)")
    path = Path(args.file)
    source = read_source(path)
    tokenizer = _tokenizer(args.tokenizer)
    figures = measure(tokenizer, path, source.text, args)
    if args.json:
        print(json.dumps(figures))
    else:
        print(format_figures(figures))
    return 0


def measure(tokenizer: Tokenizer, path: Path, text: str, args: argparse.Namespace) -> dict:
    fmt = choose_format(tokenizer, args.fim != "psm", strict=args.fim == "spm")
    started = time.perf_counter()
    document = ParsedDocument(text, path=str(path.resolve()))
    parse_ms = (time.perf_counter() - started) * 1000
    snippets = None
    index_ms = 0.0
    if not args.no_context:
        snippets = SnippetSource(args.root or path.resolve().parent)
        started = time.perf_counter()
        snippets.warm(document.path)
        snippets.snippets_for(document, 0)  # indexes the document's own definitions
        index_ms = (time.perf_counter() - started) * 1000
    offsets = cursor_offsets(text, args.positions, args.seed)
    times, tokens, chosen, modes = [], [], [], {mode.value: 0 for mode in Mode}
    for offset in offsets:
        started = time.perf_counter()
        decision = decide(document.text, offset, document)
        if decision.mode is not Mode.NONE:
            built = document_prompt(tokenizer, document, offset, fmt, args.context_window,
                                    args.max_new_tokens, snippets)
        times.append((time.perf_counter() - started) * 1000)
        modes[decision.mode.value] += 1
        if decision.mode is not Mode.NONE:
            tokens.append(len(built.prompt.ids))
            chosen.append(len(built.snippets))
    edit_ms = _edit_times(document, offsets[:50])
    return {
        "file": str(path), "lines": len(text.splitlines()),
        "language": document.language.name if document.language else None,
        "format": fmt.value, "tokenizer": tokenizer.source, "positions": len(offsets),
        "first_parse_ms": round(parse_ms, 2), "index_ms": round(index_ms, 2),
        "prompt_ms_p50": round(statistics.median(times), 3),
        "prompt_ms_p95": round(_percentile(times, 0.95), 3),
        "prompt_ms_max": round(max(times), 3),
        "prompt_tokens_mean": round(statistics.mean(tokens), 1) if tokens else 0,
        "snippets_mean": round(statistics.mean(chosen), 2) if chosen else 0,
        "modes": modes,
        "edit_reparse_ms_p50": round(statistics.median(edit_ms), 3) if edit_ms else None,
    }


def cursor_offsets(text: str, count: int, seed: int) -> list[int]:
    """Cursors at the end of random lines and after random non-word characters."""
    rng = random.Random(seed)
    line_ends = [i for i, char in enumerate(text) if char == "\n"] or [len(text)]
    offsets = []
    for number in range(count):
        end = rng.choice(line_ends)
        if number % 2 == 0:
            offsets.append(end)
            continue
        start = text.rfind("\n", 0, end) + 1
        inner = [i for i in range(start, end) if not text[i].isalnum() and text[i] != "_"]
        offsets.append(rng.choice(inner) if inner else end)
    return offsets


def _edit_times(document: ParsedDocument, offsets: list[int]) -> list[float]:
    """Typing one character and taking it back, at each offset: the incremental re-parses."""
    times = []
    for offset in offsets:
        started = time.perf_counter()
        document.apply_edit(offset, offset, "x")
        times.append((time.perf_counter() - started) * 1000)
        document.apply_edit(offset, offset + 1, "")
    return times


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _tokenizer(spec: str | None) -> Tokenizer:
    if spec:
        return load_tokenizer(spec)
    from fim.tiny import train_tokenizer

    # SentencePiece reads the whole file when it loads: the folder can go at once.
    with tempfile.TemporaryDirectory(prefix="codellama-bench-") as folder:
        return load_tokenizer(str(train_tokenizer(Path(folder) / "tokenizer.model")))


def format_figures(figures: dict) -> str:
    return "\n".join([
        f"{figures['file']}: {figures['lines']} lines, {figures['language']}, "
        f"{figures['format']}, tokenizer {figures['tokenizer']}",
        f"first parse {figures['first_parse_ms']} ms, workspace index "
        f"{figures['index_ms']} ms",
        f"prompt build over {figures['positions']} cursors: p50 "
        f"{figures['prompt_ms_p50']} ms, p95 {figures['prompt_ms_p95']} ms, max "
        f"{figures['prompt_ms_max']} ms",
        f"mean prompt {figures['prompt_tokens_mean']} tokens with "
        f"{figures['snippets_mean']} snippets; modes {figures['modes']}",
        f"one-character edit re-parse: p50 {figures['edit_reparse_ms_p50']} ms",
    ])
