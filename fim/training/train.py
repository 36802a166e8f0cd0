"""The training loop: fixed seed, checkpoint and resume, a progress bar, a loss curve.

`train(TrainOptions(out=...))` writes into `out`: `tokenizer.model`, `checkpoint/` (resumed from
when present; otherwise, with `init_from`, the run starts from that model's weights and tokenizer
with a fresh optimizer and schedule), `model/` (config.json, tokenizer.model, model.safetensors
in float16, the corpus and training manifests) and `loss.png`. The step itself is
`fim.training.step`.
"""

from __future__ import annotations

import itertools
import json
import math
import platform
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fim.tokenizer import Tokenizer, load_tokenizer
from fim.training.corpus import Corpus, load_corpus
from fim.training.fim_transform import PAD, packed_rows, split_documents
from fim.training.model import SHAPES, Shape, llama_config
from fim.training.progress import Progress
from fim.training.step import Stepper
from fim.training.tokenizer_training import train_tokenizer

CHECKPOINT_EVERY_S = 120.0
CHARS_PER_CONTEXT_TOKEN = 2.5  # a document's length in characters per token of context
CHECKPOINT_FORMAT = 2  # 2: float32 master weights and a bfloat16 model (1 had no "format")


class CheckpointError(Exception):
    """A checkpoint this version cannot resume from, or a model it cannot start from."""


@dataclass(frozen=True)
class TrainOptions:
    out: Path
    minutes: float = 50.0
    corpus: Path | None = None  # None: the standard library
    packages: bool = False  # also the PyPI packages of `corpus.PYPI`
    shape: str = "demo"
    seed: int = 0
    max_steps: int | None = None
    # 4 rows learn as much per token as before; more rows are faster only with several threads
    # (fewer steps to share the optimizer and the threads' synchronisation) and learn less per
    # token early on (README, "Training speed, corpus and sweep").
    batch_rows: int = 4
    learning_rate: float = 2e-3
    warmup_rows: int = 120  # of linear warm-up, whatever the batch (30 steps of 4 rows)
    # One: on a busy machine two OpenMP threads wait for each other at every kernel, 2-10x
    # slower than one (measured on 2 shared cores).
    threads: int = 1
    compile: bool = True  # torch.compile the step (inductor); off: eager, for quick runs
    compile_backend: str = "inductor"  # torch.compile's backend
    init_from: Path | None = None  # a model directory (of this shape) to start a new run from


@dataclass
class State:
    step: int = 0
    rows: int = 0
    tokens: int = 0
    elapsed_s: float = 0.0
    losses: list[tuple[int, float]] = field(default_factory=list)
    tokens_per_s: int = 0  # the last run's speed (after its first step)
    init_from: dict | None = None  # the training manifest of the model the run started from


def train(options: TrainOptions) -> Path:
    """Train (or resume) the model and export it; returns the exported model directory."""
    import torch

    torch.set_num_threads(options.threads)
    shape = SHAPES[options.shape]
    corpus = load_corpus(options.corpus, options.packages)
    texts = corpus.train_texts()
    checkpoint = options.out / "checkpoint"
    starting = options.init_from is not None and not _checkpoint_file(checkpoint).is_file()
    if starting:
        _check_shape(options, shape)
        _take_tokenizer(options)
    tokenizer = _tokenizer(options, texts, shape)
    torch.manual_seed(options.seed)
    from transformers import LlamaForCausalLM

    model = LlamaForCausalLM(llama_config(shape, tokenizer.vocab_size))
    if starting:
        _take_weights(model, options)
    elif options.init_from is not None:
        print(f"{checkpoint} exists: resuming it (--init-from starts only a new run)",
              file=sys.stderr)
    stepper = Stepper(model, options.learning_rate, options.compile, options.compile_backend)
    state = _resume(checkpoint, stepper)
    if starting:
        state.init_from = _earlier_training(options)
    documents = _documents(texts, shape)
    rows = packed_rows(tokenizer, documents, shape.context, options.seed)
    rows = itertools.islice(rows, state.rows, None)
    _loop(options, stepper, rows, state)
    _save_checkpoint(options.out / "checkpoint", stepper, state)
    model = stepper.float32_model()
    held_out = _held_out_loss(model, tokenizer, corpus, shape, options.seed)
    return _export(options, model, tokenizer, corpus, state, held_out)


