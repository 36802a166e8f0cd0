"""`codellama bench worker --engine URL` drives an OpenAI-compatible server already running
(here a `codellama serve`) with the requests it sends its own worker, at each client count."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import run_cli
from tests.support.worker_process import running_worker

pytestmark = pytest.mark.server


def test_a_running_server_is_measured_at_each_client_count(tiny_model):
    with running_worker(tiny_model, "--max-batch", "4") as worker:
        result = run_cli("bench", "worker", "--engine", worker.url, "--clients", "1,3",
                         "--rounds", "2", "--max-tokens", "3", "--json", timeout=300)
        served = worker.metrics()
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["engine"] == worker.url and report["model"]  # named by /v1/models
    assert [(r["clients"], r["requests"]) for r in report["results"]] == [(1, 2), (3, 6)]
    assert all(r["p95_ms"] >= r["p50_ms"] > 0 for r in report["results"])
    generated = served["codellama_worker_generated_tokens_total"]
    assert generated == (8 + 2 + 6) * 3  # the warm-up's 8 and every request's 3 tokens


def test_an_engine_that_is_not_a_url_is_refused_in_one_line():
    result = run_cli("bench", "worker", "--engine", "localhost:8080")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "http(s)://HOST:PORT" in result.stderr
