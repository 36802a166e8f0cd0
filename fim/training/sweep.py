"""The shape sweep: a few model shapes trained for equal time on one tokenizer, compared by their
loss on the held-out files.

`sweep(options, shapes)` trains each shape into `options.out/SHAPE` for `options.minutes` (each,
resumable like any training run) and writes `options.out/sweep.json`: per shape its parameters,
tokens trained, tokens per second, and final training and held-out loss. All shapes share the
tokenizer trained first (in `options.out/tokenizer.model`), so their losses are per the same
tokens.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from pathlib import Path

from fim.training.corpus import load_corpus
from fim.training.model import SHAPES
from fim.training.tokenizer_training import train_tokenizer
from fim.training.train import TrainOptions, train


def sweep(options: TrainOptions, shapes: list[str]) -> list[dict]:
    """Train each of `shapes` as `options` says (`options.shape` is ignored); returns the rows
    of `sweep.json`, also printed as a table."""
    check_shapes(shapes)
    tokenizer = _shared_tokenizer(options, SHAPES[shapes[0]].vocab_size)
    rows = []
    for name in shapes:
        out = options.out / name
        out.mkdir(parents=True, exist_ok=True)
        if not (out / "tokenizer.model").is_file():
            shutil.copyfile(tokenizer, out / "tokenizer.model")
        print(f"sweep: training {name} for {options.minutes:g} minutes into {out}",
              file=sys.stderr, flush=True)
        model = train(dataclasses.replace(options, out=out, shape=name))
        rows.append(_row(name, model))
        (options.out / "sweep.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(format_table(rows))
    return rows


def check_shapes(shapes: list[str]) -> None:
    """Known shapes of one vocabulary size (their losses are compared per token)."""
    unknown = [name for name in shapes if name not in SHAPES]
    if unknown or not shapes:
        raise ValueError(f"choose shapes from {', '.join(sorted(SHAPES))}")
    if len({SHAPES[name].vocab_size for name in shapes}) != 1:
        raise ValueError("the shapes must share a vocabulary size (smoke shapes and the "
                         "others do not mix)")


def _shared_tokenizer(options: TrainOptions, vocab_size: int) -> Path:
    path = options.out / "tokenizer.model"
    if not path.is_file():
        texts = load_corpus(options.corpus, options.packages).train_texts()
        print(f"sweep: training a {vocab_size}-piece tokenizer on {len(texts)} files",
              file=sys.stderr, flush=True)
        train_tokenizer(texts, path, vocab_size, options.seed)
    return path


def _row(name: str, model: Path) -> dict:
    training = json.loads((model / "training.json").read_text())
    config = json.loads((model / "config.json").read_text())
    return {"shape": name, "layers": config["num_hidden_layers"],
            "hidden": config["hidden_size"], "parameters": training["parameters"],
            "tokens": training["tokens"], "minutes": training["minutes"],
            "tokens_per_s": training["tokens_per_s"], "final_loss": training["final_loss"],
            "held_out_loss": training["held_out_loss"]}


def format_table(rows: list[dict]) -> str:
    lines = [f"{'shape':<12} {'params':>8} {'tokens':>12} {'tok/s':>8} {'train loss':>10} "
             f"{'held-out loss':>13}"]
    for row in rows:
        held = row["held_out_loss"]
        lines.append(f"{row['shape']:<12} {row['parameters'] / 1e6:>7.1f}M {row['tokens']:>12,} "
                     f"{row['tokens_per_s']:>8,} {row['final_loss']:>10.3f} "
                     f"{held if held is None else round(held, 3)!s:>13}")
    return "\n".join(lines)
