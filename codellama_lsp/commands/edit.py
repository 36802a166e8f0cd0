"""`codellama edit FILE:START[-END] "instruction"`: Code Llama - Instruct rewrites the lines;
prints a unified diff, and with `--write` applies it atomically."""

from __future__ import annotations

import argparse
import os
import re
import stat
import sys
from pathlib import Path

from codellama_lsp.commands.model_args import (
    add_model_args,
    add_setting_option,
    check_model_args,
    engine_from_args,
    non_negative_float,
    non_negative_int,
    seed,
)
from codellama_lsp.edits.atomic_write import check_writable, read_snapshot, write_atomically
from codellama_lsp.edits.plan import DEFAULT_CONTEXT_LINES, EditOptions, check_range, plan_edit
from codellama_lsp.edits.prompt import language_for_path
from codellama_lsp.edits.reply import NoUsableCode
from codellama_lsp.errors import UserError
from fim.instruct import DEFAULT_INSTRUCT_MODEL

_RANGE = re.compile(r"^(?P<path>.+?):(?P<start>-?\d+)(?:-(?P<end>-?\d+))?$")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("edit", help="rewrite lines of a file as instructed",
                                 description="Ask Code Llama - Instruct to rewrite lines START "
                                 "to END (1-based, inclusive; END defaults to START) as the "
                                 "instruction says, and print the change as a unified diff.")
    parser.add_argument("location", metavar="FILE:START[-END]", help="the lines to rewrite")
    parser.add_argument("instruction", help='what to do, e.g. "add type hints"')
    parser.add_argument("--write", action="store_true",
                        help="apply the change to the file (atomically; refused if the file "
                        "changed meanwhile)")
    parser.add_argument("--language", default=None,
                        help="language id for the code fence (default: from the extension)")
    parser.add_argument("--context-lines", type=non_negative_int, default=DEFAULT_CONTEXT_LINES,
                        help="lines around the selection shown as context")
    add_setting_option(parser, "editMaxNewTokens", flag="--max-new-tokens",
                       help="answer length (default: twice the selection plus 128 tokens)")
    parser.add_argument("--temperature", type=non_negative_float, default=0.0,
                        help="0 is greedy; above 0 samples")
    parser.add_argument("--seed", type=seed, default=None,
                        help="sampling seed, 0 to 2**63-1 (default: a new one each run)")
    add_model_args(parser, default_model=DEFAULT_INSTRUCT_MODEL)
    parser.set_defaults(run=run)


def parse_range(spec: str) -> tuple[Path, int, int]:
    """`FILE:START[-END]` (1-based, inclusive) as (path, start, end)."""
    match = _RANGE.match(spec)
    if not match:
        raise UserError(f"expected FILE:START[-END], got {spec!r}")
    start = int(match["start"])
    end = int(match["end"]) if match["end"] else start
    if start < 1:
        raise UserError(f"line {start} is out of range (lines count from 1)")
    if end < start:
        raise UserError(f"the range {start}-{end} ends before it starts")
    return Path(match["path"]), start, end


def check_folder_writable(path: Path) -> None:
    """--write replaces the file through a new file beside it: its folder must take one."""
    folder = Path(os.path.realpath(path)).parent
    mode = folder.stat().st_mode
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(folder, os.W_OK):
        raise UserError(f"--write: cannot write in {folder} (the folder is read-only); "
                        "not written")


def diff_label(path: Path) -> str:
    """The path shown after `a/` and `b/`: relative to the working directory where the file is
    under it, else the absolute path without its leading slash (`patch -p1 -d /` takes it)."""
    relative = os.path.relpath(path.absolute())
    if not relative.startswith(".."):
        return relative
    return str(path.absolute()).lstrip("/")


def run(args: argparse.Namespace) -> int:
    path, start, end = parse_range(args.location)
    if not args.instruction.strip():
        raise UserError("the instruction is empty")
    if args.write:  # before loading a model, not after
        check_writable(path)
        check_folder_writable(path)
    snapshot = read_snapshot(path)
    text = snapshot.source.text
    check_range(text, start - 1, end - 1)
    check_model_args(args)  # the answer's length is fitted to the window (edits/plan.py)
    engine = engine_from_args(args)
    options = EditOptions(context_lines=args.context_lines, max_new_tokens=args.max_new_tokens,
                          temperature=args.temperature, seed=args.seed)
    try:
        plan = plan_edit(engine, text, start - 1, end - 1, args.instruction,
                         args.language or language_for_path(path), options=options)
    except NoUsableCode as exc:
        print(f"codellama edit: {exc}; nothing changed", file=sys.stderr)
        return 1
    if plan.result.stop_reason == "length":
        print(f"codellama edit: warning: the answer was cut at {plan.result.generated_tokens} "
              "tokens (--max-new-tokens); the change may be incomplete", file=sys.stderr)
    if not plan.changed:
        print("codellama edit: the model proposed no change", file=sys.stderr)
        return 0
    sys.stdout.write(plan.diff(text, diff_label(path)))
    if args.write:
        write_atomically(path, snapshot.encode(plan.apply(text)), snapshot.digest)
        print(f"codellama edit: wrote {path}", file=sys.stderr)
    return 0
