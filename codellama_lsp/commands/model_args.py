"""Command-line options that choose and load a model, shared by the commands that run one, and
the value checks every command's options use.

An option that means the same as a language server setting (`--device`, `--max-new-tokens`,
`--fim`, ...) is made from that setting's row in `codellama_lsp/settings_schema.py`
(`add_setting_option`): the same check, choices and default. Single values are checked by
argparse (`type=`), so a bad one is refused while the command line is read; checks that need two
options or the model's config.json are in `check_model_args`, which each command calls before
it loads anything.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import Any

from codellama_lsp.errors import UserError
from codellama_lsp.settings_schema import (
    MACHINE_CHECKS,
    Setting,
    check_room_for_prompt,
    setting,
)
from fim.engines.base import Engine
from fim.engines.factory import open_engine
from fim.engines.local import LoadOptions
from fim.engines.options import check_device, check_model
from fim.models import AUTO, resolve_options

SEED_MAX = 2**63 - 1  # torch's generators take a 64-bit seed
_ROW_DEFAULT: Any = object()  # add_setting_option: the setting's own default


def add_model_args(parser: argparse.ArgumentParser, default_model: str = AUTO,
                   engine: bool = True) -> None:
    group = parser.add_argument_group("model")
    if engine:
        add_setting_option(group, "engine", help="'local' (the model in this process) or a "
                           "server URL, [PROTOCOL+]http(s)://HOST:PORT")
    add_setting_option(group, "model", default=default_model,
                       help="hub id, local model folder or 'demo' (the small bundled model); "
                       "default " + (default_model if default_model != AUTO else
                                     "auto: Code Llama 7B if downloaded, else demo"))
    for key in ("device", "dtype", "deviceMap", "quantize", "contextWindow"):
        add_setting_option(group, key)


def add_setting_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup, key: str,
                       default: Any = _ROW_DEFAULT, help: str | None = None,
                       flag: str | None = None) -> None:
    """The command-line option of the setting `key` (codellama_lsp/settings_schema.py): its
    flag, its check (the server's), its choices and default; `default` where a command needs
    another (a benchmark's length), `flag` for a setting whose option has another name in
    another command (`codellama edit --max-new-tokens` is `editMaxNewTokens`)."""
    row = setting(key)
    flag = flag or row.cli
    assert flag is not None, f"the setting {key} has no command-line option"
    default = row.default if default is _ROW_DEFAULT else default
    text = help or row.doc.replace("`", "")
    if default is None and "default" not in text:
        text += " (default: none)"
    parser.add_argument(flag, type=option_type(row), default=default, help=text,
                        metavar="{" + ",".join(row.choices) + "}" if row.choices else None)


def option_type(row: Setting) -> Callable[[str], Any]:
    """An argparse `type` that reads the text as the setting's kind and checks it as the
    server does; a bad value is refused as the command line is read."""
    def parse(text: str) -> Any:
        try:
            return row.parse(text)
        except ValueError as exc:
            message = str(exc)
            if repr(text) not in message:
                message += f", got {text}"
            raise argparse.ArgumentTypeError(message) from None
    parse.__name__ = row.key
    return parse


def check_model_args(args: argparse.Namespace, max_new_tokens: int | None = None,
                     model_must_exist: bool = True, resolve_names: bool = True) -> None:
    """The checks that need more than one option or the model's config.json (those of the
    language server's settings, `MACHINE_CHECKS`, and whether the model is there). `demo` and
    `auto` are checked as the folder or hub id they stand for, and replaced by it in `args`
    unless `resolve_names` is off (the language server resolves them when it loads the model,
    so that an editor naming another model is not bounded by the demo model's window).
    `max_new_tokens` is a completion's length, which must leave room for the prompt."""
    resolved = resolve_options(LoadOptions(model=args.model, context_window=args.context_window))
    local = getattr(args, "engine", "local") == "local"
    values = {**vars(args), "model": resolved.model, "context_window": resolved.context_window}
    if max_new_tokens is not None:
        check_new_tokens_option(max_new_tokens, values["context_window"])
    if local and model_must_exist:
        _option("--model", values["model"], check_model, values["model"])
    for machine in MACHINE_CHECKS:
        if local or not machine.local_only:
            row = setting(machine.key)
            _option(str(row.cli), values[row.field], machine.check,
                    *(values[read] for read in machine.reads))
    if resolve_names:
        args.model, args.context_window = values["model"], values["context_window"]


def check_new_tokens_option(max_new_tokens: int, context_window: int) -> None:
    """--max-new-tokens against --context-window, by the server's rule."""
    try:
        check_room_for_prompt(max_new_tokens, context_window, "--context-window")
    except ValueError as exc:
        raise UserError(f"--max-new-tokens {max_new_tokens}: {exc}") from None


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
    add_setting_option(parser, "fimFormat", default=None,
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


def positive_float(value: str) -> float:
    number = _float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {value}")
    return number


def device(value: str) -> str:
    try:
        return check_device(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value}: {exc}") from None


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
