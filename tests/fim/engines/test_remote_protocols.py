"""RemoteEngine against small loopback servers that speak the documented APIs of TGI (/generate),
llama.cpp (/completion, /infill), Ollama (/api/generate) and vLLM (OpenAI /v1/completions), which
cannot run here; engine URLs; the text form of prompts."""

from __future__ import annotations

import json
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fim.engines.base import EngineError, GenerationRequest
from fim.engines.factory import open_engine
from fim.engines.local import LoadOptions
from fim.engines.remote import RemoteEngine, RemoteOptions, parse_engine_url
from fim.prompt import FimFormat, build_prompt
from fim.prompt_text import parse_prompt_text, prompt_parts, render_prompt_text
from tests.support.engines import FakeServingEngine

pytestmark = pytest.mark.unit

PREFIX, SUFFIX = "def add(a, b):\n    return ", "\n\nprint(add(1, 2))\n"


@pytest.fixture()
def fake():
    servers = []

    def start(routes: dict) -> FakeServingEngine:
        servers.append(FakeServingEngine(routes))
        return servers[-1]
    yield start
    for server in servers:
        server.close()


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    from fim.tokenizer import load_tokenizer

    return load_tokenizer(tiny_model)


def engine(url: str, tokenizer, **options) -> RemoteEngine:
    return RemoteEngine(parse_engine_url(url), tokenizer, 4096, RemoteOptions(**options))


def psm(tokenizer) -> list[int]:
    return build_prompt(tokenizer, PREFIX, SUFFIX, FimFormat.PSM).ids


def ok(payload, headers=None):
    return lambda body: (200, payload, headers or {})


# -- engine URLs ---------------------------------------------------------------------------

@pytest.mark.parametrize("url, protocol, base, model", [
    ("http://127.0.0.1:8000", "openai", "http://127.0.0.1:8000", None),
    ("openai+https://gpu.example:8000/", "openai", "https://gpu.example:8000", None),
    ("tgi+http://127.0.0.1:8080", "tgi", "http://127.0.0.1:8080", None),
    ("llamacpp+http://127.0.0.1:8080", "llamacpp", "http://127.0.0.1:8080", None),
    ("llamacpp-infill+http://127.0.0.1:8080", "llamacpp-infill", "http://127.0.0.1:8080", None),
    ("ollama+http://127.0.0.1:11434?model=codellama:7b-code", "ollama",
     "http://127.0.0.1:11434", "codellama:7b-code"),
])
def test_engine_urls_name_protocol_address_and_model(url, protocol, base, model):
    address = parse_engine_url(url)
    assert (address.protocol, address.base_url, address.model) == (protocol, base, model)


@pytest.mark.parametrize("url, words", [("ftp://host", "not an http"),
                                        ("grpc+http://host:1", "unknown engine protocol"),
                                        ("http://", "not an http")])
def test_bad_engine_urls_are_refused_in_one_line(url, words):
    with pytest.raises(EngineError, match=words):
        parse_engine_url(url)


def test_open_engine_opens_a_url_with_the_local_tokenizer(tiny_model):
    opened = open_engine("tgi+http://127.0.0.1:9", LoadOptions(model=str(tiny_model),
                                                              context_window=2048))
    try:
        assert isinstance(opened, RemoteEngine)
        assert opened.context_window == 2048 and opened.tokenizer.has_fim
    finally:
        opened.close()
    with pytest.raises(EngineError, match="unknown engine"):
        open_engine("remote", LoadOptions(model=str(tiny_model)))


# -- the text form of prompts --------------------------------------------------------------

@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.text("ab \n\t(){}:=_\"'é", max_size=30), suffix=st.text("xy \n)]", max_size=20),
       fmt=st.sampled_from(list(FimFormat)))
def test_prompt_text_parses_back_to_the_same_ids(tokenizer, prefix, suffix, fmt):
    ids = build_prompt(tokenizer, prefix, "" if fmt is FimFormat.L2R else suffix, fmt).ids
    text = render_prompt_text(prompt_parts(tokenizer, ids))
    assert parse_prompt_text(tokenizer, text) == ids


def test_prompt_text_is_code_llamas_conventional_form(tokenizer):
    assert render_prompt_text(prompt_parts(tokenizer, psm(tokenizer))) == \
        f"<PRE> {PREFIX} <SUF>{SUFFIX} <MID>"
    spm = build_prompt(tokenizer, PREFIX, SUFFIX, FimFormat.SPM).ids
    assert render_prompt_text(prompt_parts(tokenizer, spm)) == \
        f"<PRE> <SUF>{SUFFIX} <MID> {PREFIX}"