def _tokenizer(options: TrainOptions, texts: list[str], shape: Shape) -> Tokenizer:
    path = options.out / "tokenizer.model"
    if not path.is_file():
        print(f"training a {shape.vocab_size}-piece tokenizer on {len(texts)} files",
              file=sys.stderr)
        train_tokenizer(texts, path, shape.vocab_size, options.seed)
    return load_tokenizer(path)


def _check_shape(options: TrainOptions, shape: Shape) -> None:
    """Refuse an `init_from` model of another shape before anything is written."""
    from transformers import LlamaConfig

    assert options.init_from is not None
    if not (options.init_from / "config.json").is_file():
        raise CheckpointError(f"--init-from {options.init_from}: no config.json there (a model "
                              "directory, such as OUT/model of an earlier run, is needed)")
    try:
        config = LlamaConfig.from_pretrained(str(options.init_from))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"--init-from {options.init_from}: no model config there "
                              f"({str(exc).splitlines()[0]})") from None
    found = (config.num_hidden_layers, config.hidden_size, config.intermediate_size)
    wanted = (shape.layers, shape.hidden, shape.intermediate)
    if found != wanted:
        raise CheckpointError(
            f"--init-from {options.init_from}: its model has {found[0]} layers of width "
            f"{found[1]} (feed-forward {found[2]}); --shape {options.shape} has {wanted[0]} of "
            f"{wanted[1]} ({wanted[2]})")


def _take_tokenizer(options: TrainOptions) -> None:
    """Use the `init_from` model's tokenizer: its weights only make sense with it."""
    import shutil

    assert options.init_from is not None
    source = options.init_from / "tokenizer.model"
    target = options.out / "tokenizer.model"
    if not source.is_file():
        raise CheckpointError(f"--init-from {options.init_from}: no tokenizer.model there")
    if target.is_file() and target.read_bytes() != source.read_bytes():
        raise CheckpointError(
            f"--init-from {options.init_from}: {target} is another tokenizer; train into a new "
            "folder")
    options.out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def _take_weights(model, options: TrainOptions) -> None:
    """Load the `init_from` model's weights into `model`, which must be of the same shape."""
    from transformers import LlamaForCausalLM

    try:
        earlier = LlamaForCausalLM.from_pretrained(options.init_from)
        model.load_state_dict(earlier.state_dict())
    except (OSError, RuntimeError, ValueError) as exc:
        raise CheckpointError(
            f"--init-from {options.init_from}: not a model of shape {options.shape} "
            f"({str(exc).splitlines()[0]})") from None
    print(f"starting from the weights of {options.init_from}", file=sys.stderr)


def _earlier_training(options: TrainOptions) -> dict | None:
    """The `init_from` model's own training manifest, so that the chain of runs is on record."""
    assert options.init_from is not None
    path = options.init_from / "training.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _documents(texts: list[str], shape: Shape) -> list[str]:
    max_chars = int(shape.context * CHARS_PER_CONTEXT_TOKEN)
    return [d for text in texts for d in split_documents(text, max_chars)]


