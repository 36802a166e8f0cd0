"""`codellama`: the command line. Each subcommand lives in `codellama_lsp.commands`."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from codellama_lsp.commands import complete, make_tiny_model, prompt
from codellama_lsp.errors import UserError
from fim.engine import EngineError
from fim.tokenizer import TokenizerError

COMMANDS = [complete, prompt, make_tiny_model]


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line and exit code 2, like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="codellama", description="Code Llama completions and edits, "
                     "in editors (LSP) and on the command line.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for command in COMMANDS:
        command.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _quiet_libraries(args.verbose)
    try:
        return args.run(args)
    except (UserError, EngineError, TokenizerError) as exc:
        print(f"codellama {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _quiet_libraries(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        return
    hf_logging.set_verbosity_info() if verbose else hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


if __name__ == "__main__":
    sys.exit(main())
