"""A real `codellama serve` stopped by SIGTERM or SIGINT with requests in flight: those get their
whole answer, new ones and /health get 503 meanwhile, and the process exits 0; past
`--shutdown-grace` the rest are cut short and it still exits 0."""

from __future__ import annotations

import signal
import threading
from contextlib import ExitStack

import httpx
import pytest

from tests.support.worker_process import running_worker, sse_events

pytestmark = pytest.mark.server

LONG = 600  # tokens: long enough to be in flight while the test looks at the draining worker


def body(max_tokens: int, stream: bool) -> dict:
    return {"prompt": [1, 5, 6, 7], "max_tokens": max_tokens, "temperature": 0,
            "ignore_eos": True, "stream": stream}


def wait_until_draining(url: str) -> httpx.Response:
    """/health on a new connection, until it says the worker drains."""
    for _ in range(200):
        health = httpx.get(url + "/health", timeout=10)
        if health.status_code == 503:
            return health
        threading.Event().wait(0.02)
    raise AssertionError(f"/health never answered 503: {health.status_code} {health.text}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_lets_requests_in_flight_finish_refuses_new_ones_and_exits_0(tiny_model, sig):
    with running_worker(tiny_model, "--max-batch", "4") as worker:
        whole: list[httpx.Response] = []
        waiter = threading.Thread(target=lambda: whole.append(httpx.post(
            worker.url + "/v1/completions", json=body(LONG, False), timeout=120)))
        with httpx.Client(base_url=worker.url, timeout=120) as client, ExitStack() as stack:
            stream = stack.enter_context(client.stream("POST", "/v1/completions",
                                                       json=body(LONG, True)))
            waiter.start()
            assert worker.wait_for("codellama_worker_running", lambda v: v == 2) == 2
            worker.process.send_signal(sig)

            assert wait_until_draining(worker.url).json()["status"] == "draining"
            refused = httpx.post(worker.url + "/v1/completions", json=body(2, False), timeout=10)
            assert refused.status_code == 503
            assert "shutting down" in refused.json()["error"]["message"]

            lines = [line for line in stream.iter_lines() if line]
        waiter.join(timeout=120)
        events = sse_events(lines)
        assert lines[-1] == "data: [DONE]"
        assert events[-1]["choices"][0]["finish_reason"] == "length"
        answer = whole[0].json()
        assert whole[0].status_code == 200, answer
        assert answer["usage"]["completion_tokens"] == LONG
        assert answer["choices"][0]["finish_reason"] == "length"
        assert worker.process.wait(timeout=60) == 0
        assert "Traceback" not in worker.log()


def test_past_the_grace_period_requests_are_cut_short_and_it_still_exits_0(tiny_model):
    with running_worker(tiny_model, "--shutdown-grace", "0.5") as worker:
        with httpx.Client(base_url=worker.url, timeout=120) as client:
            with client.stream("POST", "/v1/completions", json=body(3000, True)) as stream:
                assert worker.wait_for("codellama_worker_running", lambda v: v == 1) == 1
                worker.process.send_signal(signal.SIGTERM)
                lines = [line for line in stream.iter_lines() if line]
        assert lines[-1] == "data: [DONE]"
        reasons = [c["finish_reason"] for e in sse_events(lines) for c in e["choices"]]
        assert "length" not in reasons  # cut short, well before its 3000 tokens
        assert worker.process.wait(timeout=60) == 0
        assert "cancelling 1 request(s) still in flight" in worker.log()
