"""Token healing through a real `codellama serve`: vLLM's `structured_outputs` regex in the one
form healing sends, answers that start with its text, and the editor's path over the worker."""

from __future__ import annotations

import httpx
import pytest

from codellama_lsp.completion.pipeline import CompletionOptions, complete_in_document
from codellama_lsp.syntax.parsed import ParsedDocument
from fim.engines.base import GenerationRequest
from fim.engines.remote import RemoteEngine, RemoteOptions
from fim.healing import prefix_regex
from fim.prompt import FimFormat, build_prompt
from tests.support.worker_process import running_worker, sse_events

pytestmark = pytest.mark.server

PREFIX, SUFFIX = "import math\n\n\ndef area(radius):\n    ret", "\n\n\nprint(area(2))\n"


@pytest.fixture(scope="module")
def worker(tiny_model):
    with running_worker(tiny_model, "--max-batch", "4") as running:
        yield running


@pytest.fixture(scope="module")
def client(worker):
    with httpx.Client(base_url=worker.url, timeout=60) as http:
        yield http


@pytest.fixture(scope="module")
def prompt(tiny_engine):
    healed = build_prompt(tiny_engine.tokenizer, PREFIX, SUFFIX, FimFormat.SPM, heal=True)
    assert healed.heal_text == "ret"
    return healed


def test_every_answer_starts_with_the_text_and_goes_on_as_the_local_engine(
        client, tiny_engine, prompt):
    local = tiny_engine.generate(GenerationRequest(prompt.ids, 12, heal_text="ret"))
    constraint = {"regex": prefix_regex("ret")}
    whole = client.post("/v1/completions", json={
        "prompt": prompt.ids, "max_tokens": 12, "temperature": 0,
        "structured_outputs": constraint}).json()
    assert whole["choices"][0]["text"] == "ret" + local.text
    sampled = client.post("/v1/completions", json={
        "prompt": prompt.ids, "max_tokens": 6, "temperature": 0.8, "n": 4, "seed": 1,
        "structured_outputs": constraint}).json()
    assert all(c["text"].startswith("ret") for c in sampled["choices"])
    with client.stream("POST", "/v1/completions", json={
            "prompt": prompt.ids, "max_tokens": 12, "temperature": 0, "stream": True,
            "structured_outputs": constraint}) as response:
        lines = [line for line in response.iter_lines() if line]
    streamed = "".join(c["text"] for e in sse_events(lines) for c in e["choices"])
    assert streamed == whole["choices"][0]["text"]


@pytest.mark.parametrize("value", [{"regex": "ret.*"}, {"json": {}}, "ret",
                                   {"regex": "(a|b)[\\s\\S]*"}])
def test_other_structured_outputs_are_refused_with_400(client, prompt, value):
    response = client.post("/v1/completions", json={"prompt": prompt.ids, "max_tokens": 2,
                                                    "structured_outputs": value})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "structured_outputs" and "TEXT" in error["message"]


def test_the_editor_heals_over_the_worker(worker, tiny_model, tiny_engine):
    remote = RemoteEngine.open(worker.url, str(tiny_model), 4096, RemoteOptions())
    try:
        document = ParsedDocument(PREFIX + SUFFIX, "python")
        options = CompletionOptions(spm=True, max_new_tokens=12)
        over_http = complete_in_document(remote, document, len(PREFIX), options)
        in_process = complete_in_document(tiny_engine, document, len(PREFIX), options)
    finally:
        remote.close()
    assert over_http.healed and in_process.healed
    assert over_http.raw == in_process.raw
