"""Command-line options that choose and load a model, shared by the commands that run one."""

from __future__ import annotations

import argparse

from fim.engines.base import Engine
from fim.engines.factory import open_engine
from fim.engines.local import DEFAULT_CONTEXT_WINDOW, DTYPES, LoadOptions
from fim.models import AUTO


def add_model_args(parser: argparse.ArgumentParser, default_model: str = AUTO) -> None:
    group = parser.add_argument_group("model")
    group.add_argument("--engine", default="local",
                       help="'local' (default: the model in this process) or a server URL")
    group.add_argument("--model", default=default_model,
                       help="hub id, local model directory or 'demo' (the small bundled "
                       "model); default " + (default_model if default_model != AUTO else
                                             "auto: Code Llama 7B if downloaded, else demo"))
    group.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    group.add_argument("--dtype", default="auto", choices=DTYPES,
                       help="precision (auto: bfloat16/float16 on GPU, float32 on CPU)")
    group.add_argument("--device-map", default=None, metavar="MAP",
                       help="'auto' spreads a large model over GPUs and CPU memory")
    group.add_argument("--quantize", default=None, choices=("8bit", "4bit"),
                       help="load in 8 or 4 bits (needs bitsandbytes and a CUDA GPU)")
    group.add_argument("--context-window", type=positive_int, default=DEFAULT_CONTEXT_WINDOW,
                       help=f"tokens of prompt plus completion (default {DEFAULT_CONTEXT_WINDOW})")


def load_options(args: argparse.Namespace) -> LoadOptions:
    return LoadOptions(model=args.model, device=args.device, dtype=args.dtype,
                       device_map=args.device_map, quantization=args.quantize,
                       context_window=args.context_window)


def engine_from_args(args: argparse.Namespace) -> Engine:
    return open_engine(args.engine, load_options(args))


def positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return number


def non_negative_float(value: str) -> float:
    number = float(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return number
