"""`codellama lsp`: the language server, over stdio (default), TCP, or a client's socket or pipe.

The transport options are those editors' launchers pass: `--stdio` (vscode-languageclient's
TransportKind.stdio, Sublime LSP, coc.nvim), `--socket=PORT` and `--pipe=NAME`
(vscode-languageclient listens there and the server connects), and `--clientProcessId=N`
(the server ends when that process does).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from codellama_lsp.commands.model_args import add_model_args, check_model_args
from codellama_lsp.errors import UserError
from codellama_lsp.lsp.lifetime import CAN_WATCH, ClientWatch, end_process, process_exists
from codellama_lsp.lsp.settings import Settings
from fim.engines.options import check_model
from fim.models import AUTO, auto_model, resolve_model

log = logging.getLogger("codellama_lsp")

SOCKET_HOST = "127.0.0.1"  # where vscode-languageclient's socket transport listens


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "lsp", help="run the language server (stdio, or --tcp HOST:PORT)",
        description="Run the Code Llama language server. Model options are defaults; the "
        "editor's initializationOptions and settings override them.")
    transport = parser.add_argument_group("transport (one of)").add_mutually_exclusive_group()
    transport.add_argument("--stdio", action="store_true",
                           help="speak LSP on stdin and stdout (the default)")
    transport.add_argument("--tcp", metavar="HOST:PORT", default=None,
                           help="listen on TCP, serving one client after another until one "
                           "sends exit; port 0: any free port, told on stderr (default: "
                           "stdio)")
    transport.add_argument("--socket", metavar="PORT", type=socket_port, default=None,
                           help=f"connect to a client listening on {SOCKET_HOST}:PORT "
                           "(vscode-languageclient's TransportKind.socket; default: stdio)")
    transport.add_argument("--pipe", metavar="NAME", default=None,
                           help="connect to a client listening on the Unix socket NAME "
                           "(vscode-languageclient's TransportKind.pipe; default: stdio)")
    transport.add_argument("--node-ipc", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--clientProcessId", dest="client_process_id", metavar="PID",
                        type=process_id, default=None,
                        help="exit when this process ends (default: initialize's processId, "
                        "where that process is seen from here)")
    add_model_args(parser)
    parser.set_defaults(run=run)


def _number(value: str, below: int) -> int | None:
    """`value` as a number from 1 to `below` - 1, else None."""
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) < below:
        return None
    return int(value)


def socket_port(value: str) -> int:
    if (number := _number(value, 65536)) is None:
        raise argparse.ArgumentTypeError(f"must be a port from 1 to 65535, got {value!r}")
    return number


def process_id(value: str) -> int:
    if (number := _number(value, 2**31)) is None:
        raise argparse.ArgumentTypeError(f"must be a process id (a positive integer), "
                                         f"got {value!r}")
    return number


def parse_address(spec: str) -> tuple[str, int]:
    """`--tcp HOST:PORT`; port 0 asks for any free port."""
    host, _, port = spec.rpartition(":")
    if not host or (port != "0" and _number(port, 65536) is None):
        raise UserError(f"expected --tcp HOST:PORT (PORT 0 to 65535), got {spec!r}")
    return host, int(port)


Serve = Callable[[Any], int]


def choose_transport(args: argparse.Namespace) -> Serve:
    """How to reach the client: a function that serves it and returns the exit code."""
    from codellama_lsp.lsp import transport

    if args.node_ipc:
        raise UserError("--node-ipc is Node.js's own channel, which this server cannot use; "
                        "use --stdio (the default), --socket=PORT or --pipe=NAME")
    if args.tcp:
        host, port = parse_address(args.tcp)

        return lambda server: transport.serve_tcp(server, host, port)
    if args.socket is not None:
        port = args.socket
        return lambda server: transport.connect_and_serve(
            server, lambda: asyncio.open_connection(SOCKET_HOST, port),
            f"{SOCKET_HOST}:{port}")
    if args.pipe is not None:
        if not hasattr(asyncio, "open_unix_connection"):
            raise UserError("--pipe: this system has no Unix sockets; use --stdio or --socket")
        name = args.pipe
        return lambda server: transport.connect_and_serve(
            server, lambda: asyncio.open_unix_connection(name), name)
    return lambda server: transport.serve_stdio(server, sys.stdin.buffer, _claim_stdout())


def run(args: argparse.Namespace) -> int:
    serve = choose_transport(args)
    pid = args.client_process_id
    if pid is not None and CAN_WATCH and not process_exists(pid):
        raise UserError(f"--clientProcessId {pid}: no such process")
    _check_model_defaults(args)
    defaults = Settings(engine=args.engine, model=args.model, device=args.device,
                        dtype=args.dtype, device_map=args.device_map,
                        quantize=args.quantize, context_window=args.context_window)
    from codellama_lsp.lsp.client_log import forward_logs
    from codellama_lsp.lsp.pygls_logs import quiet_pygls
    from codellama_lsp.lsp.server import create_server

    logging.getLogger("codellama_lsp").setLevel(logging.INFO)
    logging.getLogger("fim").setLevel(logging.INFO)
    server = create_server(defaults)
    server.client_watch = ClientWatch(_exit_when_gone(server), pid,
                                      follow_initialize=not args.tcp)
    forward_logs(server, verbose=bool(getattr(args, "verbose", False)))
    quiet_pygls()
    try:
        code = serve(server)
    except OSError as exc:  # a socket or pipe that cannot be reached
        raise UserError(str(exc)) from None
    end_process(code)  # the last message is out: nothing else to wait for


def _check_model_defaults(args: argparse.Namespace) -> None:
    """The model options, as far as they can be checked before an editor names its model.
    `auto` is checked as what it stands for, quietly: it is resolved, and its fallback to the
    demo model announced, only if it is the model that loads. Whether transformers knows a
    model's architecture is left to the load: importing transformers takes seconds, and the
    editor waits for the answer to initialize."""
    checked = argparse.Namespace(**vars(args))
    if args.model == AUTO:
        checked.model = auto_model()
    check_model_args(checked, model_must_exist=False, resolve_names=False)
    if args.engine != "local" or args.model == AUTO:
        return
    try:
        check_model(resolve_model(args.model), architecture=False)
    except ValueError as exc:
        raise UserError(f"--model: {exc}" if args.model in str(exc)
                        else f"--model {args.model}: {exc}") from None


def _exit_when_gone(server: Any) -> Callable[[int], None]:
    from codellama_lsp.lsp.pygls_compat import is_shut_down

    def gone(pid: int) -> None:
        log.warning("the client's process %d has ended: exiting", pid)
        end_process(0 if is_shut_down(server.protocol) else 1)
    return gone


def _claim_stdout():
    """Keep stdout for the protocol alone: anything else printed (by a library) goes to stderr."""
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return protocol_out
