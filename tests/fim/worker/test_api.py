"""A real `codellama serve` process on loopback with the tiny model, driven over HTTP and by the
RemoteEngine: completions, streaming, text and token-id prompts, errors, cancellation, metrics."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from codellama_lsp.completion.pipeline import CompletionOptions, complete_in_document
from codellama_lsp.syntax.parsed import ParsedDocument
from fim.engines.base import EngineError, GenerationRequest
from fim.engines.remote import RemoteEngine, RemoteOptions
from fim.prompt import FimFormat, build_prompt
from fim.prompt_text import prompt_parts, render_prompt_text
from tests.support.cli import run_cli
from tests.support.worker_process import running_worker, sse_events

pytestmark = pytest.mark.server

KEY = "test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
CASES = [("def add(a, b):\n    return ", "\n\nprint(add(1, 2))\n"),
         ("import os\n\n", ""),
         ("", "    pass\n"),
         ("class Point:\n    def __init__(self, x", "):\n        self.x = x\n")]


@pytest.fixture(scope="module")
def worker(tiny_model):
    with running_worker(tiny_model, "--api-key", KEY, "--max-batch", "4") as running:
        yield running


@pytest.fixture(scope="module")
def client(worker):
    with httpx.Client(base_url=worker.url, headers=AUTH, timeout=60) as http:
        yield http


@pytest.fixture(scope="module")
def remote(worker, tiny_model):
    engine = RemoteEngine.open(worker.url, str(tiny_model), 4096, RemoteOptions(api_key=KEY))
    yield engine
    engine.close()


def ids_for(engine, prefix: str, suffix: str, fmt: FimFormat = FimFormat.PSM) -> list[int]:
    return build_prompt(engine.tokenizer, prefix, suffix, fmt).ids


def complete(client, **body) -> dict:
    response = client.post("/v1/completions", json={"temperature": 0, **body})
    assert response.status_code == 200, response.text
    return response.json()


def test_completion_equals_the_local_engine(client, tiny_engine):
    ids = ids_for(tiny_engine, *CASES[0])
    expected = tiny_engine.generate(GenerationRequest(ids, max_new_tokens=12))
    body = complete(client, prompt=ids, max_tokens=12)
    assert body["object"] == "text_completion"
    assert body["choices"][0]["text"] == expected.text
    assert body["choices"][0]["finish_reason"] == ("length" if expected.stop_reason == "length"
                                                   else "stop")
    assert body["usage"]["prompt_tokens"] == len(ids)
    assert body["usage"]["completion_tokens"] == expected.generated_tokens


@pytest.mark.parametrize("fmt", [FimFormat.PSM, FimFormat.SPM])
def test_text_prompt_completes_like_its_token_ids(client, tiny_engine, fmt):
    for prefix, suffix in CASES:
        ids = ids_for(tiny_engine, prefix, suffix, fmt)
        text = render_prompt_text(prompt_parts(tiny_engine.tokenizer, ids))
        by_ids = complete(client, prompt=ids, max_tokens=10)
        by_text = complete(client, prompt=text, max_tokens=10)
        assert by_text["usage"]["prompt_tokens"] == len(ids)
        assert by_text["choices"][0]["text"] == by_ids["choices"][0]["text"]


def test_streaming_sends_the_same_text_as_server_sent_events(client, tiny_engine):
    ids = ids_for(tiny_engine, *CASES[3])
    whole = complete(client, prompt=ids, max_tokens=16)["choices"][0]
    body = {"prompt": ids, "max_tokens": 16, "temperature": 0, "stream": True,
            "stream_options": {"include_usage": True}}
    with client.stream("POST", "/v1/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    events = sse_events(lines)
    pieces = [c["text"] for e in events for c in e["choices"]]
    assert len([p for p in pieces if p]) > 1
    assert "".join(pieces) == whole["text"]
    assert events[-2]["choices"][0]["finish_reason"] == whole["finish_reason"]
    assert events[-1]["choices"] == [] and events[-1]["usage"]["completion_tokens"] > 0


def test_stop_strings_cut_the_text_also_when_streamed(client, tiny_engine):
    ids = ids_for(tiny_engine, *CASES[0])
    full = complete(client, prompt=ids, max_tokens=20)["choices"][0]["text"]
    stop = full[4:6]
    cut = complete(client, prompt=ids, max_tokens=20, stop=[stop])["choices"][0]
    assert cut["text"] == full[: full.find(stop)] and cut["finish_reason"] == "stop"
    with client.stream("POST", "/v1/completions", json={"prompt": ids, "max_tokens": 20,
                                                        "temperature": 0, "stop": stop,
                                                        "stream": True}) as response:
        streamed = "".join(c["text"] for e in sse_events(response.iter_lines())
                           for c in e["choices"])
    assert streamed == cut["text"]


def test_several_prompts_and_choices_in_one_request(client, tiny_engine, worker):
    prompts = [ids_for(tiny_engine, p, s) for p, s in CASES]
    singles = [complete(client, prompt=ids, max_tokens=10)["choices"][0]["text"]
               for ids in prompts]
    batches_before = worker.metric("codellama_worker_batch_size_count")
    ones_before = worker.metric('codellama_worker_batch_size_bucket{le="1.0"}')
    together = complete(client, prompt=prompts, max_tokens=10)
    assert [c["index"] for c in together["choices"]] == [0, 1, 2, 3]
    # Decoded in one batch (left padding, attention mask), each row gives its lone answer.
    assert [c["text"] for c in together["choices"]] == singles
    batched = (worker.metric("codellama_worker_batch_size_count") - batches_before
               - (worker.metric('codellama_worker_batch_size_bucket{le="1.0"}') - ones_before))
    assert batched > 0
    sampled = complete(client, prompt=prompts[0], max_tokens=10, n=3, temperature=1.0, seed=7)
    assert [c["index"] for c in sampled["choices"]] == [0, 1, 2]
    assert len({c["text"] for c in sampled["choices"]}) > 1


def test_each_user_keeps_its_own_cache(client, tiny_engine):
    alice = ids_for(tiny_engine, "def alice():\n    return ", "\n", FimFormat.SPM)
    bob = ids_for(tiny_engine, "x = [1, 2, 3]\ny = ", "\n", FimFormat.SPM)
    def cached(ids, user):
        return complete(client, prompt=ids, max_tokens=4, user=user)[
            "usage"]["prompt_tokens_details"]["cached_tokens"]
    assert cached(alice, "alice") == 0
    assert cached(bob, "bob") == 0
    typed = ids_for(tiny_engine, "def alice():\n    return a", "\n", FimFormat.SPM)
    # Bob's request in between did not evict Alice's prefix.
    assert cached(typed, "alice") >= len(alice) - 2
    assert cached(bob, "bob") == len(bob) - 1


def test_a_missing_or_wrong_key_gets_401(worker):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
        response = httpx.post(worker.url + "/v1/completions", headers=headers,
                              json={"prompt": "x"})
        assert response.status_code == 401
        assert "API key" in response.json()["error"]["message"]
    assert httpx.get(worker.url + "/v1/models").status_code == 401
    assert httpx.get(worker.url + "/health").status_code == 200


@pytest.mark.parametrize("body, words", [
    ("{not json", "not valid JSON"),
    ([1, 2], "JSON object"),
    ({}, "prompt must be"),
    ({"prompt": 42}, "prompt must be"),
    ({"prompt": [1, 5, 100000]}, "not a token id"),
    ({"prompt": [1, 5, "x"]}, "prompt"),
    ({"prompt": "x", "max_tokens": 0}, "max_tokens must be"),
    ({"prompt": "x", "temperature": -1}, "temperature must be"),
    ({"prompt": "x", "top_p": 1.5}, "top_p must be"),
    ({"prompt": "x", "n": 100}, "n must be"),
    ({"prompt": "x", "stop": 5}, "stop must be"),
    ({"prompt": "x", "stream": "yes"}, "stream must be"),
    ({"prompt": "x", "logprobs": 2}, "logprobs is not supported"),
    ({"prompt": "x", "seed": 2 ** 70}, "seed must be"),
    ({"prompt": "<SUF> a <PRE> b"}, "Code Llama's form"),
    ('{"prompt": "def f():\\ud800 return"}', "lone surrogate"),
    ('{"prompt": ["x", "\\udfff"]}', "lone surrogate"),
    ('{"prompt": "x", "stop": "\\ud83d"}', "lone surrogate"),
    ("[" * 100_000, "nested too deeply"),
    ('{"prompt": ' + "[" * 100_000, "nested too deeply"),
    (b'{"prompt": "\xff\xfe"}', "not valid JSON"),
    ('{"prompt": "x", "max_tokens": 1' + "0" * 5000 + "}", "not valid JSON"),
    ('{"prompt": "x", "temperature": NaN}', "temperature must be"),
    ({"prompt": "x", "top_p": 0}, "top_p must be greater than 0"),
    ({"prompt": "x = 1\n" * 20_000}, "cannot fit the context window"),
])
def test_a_bad_request_gets_400_with_a_message(client, body, words):
    if isinstance(body, (str, bytes)):
        response = client.post("/v1/completions", content=body)
    else:
        response = client.post("/v1/completions", json=body)
    assert response.status_code == 400
    assert words in response.json()["error"]["message"]


def test_sampling_settings_that_underflow_float32_mean_the_most_likely_token(client,
                                                                           tiny_engine):
    ids = ids_for(tiny_engine, *CASES[0])
    greedy = complete(client, prompt=ids, max_tokens=12)["choices"][0]["text"]
    for settings in ({"temperature": 1e-300}, {"temperature": 1e-45},
                     {"temperature": 1.0, "top_p": 1e-300, "seed": 5},
                     {"temperature": 2.0, "top_p": 5e-324, "seed": 6}):
        assert complete(client, prompt=ids, max_tokens=12, **settings)[
            "choices"][0]["text"] == greedy, settings


def test_a_body_over_the_size_limit_gets_413_and_health_answers_meanwhile(client, worker):
    big = b'{"prompt": "' + b"x = 1\\n" * (20 * 2 ** 20 // 7) + b'"}'
    answers: list[httpx.Response] = []
    sender = threading.Thread(target=lambda: answers.append(
        httpx.post(worker.url + "/v1/completions", headers=AUTH, content=big, timeout=60)))
    sender.start()
    while sender.is_alive():
        assert client.get("/health").status_code == 200
    assert answers[0].status_code == 413
    assert "larger than this worker's limit of" in answers[0].json()["error"]["message"]
    pieces = [b'{"prompt": "'] + [b"y" * 2 ** 16] * 40  # sent chunked: no Content-Length
    chunked = client.post("/v1/completions", content=iter(pieces))
    assert chunked.status_code == 413
    assert worker.metric('codellama_worker_errors_total{kind="too_large"}') == 2


def test_a_client_gone_while_sending_its_body_is_a_client_close_not_a_500(worker):
    closed = worker.metric('codellama_worker_errors_total{kind="client_closed"}')
    port = int(worker.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                     + KEY.encode() + b"\r\nContent-Length: 1000\r\n\r\n{\"prompt\": ")
    assert worker.wait_for('codellama_worker_errors_total{kind="client_closed"}',
                           lambda v: v == closed + 1) == closed + 1
    assert not [k for k in worker.metrics() if 'status="500"' in k]
    assert "Traceback" not in worker.log()


def test_an_unknown_model_gets_404_naming_the_served_one(client, worker, tiny_model):
    response = client.post("/v1/completions", json={"prompt": "x", "model": "gpt-4"})
    assert response.status_code == 404
    assert str(tiny_model) in response.json()["error"]["message"]


def test_an_over_long_prompt_gets_400_naming_the_limit(client):
    response = client.post("/v1/completions", json={"prompt": [1] + [5] * 4090, "max_tokens": 16})
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "4091 tokens" in message and "context window of 4096" in message


def test_models_and_health(client, tiny_model):
    models = client.get("/v1/models").json()
    assert models["data"][0]["id"] == str(tiny_model)
    assert models["data"][0]["max_model_len"] == 4096
    assert client.get("/health").json()["status"] == "ok"


def test_a_client_that_disconnects_stops_its_generation(client, worker, tiny_engine):
    cancelled = worker.metric("codellama_worker_cancellations_total")
    generated = worker.metric("codellama_worker_generated_tokens_total")
    body = {"prompt": ids_for(tiny_engine, *CASES[0]), "max_tokens": 3000, "temperature": 0,
            "stream": True, "ignore_eos": True}
    with client.stream("POST", "/v1/completions", json=body) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
    # The connection is closed: the worker stops that generation and says so.
    assert worker.wait_for("codellama_worker_cancellations_total",
                           lambda v: v == cancelled + 1) == cancelled + 1
    assert worker.wait_for("codellama_worker_running", lambda v: v == 0) == 0
    assert worker.metric("codellama_worker_generated_tokens_total") - generated < 1000


def test_a_client_that_gives_up_waiting_stops_its_generation(worker, tiny_engine):
    cancelled = worker.metric("codellama_worker_cancellations_total")
    body = {"prompt": ids_for(tiny_engine, *CASES[1]), "max_tokens": 3000, "temperature": 0,
            "ignore_eos": True}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(worker.url + "/v1/completions", json=body, headers=AUTH, timeout=0.5)
    assert worker.wait_for("codellama_worker_cancellations_total",
                           lambda v: v == cancelled + 1) == cancelled + 1
    assert worker.wait_for("codellama_worker_running", lambda v: v == 0) == 0


def test_remote_engine_completes_like_the_local_engine(remote, tiny_engine):
    ids = ids_for(tiny_engine, *CASES[1])
    expected = tiny_engine.generate(GenerationRequest(ids, max_new_tokens=12))
    first = remote.generate(GenerationRequest(ids, max_new_tokens=12, cache_key="remote-1"))
    again = remote.generate(GenerationRequest(ids, max_new_tokens=12, cache_key="remote-1"))
    assert first.text == again.text == expected.text
    assert first.stop_reason == expected.stop_reason
    assert first.prompt_tokens == len(ids)
    assert again.reused_prompt_tokens == len(ids) - 1
    assert 0 < first.time_to_first_token_s <= first.total_s


def test_remote_engine_cancel_closes_the_stream_and_the_worker_stops(worker, tiny_model,
                                                                    tiny_engine):
    remote = RemoteEngine.open(worker.url, str(tiny_model), 4096,
                               RemoteOptions(api_key=KEY, extra_body={"ignore_eos": True,
                                                                 "stop_token_ids": []}))
    cancelled = worker.metric("codellama_worker_cancellations_total")
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    try:
        result = remote.generate(GenerationRequest(ids_for(tiny_engine, *CASES[2]),
                                                   max_new_tokens=4000, cancel=cancel))
    finally:
        remote.close()
    assert result.stop_reason == "cancelled"
    assert time.monotonic() - started < 3
    assert worker.wait_for("codellama_worker_cancellations_total",
                           lambda v: v > cancelled) == cancelled + 1
    assert worker.wait_for("codellama_worker_running", lambda v: v == 0) == 0


def test_remote_engine_with_a_wrong_key_raises_the_workers_message(worker, tiny_model):
    engine = RemoteEngine.open(worker.url, str(tiny_model), 4096, RemoteOptions(api_key="no"))
    try:
        with pytest.raises(EngineError, match="401: missing or wrong API key"):
            engine.generate(GenerationRequest([1, 5, 6]))
    finally:
        engine.close()


def test_metrics_page_counts_requests_tokens_latency_and_errors(client, worker):
    complete(client, prompt="x = ", max_tokens=3)
    httpx.post(worker.url + "/v1/completions", json={"prompt": "x"})  # no key: 401
    metrics = worker.metrics()
    assert metrics['codellama_worker_requests_total{path="/v1/completions",status="200"}'] >= 1
    assert metrics['codellama_worker_requests_total{path="/v1/completions",status="401"}'] >= 1
    assert metrics['codellama_worker_errors_total{kind="unauthorized"}'] >= 1
    assert metrics["codellama_worker_request_latency_seconds_count"] >= 1
    assert metrics['codellama_worker_request_latency_seconds_bucket{le="+Inf"}'] >= 1
    assert metrics["codellama_worker_time_to_first_token_seconds_count"] >= 1
    assert metrics["codellama_worker_prompt_tokens_total"] > 0
    assert metrics["codellama_worker_generated_tokens_total"] > 0
    assert metrics["codellama_worker_queue_depth"] == 0
    assert "codellama_worker_cancellations_total" in metrics
    assert 1 <= metrics["codellama_worker_cache_slots"] <= 8


def test_cli_completes_through_the_worker(worker, tiny_model, tiny_engine, tmp_path,
                                          monkeypatch):
    source = tmp_path / "app.py"
    text = "def add(a, b):\n    return \n"
    source.write_text(text, encoding="utf-8")
    args = ("complete", f"{source}:2", "--model", str(tiny_model), "--max-new-tokens", "8",
            "--no-context")
    local = complete_in_document(tiny_engine, ParsedDocument(text, path=str(source)),
                                 len(text) - 1, CompletionOptions(max_new_tokens=8, spm=True))
    monkeypatch.setenv("CODELLAMA_API_KEY", KEY)
    remote = run_cli(*args, "--engine", worker.url)
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout == (local.text if local else "")
    monkeypatch.setenv("CODELLAMA_API_KEY", "wrong")
    refused = run_cli(*args, "--engine", worker.url)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "401" in refused.stderr
