"""`codellama`: the command line. Each subcommand is a module of `codellama_lsp.commands`
with a `register(subparsers)` function; they are found by name, so adding one is adding a file."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from types import ModuleType

from codellama_lsp import commands
from codellama_lsp.errors import UserError
from fim.engines.base import EngineError
from fim.tokenizer import TokenizerError


class HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default, unless the help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (action.option_strings and default is not None and default is not argparse.SUPPRESS
                and action.nargs != 0 and "default" not in text):
            text += " (default: %(default)s)"
        return text


class Parser(argparse.ArgumentParser):
    """Usage errors in one line and exit code 2, like every other bad input; `-v` after any
    subcommand too."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        # SUPPRESS: a subcommand's parser leaves `verbose` alone unless -v is given to it.
        self.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                          help="log this project's progress to stderr")

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def command_modules(package: ModuleType) -> list[ModuleType]:
    """The modules of `package` that define `register`, in name order."""
    found = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        if hasattr(module, "register"):
            found.append(module)
    return found


def add_command_group(commands: argparse._SubParsersAction, name: str, package: ModuleType,
                      dest: str, help: str, description: str) -> None:
    """`codellama NAME KIND`: one subcommand per module of `package` (see `command_modules`)."""
    parser = commands.add_parser(name, help=help, description=description)
    kinds = parser.add_subparsers(dest=dest, required=True, parser_class=Parser)
    for module in command_modules(package):
        module.register(kinds)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="codellama", description="Code Llama completions and edits, "
                    "in editors (LSP) and on the command line.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in command_modules(commands):
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(getattr(args, "verbose", False))
    try:
        return args.run(args)
    except (UserError, EngineError, TokenizerError) as exc:
        print(f"codellama {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("codellama-lsp")
    except PackageNotFoundError:
        return "unknown (not installed)"


PROJECT_LOGGERS = ("codellama_lsp", "fim")


def _configure_logging(verbose: bool) -> None:
    """Warnings from everyone; with -v, this project's progress too, but not the libraries'
    (transformers at INFO dumps every model configuration it reads)."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    for name in PROJECT_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    # Read when transformers is imported, which only a command that loads a model does: the
    # import takes seconds, and a refused option should not wait for it.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()


if __name__ == "__main__":
    sys.exit(main())
