"""`codellama serve`: the GPU worker, an OpenAI-compatible HTTP server over one model."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import socket
import sys

from codellama_lsp.commands.model_args import (
    add_model_args,
    announce_loading,
    check_model_args,
    load_options,
    non_negative_float,
    non_negative_int,
    port,
    positive_int,
)
from codellama_lsp.errors import UserError

log = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "serve", help="run the model as an HTTP worker (OpenAI-compatible /v1/completions)",
        description="Serve one model over HTTP for a team: POST /v1/completions, GET /v1/models, "
        "GET /health, GET /metrics. Binds to loopback unless --host says otherwise.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1; 0.0.0.0 for every interface)")
    parser.add_argument("--port", type=port, default=8000,
                        help="TCP port, 0 to 65535 (0: any free port, told on stderr)")
    parser.add_argument("--api-key", default=os.environ.get("CODELLAMA_API_KEY") or None,
                        help="require 'Authorization: Bearer KEY' (default: $CODELLAMA_API_KEY, "
                        "else none)")
    parser.add_argument("--max-queue", type=positive_int, default=64,
                        help="generations that may wait; beyond, 429 (default 64)")
    parser.add_argument("--max-batch", type=positive_int, default=16,
                        help="generations decoded together in one forward pass (default 16)")
    parser.add_argument("--cache-slots", type=non_negative_int, default=8,
                        help="users whose KV cache is kept between requests (default 8)")
    add_model_args(parser, engine=False)
    parser.add_argument("--shutdown-grace", type=non_negative_float, default=30.0, metavar="S",
                        help="on SIGTERM or SIGINT, seconds the requests in flight may take to "
                        "finish while new ones get 503 (default 30)")
    parser.set_defaults(run=run)


SERVE_MODULES = ("uvicorn", "starlette", "prometheus_client")


def require_serve_extra() -> None:
    """Refuse at once, naming the install command, where the worker's dependencies are absent."""
    import importlib

    missing = []
    for name in SERVE_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise UserError(f"the worker needs {', '.join(missing)}: "
                        "pip install 'codellama-lsp[serve]'")


def run(args: argparse.Namespace) -> int:
    require_serve_extra()
    check_model_args(args)
    if args.api_key is not None and not args.api_key.strip():
        raise UserError("--api-key is empty: give a key, or leave the option out for none")
    from fim.engines.local import LocalEngine
    from fim.worker.app import WorkerConfig, create_app
    from fim.worker.batching import BatchScheduler
    from fim.worker.server import serve

    # Bound before minutes of loading a model, and held: nobody can take the port meanwhile.
    listener = _listen(args.host, args.port)
    if not _is_loopback(args.host) and not args.api_key:
        print(f"codellama serve: warning: {args.host} is reachable from other machines and no "
              "--api-key is set", file=sys.stderr)
    announce_loading("serve", args.model, args.device)
    engine = LocalEngine.load(load_options(args))
    scheduler = BatchScheduler(engine.model, engine.tokenizer, max_batch=args.max_batch,
                               max_queue=args.max_queue, cache_slots=args.cache_slots)
    app = create_app(scheduler, WorkerConfig(args.model, args.context_window, args.api_key))
    port = listener.getsockname()[1]  # the free port chosen for --port 0
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"codellama serve: {args.model} on {engine.device}, listening on "
          f"http://{host}:{port}", file=sys.stderr, flush=True)
    serve(app, app.drain, listener, args.shutdown_grace)
    return 0


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (0: any free port), or one line saying why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return listener


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
