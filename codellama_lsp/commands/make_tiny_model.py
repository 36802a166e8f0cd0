"""`codellama make-tiny-model DIR`: a tiny random model to try every path offline."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from codellama_lsp.commands.model_args import seed
from codellama_lsp.errors import UserError
from fim.tiny import make_tiny_model


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("make-tiny-model", help="write a tiny random model to DIR",
                                 description="Write a tiny random Code-Llama-shaped model "
                                 "(SentencePiece tokenizer with FIM pieces). Its completions "
                                 "are noise; it exercises every path without a download.")
    parser.add_argument("directory", type=Path, metavar="DIR",
                        help="a new (or empty) folder for the model")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the random weights")
    parser.add_argument("--no-fim", action="store_true",
                        help="leave out the FIM pieces (like Code Llama 34B/70B and Python)")
    parser.add_argument("--force", action="store_true",
                        help="write into DIR even where it holds files (a model there is "
                        "overwritten)")
    parser.set_defaults(run=run)


def check_target(directory: Path, force: bool) -> None:
    """DIR must be a new folder or an empty one (or --force), in a folder that takes files."""
    if directory.exists() and not directory.is_dir():
        raise UserError(f"DIR {directory}: is a file, not a folder; choose a new folder")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise UserError(f"DIR {directory}: already exists and holds files (a model there would "
                        "be overwritten); choose a new folder, or add --force")
    parent = next((p for p in (directory, *directory.parents) if p.exists()), Path("."))
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise UserError(f"DIR {directory}: cannot write in {parent}")


def run(args: argparse.Namespace) -> int:
    check_target(args.directory, args.force)
    try:
        make_tiny_model(args.directory, seed=args.seed, fim=not args.no_fim)
    except OSError as exc:
        raise UserError(f"DIR {args.directory}: cannot write ({exc.strerror or exc})") from None
    print(args.directory)
    return 0
