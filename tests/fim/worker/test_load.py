"""A bounded load test on loopback: 200 requests from 16 concurrent clients, each answered with a
completion or a 429, none lost or hung, the worker's memory flat."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.worker_process import running_worker

pytestmark = pytest.mark.server

CLIENTS = 16
REQUESTS = 200
SLOTS = 4


@pytest.fixture(scope="module")
def worker(tiny_model):
    with running_worker(tiny_model, "--max-queue", "8", "--max-batch", "8", "--cache-slots",
                        str(SLOTS)) as running:
        yield running


def body(i: int) -> dict:
    prefix = f"def handler_{i}(request):\n    value = request.get({i % 7})\n    return "
    return {"prompt": f"<PRE> {prefix} <SUF>\n <MID>", "max_tokens": 8 + i % 5,
            "temperature": 0.5 if i % 3 else 0, "seed": i, "user": f"editor-{i % 24}"}


def run_round(url: str, count: int) -> list[object]:
    """`count` requests from CLIENTS threads, each with its own HTTP client (connection); each
    answer as (status, json) or the exception."""
    local = threading.local()
    clients: list[httpx.Client] = []

    def one(i: int):
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=60)
            clients.append(local.client)
        try:
            response = local.client.post(url + "/v1/completions", json=body(i))
            return response.status_code, response.json()
        except Exception as exc:  # a lost or hung request shows here
            return exc
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            return list(pool.map(one, range(count)))
    finally:
        for client in clients:
            client.close()


@pytest.mark.slow
def test_every_request_is_answered_and_memory_stays_flat(worker):
    warm = run_round(worker.url, 32)
    assert all(isinstance(a, tuple) for a in warm)
    rss_before = worker.rss_bytes()

    answers = run_round(worker.url, REQUESTS)

    rss_after = worker.rss_bytes()
    errors = [a for a in answers if not isinstance(a, tuple)]
    assert errors == []
    statuses = [status for status, _ in answers]
    assert set(statuses) <= {200, 429}
    assert statuses.count(200) >= REQUESTS // 4
    for status, data in answers:
        if status == 200:
            assert isinstance(data["choices"][0]["text"], str)
            assert data["choices"][0]["finish_reason"] in ("stop", "length")
        else:
            assert "queue is full" in data["error"]["message"]
    metrics = worker.metrics()
    answered = sum(v for k, v in metrics.items()
                   if k.startswith('codellama_worker_requests_total{path="/v1/completions"'))
    assert answered == 32 + REQUESTS
    assert metrics["codellama_worker_queue_depth"] == 0
    assert metrics["codellama_worker_running"] == 0
    assert metrics["codellama_worker_cache_slots"] <= SLOTS
    assert rss_after - rss_before < 40 * 2 ** 20, (rss_before, rss_after)
