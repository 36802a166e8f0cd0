"""Command-line options that choose and load a model, shared by the commands that run one, and
the value checks every command's options use.

Single values are checked by argparse (`type=`), so a bad one is refused while the command line
is read; checks that need two options or the model's config.json are in `check_model_args`,
which each command calls before it loads anything.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable

from codellama_lsp.errors import UserError
from fim.engines.base import Engine, EngineError
from fim.engines.factory import open_engine
from fim.engines.local import DEFAULT_CONTEXT_WINDOW, DTYPES, LoadOptions
from fim.engines.options import (
    DEVICE_MAPS,
    DEVICES,
    QUANTIZATIONS,
    check_context_window,
    check_device,
    check_model,
    check_quantization,
)
from fim.models import AUTO, resolve_options

SEED_MAX = 2**63 - 1  # torch's generators take a 64-bit seed


def add_model_args(parser: argparse.ArgumentParser, default_model: str = AUTO,
                   engine: bool = True) -> None:
    group = parser.add_argument_group("model")
    if engine:
        group.add_argument("--engine", default="local", type=engine_value,
                           help="'local' (the model in this process) or a server URL, "
                           "[PROTOCOL+]http(s)://HOST:PORT")
    group.add_argument("--model", default=default_model,
                       help="hub id, local model folder or 'demo' (the small bundled model); "
                       "default " + (default_model if default_model != AUTO else
                                     "auto: Code Llama 7B if downloaded, else demo"))
    group.add_argument("--device", default="auto", type=device, help=DEVICES)
    group.add_argument("--dtype", default="auto", choices=DTYPES,
                       help="precision (auto: bfloat16/float16 on GPU, float32 on CPU)")
    group.add_argument("--device-map", default=None, metavar="MAP", choices=DEVICE_MAPS,
                       help="spread a large model over GPUs and CPU memory (accelerate): "
                       f"{', '.join(DEVICE_MAPS)} (default: the whole model on --device)")
    group.add_argument("--quantize", default=None, choices=QUANTIZATIONS,
                       help="load in 8 or 4 bits (needs bitsandbytes and a CUDA GPU; "
                       "default: no quantization)")
    group.add_argument("--context-window", type=positive_int, default=DEFAULT_CONTEXT_WINDOW,
                       help="tokens of prompt plus completion, at most the model's "
                       "max_position_embeddings")


def check_model_args(args: argparse.Namespace, max_new_tokens: int | None = None,
                     model_must_exist: bool = True, resolve_names: bool = True) -> None:
    """The checks that need more than one option or the model's config.json. `demo` and `auto`
    are checked as the folder or hub id they stand for, and replaced by it in `args` unless
    `resolve_names` is off (the language server resolves them when it loads the model, so that
    an editor naming another model is not bounded by the demo model's window)."""
    resolved = resolve_options(LoadOptions(model=args.model, context_window=args.context_window))
    model, window = resolved.model, resolved.context_window
    local = getattr(args, "engine", "local") == "local"
    if max_new_tokens is not None and max_new_tokens >= window:
        raise UserError(f"--max-new-tokens {max_new_tokens} must be smaller than "
                        f"--context-window {window}")
    if local and model_must_exist:
        _option("--model", model, check_model, model)
    _option("--context-window", window, check_context_window, model, window)
    if resolve_names:
        args.model, args.context_window = model, window
    if local and args.quantize:
        _option("--quantize", args.quantize, check_quantization, args.quantize, args.device)


def _option(name: str, value: object, check: Callable[..., object], *check_args: object) -> None:
    try:
        check(*check_args)
    except ValueError as exc:
        named = name if str(value) in str(exc) else f"{name} {value}"
        raise UserError(f"{named}: {exc}") from None


def load_options(args: argparse.Namespace) -> LoadOptions:
    """The commands' load options. No compiled step: a one-shot command would wait tens of
    seconds compiling for one answer, and `serve`'s batcher runs its own loop."""
    return LoadOptions(model=args.model, device=args.device, dtype=args.dtype,
                       device_map=args.device_map, quantization=args.quantize,
                       context_window=args.context_window, compile="off")


def engine_from_args(args: argparse.Namespace) -> Engine:
    if args.engine == "local":
        announce_loading(args.command, args.model, args.device)
    return open_engine(args.engine, load_options(args))


def announce_loading(command: str, model: str, device: str) -> None:
    """One line on stderr: loading a large model takes long enough to wonder what happens."""
    if device == "auto":
        from fim.engines.local import choose_device

        device = choose_device(device)
    print(f"codellama {command}: loading {model} on {device}…", file=sys.stderr, flush=True)


def add_fim_order_args(parser: argparse.ArgumentParser) -> None:
    """`--fim psm|spm` (default SPM, as the language server; left to right for models without
    FIM pieces, where naming SPM is refused); `--spm` is the older spelling of `--fim spm`."""
    parser.add_argument("--fim", choices=("psm", "spm"), default=None,
                        help="prompt order: suffix-prefix-middle (default, as the language "
                        "server) or prefix-suffix-middle; models without FIM pieces complete "
                        "left to right")
    parser.add_argument("--spm", dest="fim", action="store_const", const="spm",
                        help="the same as --fim spm")


# -- argparse value types: a bad value is refused as the command line is read -------------------

def positive_int(value: str) -> int:
    number = _int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return number


def non_negative_int(value: str) -> int:
    number = _int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or a positive integer, got {value}")
    return number


def seed(value: str) -> int:
    number = _int(value)
    if not 0 <= number <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to 2**63-1, got {value}")
    return number


def port(value: str) -> int:
    number = _int(value)
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 0 to 65535, got {value}")
    return number


def non_negative_float(value: str) -> float:
    number = _float(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be a number from 0 up, got {value}")
    return number


def probability(value: str) -> float:
    """A nucleus (top-p) share: more than 0, at most 1."""
    number = _float(value)
    if not 0 < number <= 1:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1], got {value}")
    return number


def device(value: str) -> str:
    try:
        return check_device(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value}: {exc}") from None


def engine_value(value: str) -> str:
    if value == "local":
        return value
    from fim.engines.remote import parse_engine_url

    try:
        parse_engine_url(value)
    except EngineError as exc:
        raise argparse.ArgumentTypeError(f"{exc}; use 'local' or [PROTOCOL+]http(s)://HOST:PORT"
                                         ) from None
    return value


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {value!r}") from None


def _float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {value}")
    return number
