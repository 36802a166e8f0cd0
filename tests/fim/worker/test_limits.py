"""A worker with room for one running and one waiting generation: 429 with Retry-After beyond,
service again once the clients leave; 400 for what could never wait in that queue; loopback by
default."""

from __future__ import annotations

import socket
from contextlib import ExitStack

import httpx
import pytest

from fim.engines.base import EngineError, GenerationRequest
from fim.engines.remote import RemoteEngine, RemoteOptions
from tests.support.cli import run_cli
from tests.support.worker_process import running_worker

pytestmark = pytest.mark.server

LONG = {"prompt": [1, 5, 6, 7], "max_tokens": 3000, "temperature": 0, "stream": True,
        "ignore_eos": True}


@pytest.fixture(scope="module")
def worker(tiny_model):
    with running_worker(tiny_model, "--max-queue", "1", "--max-batch", "1") as running:
        yield running


def test_a_full_queue_answers_429_with_retry_after_and_recovers(worker, tiny_model):
    with httpx.Client(base_url=worker.url, timeout=60) as client, ExitStack() as streams:
        running = streams.enter_context(client.stream("POST", "/v1/completions", json=LONG))
        assert worker.wait_for("codellama_worker_running", lambda v: v == 1) == 1
        waiting = streams.enter_context(client.stream("POST", "/v1/completions", json=LONG))
        assert worker.wait_for("codellama_worker_queue_depth", lambda v: v == 1) == 1
        assert running.status_code == waiting.status_code == 200

        refused = client.post("/v1/completions", json={"prompt": "x = ", "max_tokens": 2})
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        assert "queue is full" in refused.json()["error"]["message"]

        engine = RemoteEngine.open(worker.url, str(tiny_model), 4096,
                                   RemoteOptions(retries=1, backoff_s=0.01))
        try:
            with pytest.raises(EngineError, match="429"):
                engine.generate(GenerationRequest([1, 5, 6], max_new_tokens=2))
        finally:
            engine.close()
    # Both streams are closed: their generations stop and the worker serves again.
    assert worker.wait_for("codellama_worker_running", lambda v: v == 0) == 0
    assert worker.metric("codellama_worker_queue_depth") == 0
    assert worker.metric("codellama_worker_cancellations_total") == 2
    again = httpx.post(worker.url + "/v1/completions", json={"prompt": "x = ", "max_tokens": 2},
                       timeout=60)
    assert again.status_code == 200
    assert worker.metric('codellama_worker_errors_total{kind="overloaded"}') >= 2


@pytest.mark.parametrize("body", [
    {"prompt": "x = ", "n": 2},
    {"prompt": ["x = ", "y = "]},
    {"prompt": [[1, 5], [1, 6]], "max_tokens": 2},
])
def test_a_request_larger_than_the_queue_gets_400_not_429(worker, body):
    overloaded = worker.metric('codellama_worker_errors_total{kind="overloaded"}')
    response = httpx.post(worker.url + "/v1/completions", json=body, timeout=60)
    assert response.status_code == 400
    error = response.json()["error"]
    assert "can never fit this worker's queue of 1 (--max-queue)" in error["message"]
    assert error["param"] == "n" and "retry-after" not in response.headers
    assert worker.metric('codellama_worker_errors_total{kind="overloaded"}') == overloaded


def test_it_binds_to_loopback_unless_told_otherwise(worker):
    assert "listening on http://127.0.0.1:" in worker.log()


def test_a_port_in_use_is_one_line_and_exit_code_2(tiny_model):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = run_cli("serve", "--model", str(tiny_model), "--port", port)
    assert result.returncode == 2
    assert result.stderr == f"codellama serve: error: cannot listen on 127.0.0.1:{port}: " \
        "Address already in use\n"


def test_bench_worker_refuses_bad_client_counts_in_one_line():
    result = run_cli("bench", "worker", "--clients", "1,x")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--clients" in result.stderr
