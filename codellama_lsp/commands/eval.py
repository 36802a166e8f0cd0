"""`codellama eval KIND`: evaluations whose figures the docs quote (modules in
`codellama_lsp.evals`, found by name)."""

from __future__ import annotations

import argparse

from codellama_lsp import evals


def register(commands: argparse._SubParsersAction) -> None:
    from codellama_lsp.cli import Parser, command_modules

    parser = commands.add_parser("eval", help="run an evaluation and print its figures",
                                 description="Evaluations print their figures; --json for "
                                 "machine-readable ones.")
    kinds = parser.add_subparsers(dest="evaluation", required=True, parser_class=Parser)
    for module in command_modules(evals):
        module.register(kinds)