def _learning_rate(options: TrainOptions, state: State) -> float:
    """Linear warm-up, then cosine decay to a tenth over the run's time (or step) budget."""
    warmup = max(1, options.warmup_rows // options.batch_rows)
    warmup = min(warmup, (options.max_steps or warmup * 5) // 5)
    if state.step < warmup:
        return options.learning_rate * (state.step + 1) / warmup
    done = state.elapsed_s / (options.minutes * 60)
    if options.max_steps:
        done = max(done, state.step / options.max_steps)
    return options.learning_rate * (0.1 + 0.45 * (1 + math.cos(math.pi * min(done, 1.0))))


def _finished(options: TrainOptions, state: State) -> bool:
    if options.max_steps is not None and state.step >= options.max_steps:
        return True
    return state.elapsed_s >= options.minutes * 60


def _loop(options: TrainOptions, stepper: Stepper, rows: Iterator[list[int]],
          state: State) -> None:
    progress = Progress(options.minutes * 60, options.max_steps, state.tokens, state.elapsed_s)
    last_checkpoint = time.monotonic()
    stepper.model.train()
    while not _finished(options, state):
        started = time.monotonic()
        ids, labels = _tensors([next(rows) for _ in range(options.batch_rows)])
        loss = stepper.step(ids, labels, _learning_rate(options, state))
        state.step += 1
        state.rows += options.batch_rows
        state.tokens += int((labels != -100).sum())
        state.elapsed_s += time.monotonic() - started
        state.losses.append((state.tokens, loss))
        progress.update(state.step, state.tokens, state.elapsed_s, loss)
        if time.monotonic() - last_checkpoint > CHECKPOINT_EVERY_S:
            _save_checkpoint(options.out / "checkpoint", stepper, state)
            last_checkpoint = time.monotonic()
    progress.close()
    state.tokens_per_s = round(progress.rate())


def _tensors(batch: list[list[int]]):
    """Input ids (padding as id 0) and labels (padding ignored) of `batch`."""
    import torch

    labels = torch.tensor(batch)
    padding = labels == PAD
    labels[padding] = -100
    ids = labels.masked_fill(padding, 0)
    return ids, labels


def _save_checkpoint(directory: Path, stepper: Stepper, state: State) -> None:
    import torch

    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / "state.pt.partial"
    torch.save({"format": CHECKPOINT_FORMAT, **stepper.state_dict(), "state": asdict(state)},
               partial)
    partial.replace(_checkpoint_file(directory))  # a crash mid-write leaves the last one intact


def _checkpoint_file(directory: Path) -> Path:
    return directory / "state.pt"


def _resume(directory: Path, stepper: Stepper) -> State:
    import torch

    path = _checkpoint_file(directory)
    if not path.is_file():
        return State()
    saved = torch.load(path, weights_only=False)
    if saved.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path} was written by an earlier training recipe (float32 weights, 4-row "
            "batches), which this version cannot resume; train into a new folder, or delete "
            f"{directory} to start again")
    stepper.load_state_dict(saved)
    state = State(**saved["state"])
    state.losses = [tuple(x) for x in state.losses]  # type: ignore[misc]
    print(f"resuming from {path} at step {state.step} ({state.tokens:,} tokens)",
          file=sys.stderr)
    return state


def _held_out_loss(model, tokenizer: Tokenizer, corpus: Corpus, shape: Shape,
                   seed: int) -> float | None:
    """Mean loss on the held-out files' FIM rows (one pass, fixed splits)."""
    import torch

    documents = _documents([corpus.read(name) for name in corpus.held_out], shape)
    if not documents:
        return None
    rows = itertools.islice(packed_rows(tokenizer, documents, shape.context, seed),
                            min(len(documents), 64))
    model.eval()
    losses = []
    with torch.no_grad():
        for row in rows:
            ids, labels = _tensors([row])
            losses.append(float(model(input_ids=ids, labels=labels).loss))
    return sum(losses) / len(losses)


def _export(options: TrainOptions, model, tokenizer: Tokenizer, corpus: Corpus, state: State,
            held_out: float | None) -> Path:
    import shutil

    import torch

    from fim.training.loss_plot import plot_losses

    directory = options.out / "model"
    model.to(torch.float16).save_pretrained(directory)
    model.to(torch.float32)
    shutil.copyfile(options.out / "tokenizer.model", directory / "tokenizer.model")
    (directory / "corpus.json").write_text(json.dumps(corpus.manifest(), indent=1) + "\n")
    (directory / "training.json").write_text(json.dumps(
        {"options": {k: str(v) for k, v in asdict(options).items()}, "steps": state.step,
         "parameters": sum(p.numel() for p in model.parameters()),
         "tokens": state.tokens, "minutes": round(state.elapsed_s / 60, 1),
         "tokens_per_s": state.tokens_per_s,
         "first_loss": round(state.losses[0][1], 4) if state.losses else None,
         "final_loss": _recent_loss(state), "held_out_loss": held_out,
         "init_from": state.init_from,
         "machine": f"{platform.processor() or platform.machine()}, "
                    f"{options.threads} threads, torch {torch.__version__}"}, indent=1) + "\n")
    plot_losses(state.losses, options.out / "loss.png")
    return directory


def _recent_loss(state: State) -> float | None:
    recent = [loss for _, loss in state.losses[-min(20, len(state.losses) // 4 + 1):]]
    return round(sum(recent) / len(recent), 4) if recent else None