# -- adapters ------------------------------------------------------------------------------

def test_tgi_gets_text_and_its_answer_is_cut_at_eot(fake, tokenizer):
    server = fake({("POST", "/generate"): ok({
        "generated_text": "a + b <EOT> print(1)",
        "details": {"finish_reason": "stop_sequence", "generated_tokens": 6}})})
    result = engine("tgi+" + server.url, tokenizer).generate(
        GenerationRequest(psm(tokenizer), max_new_tokens=32))
    (body,) = server.bodies("/generate")
    assert body["inputs"] == f"<PRE> {PREFIX} <SUF>{SUFFIX} <MID>"
    assert body["parameters"]["max_new_tokens"] == 32
    assert body["parameters"]["do_sample"] is False and "<EOT>" in body["parameters"]["stop"]
    assert (result.text, result.stop_reason, result.generated_tokens) == ("a + b", "eot", 6)


def test_tgi_sampling_parameters_and_finish_reasons(fake, tokenizer):
    server = fake({("POST", "/generate"): ok({
        "generated_text": "a - b", "details": {"finish_reason": "length", "generated_tokens": 4}})})
    result = engine("tgi+" + server.url, tokenizer).generate(GenerationRequest(
        psm(tokenizer), max_new_tokens=4, temperature=0.2, top_p=0.9, seed=3, stop=["\n\n"]))
    parameters = server.bodies("/generate")[0]["parameters"]
    assert parameters["do_sample"] is True and parameters["temperature"] == 0.2
    assert parameters["top_p"] == 0.9 and parameters["seed"] == 3
    assert parameters["stop"] == ["\n\n", "<EOT>"]
    assert (result.text, result.stop_reason) == ("a - b", "length")


def test_llamacpp_completion_gets_token_ids_and_reports_the_cache(fake, tokenizer):
    ids = psm(tokenizer)
    server = fake({("POST", "/completion"): ok({
        "content": " a + b", "stop": True, "stop_type": "eos", "stopping_word": "",
        "tokens_predicted": 4, "tokens_evaluated": len(ids), "timings": {"prompt_n": 3}})})
    result = engine("llamacpp+" + server.url, tokenizer).generate(
        GenerationRequest(ids, max_new_tokens=16, stop=["\n\n"]))
    (body,) = server.bodies("/completion")
    assert body["prompt"] == ids and body["n_predict"] == 16 and body["cache_prompt"] is True
    assert body["stop"] == ["\n\n"] and body["temperature"] == 0.0
    assert (result.text, result.stop_reason, result.reused_prompt_tokens) == \
        (" a + b", "eot", len(ids) - 3)


def test_llamacpp_older_stop_flags_are_understood(fake, tokenizer):
    server = fake({("POST", "/completion"): ok({
        "content": "x", "stopped_limit": True, "tokens_predicted": 1})})
    result = engine("llamacpp+" + server.url, tokenizer).generate(
        GenerationRequest(psm(tokenizer), max_new_tokens=1))
    assert result.stop_reason == "length"


def test_llamacpp_infill_gets_prefix_and_suffix(fake, tokenizer):
    answer = ok({"content": "a + b", "stop": True, "stop_type": "word", "tokens_predicted": 3})
    server = fake({("POST", "/infill"): answer, ("POST", "/completion"): answer})
    remote = engine("llamacpp-infill+" + server.url, tokenizer)
    result = remote.generate(GenerationRequest(
        build_prompt(tokenizer, PREFIX, SUFFIX, FimFormat.SPM).ids, max_new_tokens=8))
    (body,) = server.bodies("/infill")
    assert (body["input_prefix"], body["input_suffix"]) == (PREFIX, SUFFIX)
    assert body["input_extra"] == [] and body["n_predict"] == 8
    assert result.stop_reason == "stop"
    left_to_right = build_prompt(tokenizer, PREFIX, "", FimFormat.L2R).ids
    remote.generate(GenerationRequest(left_to_right, max_new_tokens=8))
    assert server.bodies("/completion")[0]["prompt"] == left_to_right


def test_ollama_gets_a_raw_text_prompt_and_needs_a_model_name(fake, tokenizer):
    server = fake({("POST", "/api/generate"): ok({
        "model": "codellama:7b-code", "response": "a + b", "done": True, "done_reason": "length",
        "prompt_eval_count": 21, "eval_count": 5})})
    result = engine(f"ollama+{server.url}?model=codellama:7b-code", tokenizer).generate(
        GenerationRequest(psm(tokenizer), max_new_tokens=5, seed=1))
    (body,) = server.bodies("/api/generate")
    assert body["model"] == "codellama:7b-code" and body["raw"] is True
    assert body["stream"] is False and body["prompt"] == f"<PRE> {PREFIX} <SUF>{SUFFIX} <MID>"
    assert body["options"]["num_predict"] == 5 and "<EOT>" in body["options"]["stop"]
    assert (result.text, result.stop_reason, result.prompt_tokens, result.generated_tokens) == \
        ("a + b", "length", 21, 5)
    with pytest.raises(EngineError, match=r"\?model="):
        engine("ollama+" + server.url, tokenizer).generate(GenerationRequest(psm(tokenizer)))


