"""`codellama lsp`: the language server, over stdio (default) or TCP."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from codellama_lsp.commands.model_args import add_model_args, check_model_args
from codellama_lsp.errors import UserError
from codellama_lsp.lsp.settings import Settings
from fim.engines.local import DEFAULT_MODEL

log = logging.getLogger("codellama_lsp")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "lsp", help="run the language server (stdio, or --tcp HOST:PORT)",
        description="Run the Code Llama language server. Model options are defaults; the "
        "editor's initializationOptions and settings override them.")
    parser.add_argument("--tcp", metavar="HOST:PORT", default=None,
                        help="listen on TCP instead of stdio (default: stdio)")
    add_model_args(parser)
    parser.set_defaults(run=run)


def parse_address(spec: str) -> tuple[str, int]:
    host, _, port = spec.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"expected --tcp HOST:PORT, got {spec!r}")
    return host, int(port)


def run(args: argparse.Namespace) -> int:
    address = parse_address(args.tcp) if args.tcp else None
    # The default model is loaded when an editor asks, and its settings may name another.
    check_model_args(args, model_must_exist=args.model != DEFAULT_MODEL, resolve_names=False)
    defaults = Settings(engine=args.engine, model=args.model, device=args.device,
                        dtype=args.dtype, device_map=args.device_map,
                        quantize=args.quantize, context_window=args.context_window)
    from codellama_lsp.lsp.client_log import forward_logs
    from codellama_lsp.lsp.server import create_server
    from codellama_lsp.lsp.transport import serve_stdio, serve_tcp

    logging.getLogger("codellama_lsp").setLevel(logging.INFO)
    logging.getLogger("fim").setLevel(logging.INFO)
    server = create_server(defaults)
    forward_logs(server, verbose=bool(getattr(args, "verbose", False)))
    if address is not None:
        log.warning("listening on %s:%d", *address)  # stderr: where to connect
        return serve_tcp(server, *address)
    protocol_out = _claim_stdout()
    return serve_stdio(server, sys.stdin.buffer, protocol_out)


def _claim_stdout():
    """Keep stdout for the protocol alone: anything else printed (by a library) goes to stderr."""
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return protocol_out

