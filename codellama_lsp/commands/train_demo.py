"""`codellama train-demo OUT`: train the demo model with the project's FIM recipe (resumable)."""

from __future__ import annotations

import argparse
from pathlib import Path

from codellama_lsp.errors import UserError


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train-demo", help="train the small demo model into OUT (resumes from OUT/checkpoint)",
        description="Train a small Code-Llama-shaped model with document-level FIM on the "
        "Python standard library (held-out files listed in OUT/model/corpus.json). Writes "
        "OUT/model (a model directory for --model), OUT/loss.png and a checkpoint it resumes "
        "from when run again with the same OUT.")
    parser.add_argument("out", type=Path, metavar="OUT")
    parser.add_argument("--minutes", type=float, default=50.0,
                        help="training time in total, counting earlier runs (default 50)")
    parser.add_argument("--corpus", type=Path, metavar="DIR",
                        help="train on the *.py files under DIR (default: the standard library)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the model, the data order and the FIM splits (default 0)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--shape", choices=["demo", "smoke"], default="demo",
                        help="model size (default demo; smoke: a model of seconds, for tests)")
    parser.add_argument("--max-steps", type=int,
                        help="stop after N steps in total (default: when --minutes are spent)")
    parser.add_argument("--compile", choices=["on", "off"], default="on",
                        help="torch.compile the training step (needs a C++ compiler; the first "
                        "step then takes a minute; off: slower steps that start at once)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from fim.training.train import CheckpointError, TrainOptions, train

    if args.corpus is not None and not args.corpus.is_dir():
        raise UserError(f"--corpus {args.corpus}: not a directory")
    if args.minutes <= 0:
        raise UserError("--minutes must be positive")
    options = TrainOptions(out=args.out, minutes=args.minutes, corpus=args.corpus,
                           shape=args.shape, seed=args.seed, max_steps=args.max_steps,
                           threads=args.threads, compile=args.compile == "on")
    try:
        model = train(options)
    except CheckpointError as exc:
        raise UserError(str(exc)) from None
    print(model)
    return 0
