"""`codellama make-tiny-model DIR`: a tiny random model to try every path offline."""

from __future__ import annotations

import argparse
from pathlib import Path

from fim.tiny import make_tiny_model


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("make-tiny-model", help="write a tiny random model to DIR",
                                 description="Write a tiny random Code-Llama-shaped model "
                                 "(SentencePiece tokenizer with FIM pieces). Its completions "
                                 "are noise; it exercises every path without a download.")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-fim", action="store_true",
                        help="leave out the FIM pieces (like Code Llama 34B/70B and Python)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    make_tiny_model(args.directory, seed=args.seed, fim=not args.no_fim)
    print(args.directory)
    return 0
