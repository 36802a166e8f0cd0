"""`codellama serve`: the GPU worker, an OpenAI-compatible HTTP server over one model."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import socket
import sys

from codellama_lsp.commands.model_args import non_negative_float, positive_int
from codellama_lsp.errors import UserError
from fim.engines.local import DEFAULT_CONTEXT_WINDOW, DEFAULT_MODEL, DTYPES, LoadOptions

log = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "serve", help="run the model as an HTTP worker (OpenAI-compatible /v1/completions)",
        description="Serve one model over HTTP for a team: POST /v1/completions, GET /v1/models, "
        "GET /health, GET /metrics. Binds to loopback unless --host says otherwise.")
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help=f"hub id or local model directory (default {DEFAULT_MODEL})")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1; 0.0.0.0 for every interface)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--api-key", default=os.environ.get("CODELLAMA_API_KEY"),
                        help="require 'Authorization: Bearer KEY' (default: $CODELLAMA_API_KEY)")
    parser.add_argument("--max-queue", type=positive_int, default=64,
                        help="generations that may wait; beyond, 429 (default 64)")
    parser.add_argument("--max-batch", type=positive_int, default=16,
                        help="generations decoded together in one forward pass (default 16)")
    parser.add_argument("--cache-slots", type=int, default=8,
                        help="users whose KV cache is kept between requests (default 8)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--dtype", default="auto", choices=DTYPES)
    parser.add_argument("--device-map", default=None, metavar="MAP")
    parser.add_argument("--quantize", default=None, choices=("8bit", "4bit"))
    parser.add_argument("--context-window", type=positive_int, default=DEFAULT_CONTEXT_WINDOW,
                        help=f"tokens of prompt plus completion (default {DEFAULT_CONTEXT_WINDOW})")
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
    from fim.engines.local import LocalEngine
    from fim.worker.app import WorkerConfig, create_app
    from fim.worker.batching import BatchScheduler
    from fim.worker.server import serve

    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must be 0..65535, got {args.port}")
    if args.cache_slots < 0:
        raise UserError(f"--cache-slots must not be negative, got {args.cache_slots}")
    _check_can_listen(args.host, args.port)  # before minutes of loading a model
    if not _is_loopback(args.host) and not args.api_key:
        print(f"codellama serve: warning: {args.host} is reachable from other machines and no "
              "--api-key is set", file=sys.stderr)
    engine = LocalEngine.load(LoadOptions(model=args.model, device=args.device, dtype=args.dtype,
                                          device_map=args.device_map,
                                          quantization=args.quantize,
                                          context_window=args.context_window))
    scheduler = BatchScheduler(engine.model, engine.tokenizer, max_batch=args.max_batch,
                               max_queue=args.max_queue, cache_slots=args.cache_slots)
    app = create_app(scheduler, WorkerConfig(args.model, args.context_window, args.api_key))
    print(f"codellama serve: {args.model} on {engine.device}, listening on "
          f"http://{args.host}:{args.port}", file=sys.stderr, flush=True)
    serve(app, app.drain, args.host, args.port, args.shutdown_grace)
    return 0


def _check_can_listen(host: str, port: int) -> None:
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
