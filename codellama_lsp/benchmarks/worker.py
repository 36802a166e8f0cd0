"""`codellama bench worker`: throughput and latency of `codellama serve` for 1, 4 and 16
concurrent clients, batching off (--max-batch 1) and on, on loopback; or, with `--engine URL`,
of another OpenAI-compatible server (`llama-server -np 16`, vLLM) with the same requests."""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from codellama_lsp.commands.model_args import positive_int
from codellama_lsp.commands.serve import require_serve_extra
from codellama_lsp.errors import UserError
from codellama_lsp.lsp.stats import percentile
from fim.engines.options import check_model

ROOT = Path(__file__).resolve().parent.parent.parent


def register(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser("worker", help="throughput and p50/p95 latency of codellama serve",
                              description="Start `codellama serve` on a loopback port, batching "
                              "off (--max-batch 1) then on, and drive it with 1, 4 and 16 "
                              "concurrent clients. Each request generates exactly --max-tokens. "
                              "--engine URL drives an OpenAI-compatible server already running "
                              "instead, with the same requests.")
    parser.add_argument("--model", default=None, type=model_folder,
                        help="model folder (default: a tiny random model built for the run)")
    parser.add_argument("--engine", default=None, type=server_url,
                        help="an OpenAI-compatible server to measure instead, http(s)://HOST:PORT "
                        "(e.g. llama-server -np 16; default: codellama serve, started here)")
    parser.add_argument("--clients", default="1,4,16", type=client_levels,
                        help="concurrency levels, positive numbers separated by commas "
                        "(default 1,4,16)")
    parser.add_argument("--max-batch", type=positive_int, default=16,
                        help="--max-batch of the batching run (default 16)")
    parser.add_argument("--max-tokens", type=positive_int, default=16,
                        help="tokens generated per request")
    parser.add_argument("--rounds", type=positive_int, default=6,
                        help="requests per client at each level (default 6)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(run=run)


def client_levels(value: str) -> list[int]:
    try:
        levels = [int(n) for n in value.split(",")]
    except ValueError:
        levels = []
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError("must be positive numbers separated by commas, "
                                         f"got {value!r}")
    return levels


def server_url(value: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"must be http(s)://HOST:PORT, got {value!r}")
    return value.rstrip("/")


def model_folder(value: str) -> str:
    try:
        check_model(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def run(args: argparse.Namespace) -> int:
    require_serve_extra()
    if args.engine:
        return _run_engine(args)
    levels = args.clients
    with tempfile.TemporaryDirectory() as scratch:
        model = args.model or str(_tiny_model(Path(scratch)))
        rows = []
        for max_batch in (1, args.max_batch):
            with _Worker(model, max_batch) as url:
                _drive(url, 4, 8, args.max_tokens)  # warm up
                for clients in levels:
                    rows.append({"max_batch": max_batch, "clients": clients,
                                 **_drive(url, clients, clients * args.rounds, args.max_tokens)})
    report = {"model": args.model or "tiny random model", "max_tokens": args.max_tokens,
              "torch_threads": os.environ.get("OMP_NUM_THREADS", "1"),
              "results": rows, "speedup": _speedups(rows, args.max_batch)}
    print(json.dumps(report, indent=2) if args.json else _table(report))
    return 0


def _run_engine(args: argparse.Namespace) -> int:
    """The same levels and requests against a server already running at `args.engine`."""
    import httpx

    try:
        model = _served_model(args.engine)
        _drive(args.engine, 4, 8, args.max_tokens, model)  # warm up
        rows = [{"clients": clients, **_drive(args.engine, clients, clients * args.rounds,
                                              args.max_tokens, model)}
                for clients in args.clients]
    except httpx.HTTPError as exc:
        raise UserError(f"{args.engine}: {exc or type(exc).__name__}") from None
    report = {"engine": args.engine, "model": model, "max_tokens": args.max_tokens,
              "results": rows}
    print(json.dumps(report, indent=2) if args.json else _engine_table(report))
    return 0


def _served_model(url: str) -> str | None:
    """The first model the server lists (vLLM wants it named; llama-server ignores it)."""
    import httpx

    try:
        listed = httpx.get(url + "/v1/models", timeout=10).json().get("data") or []
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    return str(listed[0]["id"]) if listed and isinstance(listed[0], dict) else None


def _drive(url: str, clients: int, requests: int, max_tokens: int,
           model: str | None = None) -> dict:
    """`requests` completions from `clients` threads; wall time and per-request latencies."""
    import httpx

    def one(i: int) -> float:
        body = {"prompt": f"<PRE> def job_{i}(x):\n    return  <SUF>\n <MID>",
                "max_tokens": max_tokens, "temperature": 0, "ignore_eos": True,
                "user": f"client-{i % clients}"}
        if model is not None:
            body["model"] = model
        started = time.perf_counter()
        response = client.post(url + "/v1/completions", json=body)
        response.raise_for_status()
        return time.perf_counter() - started

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    with httpx.Client(timeout=300, limits=limits) as client, ThreadPoolExecutor(clients) as pool:
        started = time.perf_counter()
        latencies = sorted(pool.map(one, range(requests)))
        wall = time.perf_counter() - started
    return {"requests": requests, "seconds": round(wall, 3),
            "requests_per_s": round(requests / wall, 2),
            "tokens_per_s": round(requests * max_tokens / wall, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p95_ms": round((percentile(latencies, 95) or 0.0) * 1000, 1)}


def _speedups(rows: list[dict], max_batch: int) -> dict:
    """Throughput with batching over without, per concurrency level."""
    off = {r["clients"]: r["tokens_per_s"] for r in rows if r["max_batch"] == 1}
    on = {r["clients"]: r["tokens_per_s"] for r in rows if r["max_batch"] == max_batch}
    return {str(c): round(on[c] / off[c], 2) for c in off if c in on and off[c]}


def _table(report: dict) -> str:
    lines = [f"codellama serve on loopback, {report['model']}, {report['max_tokens']} tokens "
             f"per request, OMP_NUM_THREADS={report['torch_threads']}",
             f"{'max-batch':>9} {'clients':>7} {'requests':>8} {'req/s':>7} {'tok/s':>8} "
             f"{'p50 ms':>8} {'p95 ms':>8}"]
    for r in report["results"]:
        lines.append(f"{r['max_batch']:>9} {r['clients']:>7} {r['requests']:>8} "
                     f"{r['requests_per_s']:>7} {r['tokens_per_s']:>8} {r['p50_ms']:>8} "
                     f"{r['p95_ms']:>8}")
    lines.append("throughput, batching on / off: " + ", ".join(
        f"{clients} clients x{ratio}" for clients, ratio in report["speedup"].items()))
    return "\n".join(lines)


def _engine_table(report: dict) -> str:
    lines = [f"{report['engine']} ({report['model'] or 'model not listed'}), "
             f"{report['max_tokens']} tokens per request",
             f"{'clients':>7} {'requests':>8} {'req/s':>7} {'tok/s':>8} {'p50 ms':>8} "
             f"{'p95 ms':>8}"]
    for r in report["results"]:
        lines.append(f"{r['clients']:>7} {r['requests']:>8} {r['requests_per_s']:>7} "
                     f"{r['tokens_per_s']:>8} {r['p50_ms']:>8} {r['p95_ms']:>8}")
    return "\n".join(lines)


def _tiny_model(directory: Path) -> Path:
    from fim.tiny import make_tiny_model

    return make_tiny_model(directory / "tiny-model")


class _Worker:
    """`codellama serve` in a child process on a free loopback port."""

    def __init__(self, model: str, max_batch: int) -> None:
        self.model, self.max_batch = model, max_batch

    def __enter__(self) -> str:
        import httpx

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        # One torch thread unless told otherwise: on a small shared CPU, more threads spin
        # against the HTTP thread and the figures measure contention, not batching.
        env = {"OMP_NUM_THREADS": "1", **os.environ, "PYTHONPATH": str(ROOT),
               "HF_HUB_OFFLINE": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "codellama_lsp", "serve", "--model", self.model, "--host",
             "127.0.0.1", "--port", str(port), "--max-batch", str(self.max_batch),
             "--max-queue", "1024"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                raise UserError(f"codellama serve failed: {error}")
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    return url
            except httpx.HTTPError:
                time.sleep(0.2)
        self.__exit__()
        raise UserError("codellama serve did not start within 300 s")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
