"""Tokens per second of the training step, before and after `fim.training.step`, in one process.

`python -m fim.training.speed [--rounds N] [--threads T] [--current-threads T] [--current-rows R]`:
the previous recipe (4 rows of 512 tokens, bf16 autocast over float32 weights, AdamW's default
loop) and the current one (`Stepper`, 16 rows unless told) run on the same random token ids,
interleaved (A, B, A, B, ...; each turn about 8,192 tokens) after a warm-up that includes
compiling, so that a shared machine's changing load falls on both alike. Prints each round, the
medians, their ratio and the load average. `--current-threads` runs the current step with another
thread count (set before each of its turns) than the previous one's `--threads`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from fim.training.model import SHAPES, llama_config
from fim.training.step import BETAS, CLIP_NORM, WEIGHT_DECAY, Stepper

TURN_TOKENS = 8192
VOCAB = 4096


def previous_step(shape_name: str, rows: int) -> Callable[[], None]:
    """The step as it was before `fim.training.step` (kept to measure against)."""
    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(llama_config(SHAPES[shape_name], VOCAB))
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, betas=BETAS,
                                  weight_decay=WEIGHT_DECAY)
    ids = torch.randint(3, VOCAB, (rows, SHAPES[shape_name].context))

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def current_step(shape_name: str, rows: int, compile: bool = True) -> Callable[[], None]:
    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(0)
    stepper = Stepper(LlamaForCausalLM(llama_config(SHAPES[shape_name], VOCAB)), 2e-3, compile)
    ids = torch.randint(3, VOCAB, (rows, SHAPES[shape_name].context))

    def step() -> None:
        stepper.step(ids, ids, 2e-3)

    return step


Step = tuple[Callable[[], None], int, int]  # the step, its tokens, its threads


def measure(steps: dict[str, Step], rounds: int) -> dict[str, list]:
    """Tokens per second of each step, `rounds` interleaved turns each."""
    import torch

    rates: dict[str, list[float]] = {name: [] for name in steps}
    for number in range(rounds):
        for name, (step, tokens, threads) in steps.items():
            torch.set_num_threads(threads)
            repeats = max(1, TURN_TOKENS // tokens)
            started = time.perf_counter()
            for _ in range(repeats):
                step()
            rates[name].append(repeats * tokens / (time.perf_counter() - started))
        print(f"round {number + 1}: " + ", ".join(
            f"{name} {values[-1]:,.0f}" for name, values in rates.items())
            + f" tok/s (load {os.getloadavg()[0]:.1f})", flush=True)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2, help="the previous default, 2")
    parser.add_argument("--current-threads", type=int, help="default: --threads")
    parser.add_argument("--current-rows", type=int, default=16)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="demo")
    args = parser.parse_args()
    import torch

    context = SHAPES[args.shape].context
    threads, rows = args.current_threads or args.threads, args.current_rows
    steps: dict[str, Step] = {
        f"previous (4 rows, {args.threads} threads)": (
            previous_step(args.shape, 4), 4 * context, args.threads),
        f"current ({rows} rows, {threads} threads)": (
            current_step(args.shape, rows), rows * context, threads)}
    print(f"load average at start: {os.getloadavg()}", flush=True)
    for name, (step, _, threads) in steps.items():
        torch.set_num_threads(threads)  # before compiling: the kernels are made for it
        started = time.perf_counter()
        step()
        step()
        print(f"{name}: warm-up (2 steps, compiling) {time.perf_counter() - started:.1f} s",
              flush=True)
    rates = measure(steps, args.rounds)
    medians = {name: statistics.median(values) for name, values in rates.items()}
    first = next(iter(medians.values()))
    for name, median in medians.items():
        print(f"{name}: median {median:,.0f} tok/s, {median / first:.2f}x")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
