"""`codellama eval KIND`: evaluations whose figures the docs quote (modules in
`codellama_lsp.evals`, found by name)."""

from __future__ import annotations

import argparse

from codellama_lsp import evals


def register(commands: argparse._SubParsersAction) -> None:
    from codellama_lsp.cli import add_command_group

    add_command_group(commands, "eval", evals, "evaluation",
                      help="run an evaluation and print its figures",
                      description="Evaluations print their figures; --json for "
                      "machine-readable ones.")
