"""`codellama train-demo OUT`: train the demo model with the project's FIM recipe (resumable)."""

from __future__ import annotations

import argparse
from pathlib import Path

from codellama_lsp.commands.model_args import positive_float, positive_int
from codellama_lsp.errors import UserError
from fim.training.model import SHAPES
from fim.training.train import TrainOptions


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train-demo", help="train the small demo model into OUT (resumes from OUT/checkpoint)",
        description="Train a small Code-Llama-shaped model with document-level FIM on the "
        "Python standard library (held-out files listed in OUT/model/corpus.json). Writes "
        "OUT/model (a model directory for --model), OUT/loss.png and a checkpoint it resumes "
        "from when run again with the same OUT.")
    parser.add_argument("out", type=Path, metavar="OUT")
    parser.add_argument("--minutes", type=float, default=50.0,
                        help="training time in total, counting earlier runs; with --sweep, "
                        "for each shape (default 50)")
    parser.add_argument("--corpus", type=Path, metavar="DIR",
                        help="train on the *.py files under DIR (default: the standard library)")
    parser.add_argument("--packages", action="store_true",
                        help="also train on the permissively licensed PyPI packages listed in "
                        "fim/training/corpus.py, installed at the listed versions")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the model, the data order and the FIM splits (default 0)")
    parser.add_argument("--threads", type=positive_int, default=TrainOptions.threads,
                        help=f"torch threads (default {TrainOptions.threads}: on a busy machine "
                        "more threads wait for each other; on an idle one with several cores, "
                        "try more, with --batch-rows 16)")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="demo",
                        help="model size (default demo; smoke: a model of seconds, for tests)")
    parser.add_argument("--sweep", metavar="SHAPE,SHAPE",
                        help="train each shape for --minutes into OUT/SHAPE and compare their "
                        "held-out losses in OUT/sweep.json (instead of --shape; default: no "
                        "sweep)")
    parser.add_argument("--batch-rows", type=positive_int, default=TrainOptions.batch_rows,
                        help="rows of the context's length per step (default "
                        f"{TrainOptions.batch_rows}); with several threads more rows are faster "
                        "per token but learn less per token early on")
    parser.add_argument("--max-steps", type=positive_int,
                        help="stop after N steps in total (default: when --minutes are spent)")
    parser.add_argument("--init-from", type=Path, metavar="MODEL_DIR",
                        help="start a new run from a model directory of the same --shape (its "
                        "weights and tokenizer; e.g. fim/demo_model), with a fresh optimizer and "
                        "schedule (default: random weights; an OUT/checkpoint is resumed instead)")
    parser.add_argument("--learning-rate", type=positive_float, default=TrainOptions.learning_rate,
                        help="peak learning rate, reached after the warm-up and decayed to a "
                        f"tenth over the run (default {TrainOptions.learning_rate:g}; lower it "
                        "with --init-from)")
    parser.add_argument("--compile", choices=["on", "off"], default="on",
                        help="torch.compile the training step (needs a C++ compiler; the first "
                        "step then takes a minute; off: slower steps that start at once)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from fim.training.corpus import CorpusError
    from fim.training.train import CheckpointError, train

    if args.corpus is not None and not args.corpus.is_dir():
        raise UserError(f"--corpus {args.corpus}: not a directory")
    if args.minutes <= 0:
        raise UserError("--minutes must be positive")
    if args.init_from is not None and not args.init_from.is_dir():
        raise UserError(f"--init-from {args.init_from}: not a directory")
    shapes = _sweep_shapes(args.sweep) if args.sweep else []
    options = TrainOptions(out=args.out, minutes=args.minutes, corpus=args.corpus,
                           packages=args.packages, shape=args.shape, seed=args.seed,
                           max_steps=args.max_steps, batch_rows=args.batch_rows,
                           threads=args.threads, compile=args.compile == "on",
                           learning_rate=args.learning_rate, init_from=args.init_from)
    try:
        if shapes:
            from fim.training.sweep import sweep

            sweep(options, shapes)
            print(args.out / "sweep.json")
        else:
            print(train(options))
    except (CheckpointError, CorpusError) as exc:
        raise UserError(str(exc)) from None
    return 0


def _sweep_shapes(text: str) -> list[str]:
    from fim.training.sweep import check_shapes

    shapes = [name.strip() for name in text.split(",") if name.strip()]
    try:
        check_shapes(shapes)
    except ValueError as exc:
        raise UserError(f"--sweep {text}: {exc}") from None
    return shapes
