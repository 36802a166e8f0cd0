"""`codellama bench KIND`: benchmarks whose figures the docs quote (modules in
`codellama_lsp.benchmarks`, found by name)."""

from __future__ import annotations

import argparse

from codellama_lsp import benchmarks


def register(commands: argparse._SubParsersAction) -> None:
    from codellama_lsp.cli import Parser, command_modules

    parser = commands.add_parser("bench", help="run a benchmark and print its figures",
                                 description="Benchmarks print medians and percentiles measured "
                                 "in one run; --json for machine-readable figures.")
    kinds = parser.add_subparsers(dest="benchmark", required=True, parser_class=Parser)
    for module in command_modules(benchmarks):
        module.register(kinds)
