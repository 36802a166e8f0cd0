"""Measure the worker's memory over streams dropped by their client after the first chunk.

    python -m tests.support.dropped_streams --model DIR [--drops 4000] [--warm-up 500]

Starts a real `codellama serve` on 127.0.0.1 (tests.support.worker_process), opens streaming
completions over raw sockets, reads until the first `data:` chunk, closes the socket, and prints
the worker's RSS every `--every` drops after a warm-up. Bounded: exactly warm-up + drops streams.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.worker_process import running_worker


def body(temperature: float) -> bytes:
    return json.dumps({"prompt": [1, 5, 6, 7, 8], "max_tokens": 3000,
                       "temperature": temperature, "stream": True, "ignore_eos": True}).encode()


def drop_one(host: str, port: int, content: bytes) -> None:
    """One streaming completion, closed by us as soon as its first chunk arrives."""
    head = (f"POST /v1/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json"
            f"\r\nContent-Length: {len(content)}\r\n\r\n").encode()
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(head + content)
        received = b""
        while b"data: " not in received:
            chunk = sock.recv(65536)
            if not chunk:
                raise RuntimeError(f"the worker closed the stream early: {received[:200]!r}")
            received += chunk


def measure(model: Path, drops: int, warm_up: int, every: int, temperature: float,
            args: list[str]) -> list[int]:
    content = body(temperature)
    with running_worker(model, *args) as worker:
        url = urlsplit(worker.url)
        host, port = url.hostname or "127.0.0.1", url.port or 80
        for _ in range(warm_up):
            drop_one(host, port, content)
        worker.wait_for("codellama_worker_running", lambda v: v == 0)
        samples = [worker.rss_bytes()]
        print(f"after warm-up of {warm_up}: rss {samples[0] / 2 ** 20:.1f} MiB", flush=True)
        for done in range(1, drops + 1):
            drop_one(host, port, content)
            if done % every == 0:
                worker.wait_for("codellama_worker_running", lambda v: v == 0)
                samples.append(worker.rss_bytes())
                grown = (samples[-1] - samples[0]) / 2 ** 10
                print(f"{done} drops: rss {samples[-1] / 2 ** 20:.1f} MiB "
                      f"(+{grown:.0f} KiB since warm-up)", flush=True)
        if "Traceback" in worker.log():
            print(worker.log(), file=sys.stderr)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--drops", type=int, default=4000)
    parser.add_argument("--warm-up", type=int, default=500)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("worker_args", nargs="*", help="extra `codellama serve` options")
    options = parser.parse_args()
    samples = measure(options.model, options.drops, options.warm_up, options.every,
                      options.temperature, options.worker_args)
    growth = samples[-1] - samples[0]
    print(f"growth over {options.drops} dropped streams: {growth / 2 ** 10:.0f} KiB "
          f"({growth / options.drops:.0f} bytes per stream)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
