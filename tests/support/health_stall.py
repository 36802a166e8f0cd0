"""Measure how long the worker's /health waits while large completion requests arrive.

    python -m tests.support.health_stall --model DIR

Starts a real `codellama serve` on 127.0.0.1, sends each large body below from a thread, and
polls /health on one keep-alive connection meanwhile; prints each body's status and the slowest
/health answer. Bounded: one request per case.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.support.worker_process import running_worker

MIB = 2 ** 20


def cases() -> dict[str, object]:
    line = "    total = compute(values, index) + offset\n"
    return {
        "20 MiB text prompt (Content-Length)": _json({"prompt": "x = 1\n" * (20 * MIB // 6)}),
        "20 MiB text prompt (chunked)": iter([b'{"prompt": "'] + [b"y" * 65536] * 320),
        "1 MiB text prompt (under the body limit)": _json({"prompt": "z" * (MIB - 100)}),
        "a text prompt just short enough to be tokenized": _json({"prompt": line * 1400}),
        "1 MiB of token ids": _json({"prompt": [1] * (MIB // 4)}),
        "JSON nested 100,000 deep": b"[" * 100_000,
    }


def _json(body: dict) -> bytes:
    return json.dumps(body).encode()


def slowest_health(url: str, content: object) -> tuple[int, float]:
    """Send `content` while polling /health; the body's status and the slowest /health (s)."""
    status: list[int] = []

    def send() -> None:
        status.append(httpx.post(url + "/v1/completions", content=content, timeout=120)
                      .status_code)

    sender = threading.Thread(target=send)
    slowest = 0.0
    with httpx.Client(base_url=url, timeout=30) as client:
        client.get("/health")
        sender.start()
        while sender.is_alive():
            started = time.perf_counter()
            client.get("/health")
            slowest = max(slowest, time.perf_counter() - started)
    sender.join()
    return status[0], slowest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    options = parser.parse_args()
    with running_worker(options.model) as worker:
        for name, content in cases().items():
            status, slowest = slowest_health(worker.url, content)
            print(f"{name}: {status}, slowest /health {slowest * 1000:.0f} ms", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