def test_vllm_gets_token_ids_the_served_model_and_eot_as_a_stop_id(fake, tokenizer):
    def stream(body):
        events = [{"choices": [{"index": 0, "text": " a", "finish_reason": None}]},
                  {"choices": [{"index": 0, "text": " + b", "finish_reason": None}]},
                  {"choices": [{"index": 0, "text": "", "finish_reason": "stop",
                                "stop_reason": "\n\n"}]},
                  {"choices": [], "usage": {"prompt_tokens": 18, "completion_tokens": 2,
                                            "prompt_tokens_details": {"cached_tokens": 16}}}]
        data = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        return 200, data.encode(), {"Content-Type": "text/event-stream"}
    server = fake({("GET", "/v1/models"): ok({"data": [{"id": "codellama/CodeLlama-7b-hf"}]}),
                   ("POST", "/v1/completions"): stream})
    ids = psm(tokenizer)
    result = engine(server.url, tokenizer).generate(
        GenerationRequest(ids, max_new_tokens=8, stop=["\n\n"], cache_key="alice"))
    (body,) = server.bodies("/v1/completions")
    assert body["model"] == "codellama/CodeLlama-7b-hf" and body["prompt"] == ids
    assert body["stream"] is True and body["user"] == "alice" and body["stop"] == ["\n\n"]
    assert tokenizer.fim.eot in body["stop_token_ids"]
    assert (result.text, result.stop_reason, result.reused_prompt_tokens) == (" a + b", "stop", 16)


# -- failures ------------------------------------------------------------------------------

def test_an_error_answer_becomes_one_engine_error_with_its_message(fake, tokenizer):
    server = fake({("POST", "/generate"): lambda body: (
        422, {"error": "Input validation error: inputs too long", "error_type": "validation"}, {})})
    with pytest.raises(EngineError, match="answered 422: Input validation error"):
        engine("tgi+" + server.url, tokenizer).generate(GenerationRequest(psm(tokenizer)))
    broken = fake({("POST", "/completion"): lambda body: (200, b"<html>oops", {})})
    with pytest.raises(EngineError, match="not JSON"):
        engine("llamacpp+" + broken.url, tokenizer).generate(GenerationRequest(psm(tokenizer)))


def test_busy_servers_are_retried_after_their_retry_after(fake, tokenizer):
    answers = iter([(503, {"error": "busy"}, {"Retry-After": "0"}),
                    (200, {"content": "x", "stop_type": "limit", "tokens_predicted": 1}, {})])
    server = fake({("POST", "/completion"): lambda body: next(answers)})
    result = engine("llamacpp+" + server.url, tokenizer, retries=2, backoff_s=0.01).generate(
        GenerationRequest(psm(tokenizer), max_new_tokens=1))
    assert result.text == "x" and len(server.bodies("/completion")) == 2


def test_an_unreachable_server_is_retried_with_backoff_then_reported(tokenizer):
    from tests.support.ports import closed_port

    remote = engine(f"http://127.0.0.1:{closed_port()}", tokenizer, retries=2, backoff_s=0.1)
    started = time.monotonic()
    with pytest.raises(EngineError, match="cannot reach the openai engine"):
        remote.generate(GenerationRequest(psm(tokenizer)))
    assert time.monotonic() - started >= 0.3  # waited 0.1 s, then 0.2 s


def test_a_slow_server_times_out_and_a_cancel_returns_at_once(fake, tokenizer):
    def slow(body):
        time.sleep(1.5)
        return 200, {"content": "late", "stop_type": "eos"}, {}
    server = fake({("POST", "/completion"): slow})
    with pytest.raises(EngineError, match="did not answer within 0.3 s"):
        engine("llamacpp+" + server.url, tokenizer, timeout_s=0.3).generate(
            GenerationRequest(psm(tokenizer)))
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    started = time.monotonic()
    result = engine("llamacpp+" + server.url, tokenizer).generate(
        GenerationRequest(psm(tokenizer), cancel=cancel))
    assert result.stop_reason == "cancelled" and time.monotonic() - started < 1.0
