"""Start a real `codellama serve` process on a free loopback port, for the worker tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.paths import ROOT
from tests.support.ports import listening_url
from tests.support.waiting import until


@dataclass
class Worker:
    url: str
    process: subprocess.Popen
    log_path: Path

    def metrics(self) -> dict[str, float]:
        """The worker's Prometheus page as {'name{labels}': value}."""
        text = httpx.get(self.url + "/metrics", timeout=10).text
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    def metric(self, name: str) -> float:
        return self.metrics().get(name, 0.0)

    def wait_for(self, name: str, predicate, timeout: float = 10.0) -> float:
        """Poll metric `name` until `predicate(value)`; return the value (fail after timeout)."""
        until(lambda: predicate(self.metric(name)), f"metric {name}", timeout)
        return self.metric(name)

    def rss_bytes(self) -> int:
        import psutil

        return psutil.Process(self.process.pid).memory_info().rss

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@contextmanager
def running_worker(model: Path, *args: str, timeout: float = 90) -> Iterator[Worker]:
    """`codellama serve --model MODEL ARGS` on 127.0.0.1 (a port it picks), ready to answer;
    stopped afterwards."""
    # One torch thread: on a small shared CPU more threads spin against the HTTP thread.
    env = {"OMP_NUM_THREADS": "1", **os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    env.pop("CODELLAMA_API_KEY", None)
    log = Path(tempfile.mkstemp(prefix="codellama-worker-", suffix=".log")[1])
    with open(log, "wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "codellama_lsp", "serve", "--model",
                                    str(model), "--port", "0", *args],
                                   stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    worker = Worker("", process, log)
    try:
        _wait_ready(worker, timeout)
        yield worker
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.unlink(missing_ok=True)


def _wait_ready(worker: Worker, timeout: float) -> None:
    """Until the worker says where it listens and answers /health there."""
    def ready() -> bool:
        if worker.process.poll() is not None:
            raise RuntimeError(f"codellama serve exited early:\n{worker.log()}")
        worker.url = worker.url or listening_url(worker.log()) or ""
        try:
            return bool(worker.url) and \
                httpx.get(worker.url + "/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False
    until(ready, f"codellama serve ready (log: {worker.log_path})", timeout, interval_s=0.1)


def sse_events(lines) -> list[dict]:
    """The JSON events of an OpenAI event stream (without the closing [DONE])."""
    import json

    events = []
    for line in lines:
        match = re.match(r"data: (.*)", line)
        if match and match.group(1) != "[DONE]":
            events.append(json.loads(match.group(1)))
    return events
