"""Token healing with serving engines: the constraint each API can express (vLLM and our worker:
a `structured_outputs` regex; TGI: a `grammar` regex; llama.cpp: a GBNF `grammar`), the answer
read after the removed text, and Ollama, which cannot express it, completing unhealed."""

from __future__ import annotations

import json
import logging
import threading

import pytest

from codellama_lsp.completion.pipeline import CompletionOptions, complete_in_document
from codellama_lsp.syntax.parsed import ParsedDocument
from fim.engines.base import GenerationRequest
from fim.engines.remote import RemoteEngine, RemoteOptions, parse_engine_url
from fim.healing import prefix_grammar, prefix_regex
from fim.prompt import FimFormat, build_prompt
from tests.support.engines import FakeServingEngine

pytestmark = pytest.mark.unit

PREFIX, SUFFIX = "def mean(values):\n    total = sum(values)\n    ret", "\n"


@pytest.fixture()
def fake():
    servers: list[FakeServingEngine] = []
    engines: list[RemoteEngine] = []

    def start(routes: dict, protocol: str = "", query: str = "", tokenizer=None):
        servers.append(FakeServingEngine(routes))
        url = f"{protocol}{servers[-1].url}{query}"
        engines.append(RemoteEngine(parse_engine_url(url), tokenizer, 4096, RemoteOptions()))
        return servers[-1], engines[-1]
    yield start
    for engine in engines:
        engine.close()
    for server in servers:
        server.close()


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    from fim.tokenizer import load_tokenizer

    return load_tokenizer(tiny_model)


def healed(tokenizer, fmt=FimFormat.SPM):
    prompt = build_prompt(tokenizer, PREFIX, SUFFIX, fmt, heal=True)
    assert prompt.heal_text == "ret"
    return GenerationRequest(prompt.ids, 16, stop=["\n"], heal_text=prompt.heal_text)


def ok(payload):
    return lambda body: (200, payload, {})


def events(*texts: str):
    chunks = [{"choices": [{"index": 0, "text": t, "finish_reason": None}]} for t in texts]
    chunks.append({"choices": [{"index": 0, "text": "", "finish_reason": "stop"}]})
    data = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    return lambda body: (200, data.encode(), {"Content-Type": "text/event-stream"})


def test_vllm_and_our_worker_get_a_structured_outputs_regex(fake, tokenizer):
    server, remote = fake({("POST", "/v1/completions"): events("return", " total")},
                          query="?model=m", tokenizer=tokenizer)
    assert remote.can_heal
    result = remote.generate(healed(tokenizer))
    (body,) = server.bodies("/v1/completions")
    assert body["structured_outputs"] == {"regex": "ret[\\s\\S]*"}
    assert result.text == "urn total"


def test_tgi_gets_a_grammar_regex(fake, tokenizer):
    server, remote = fake({("POST", "/generate"): ok({
        "generated_text": "return total <EOT>",
        "details": {"finish_reason": "stop_sequence", "generated_tokens": 3}})},
        protocol="tgi+", tokenizer=tokenizer)
    result = remote.generate(healed(tokenizer))
    (body,) = server.bodies("/generate")
    assert body["parameters"]["grammar"] == {"type": "regex", "value": prefix_regex("ret")}
    assert body["inputs"].endswith(" <MID> " + PREFIX[:-3])  # the prompt text is healed too
    assert (result.text, result.stop_reason) == ("urn total", "eot")


@pytest.mark.parametrize("protocol, path", [("llamacpp+", "/completion"),
                                            ("llamacpp-infill+", "/infill")])
def test_llamacpp_gets_a_gbnf_grammar(fake, tokenizer, protocol, path):
    server, remote = fake({("POST", path): ok({"content": "return total", "stop_type": "eos",
                                               "tokens_predicted": 2})},
                          protocol=protocol, tokenizer=tokenizer)
    result = remote.generate(healed(tokenizer))
    (body,) = server.bodies(path)
    assert body["grammar"] == prefix_grammar("ret") == 'root ::= "ret" [^\\x00]*'
    if path == "/infill":
        assert body["input_prefix"] == PREFIX[:-3]
    assert result.text == "urn total"


def test_a_server_that_ignores_the_constraint_gives_nothing_and_says_so_once(
        fake, tokenizer, caplog):
    server, remote = fake({("POST", "/v1/completions"): events(" = 0")}, query="?model=m",
                          tokenizer=tokenizer)
    with caplog.at_level(logging.WARNING, logger="fim.engines.remote"):
        first = remote.generate(healed(tokenizer))
        second = remote.generate(healed(tokenizer))
    assert first.text == second.text == ""  # " = 0" after "ret" would be wrong
    assert len([r for r in caplog.records if "without the healed text" in r.message]) == 1


def test_ollama_cannot_express_it_and_completes_unhealed_with_one_log_line(
        fake, tokenizer, caplog):
    with caplog.at_level(logging.INFO, logger="fim.engines.remote"):
        server, remote = fake({("POST", "/api/generate"): ok({
            "response": "urn total / len(values)", "done": True, "done_reason": "stop"})},
            protocol="ollama+", query="?model=codellama:7b-code", tokenizer=tokenizer)
    lines = [r.message for r in caplog.records if "no token healing" in r.message]
    assert len(lines) == 1 and "ollama" in lines[0]
    assert not remote.can_heal
    result = complete_in_document(remote, ParsedDocument(PREFIX + SUFFIX, "python"),
                                  len(PREFIX), CompletionOptions(spm=True),
                                  cancel=threading.Event())
    (body,) = server.bodies("/api/generate")
    assert body["prompt"].endswith(" <MID> " + PREFIX) and "format" not in body
    assert not result.healed and result.text == "urn total / len(values)"
