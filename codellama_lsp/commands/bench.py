"""`codellama bench KIND`: benchmarks whose figures the docs quote (modules in
`codellama_lsp.benchmarks`, found by name)."""

from __future__ import annotations

import argparse

from codellama_lsp import benchmarks


def register(commands: argparse._SubParsersAction) -> None:
    from codellama_lsp.cli import add_command_group

    add_command_group(commands, "bench", benchmarks, "benchmark",
                      help="run a benchmark and print its figures",
                      description="Benchmarks print medians and percentiles measured in one "
                      "run; --json for machine-readable figures.")
