"""What each serving engine's HTTP API wants and answers: one adapter per protocol.

- openai: `POST /v1/completions` (our worker, vLLM, any OpenAI-compatible server), streamed as
  server-sent events, the prompt sent as token ids (exact), `user` naming the cache slot.
- tgi: text-generation-inference `POST /generate`, the prompt as text.
- llamacpp: llama.cpp server `POST /completion`, the prompt as token ids, `cache_prompt`.
- llamacpp-infill: llama.cpp server `POST /infill` with the prefix and suffix as text (llama.cpp
  builds the FIM prompt itself); prompts without FIM go to `/completion`.
- ollama: Ollama `POST /api/generate` with `raw: true`, the prompt as text.

Token healing (`GenerationRequest.heal_text`) goes as a constraint on the answer's start where
the API has one: vLLM's `structured_outputs` regex (our worker serves the same form), TGI's
`grammar` regex, llama.cpp's GBNF `grammar`. Ollama's `format` takes only JSON, so prompts for
it are not healed (`HEALING_PROTOCOLS`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from fim.engines.base import EngineError, GenerationRequest
from fim.healing import prefix_grammar, prefix_regex
from fim.prompt import FimFormat
from fim.prompt_text import prompt_parts, render_prompt_text
from fim.tokenizer import Tokenizer

PROTOCOLS = ("openai", "tgi", "llamacpp", "llamacpp-infill", "ollama")
HEALING_PROTOCOLS = ("openai", "tgi", "llamacpp", "llamacpp-infill")  # can constrain the start
EOT_TEXT = "<EOT>"  # how text-only servers may spell ▁<EOT> in their output


@dataclass
class Outcome:
    """What a server answered, in the Engine's terms."""

    text: str
    reason: str  # eot | eos | stop | length
    prompt_tokens: int
    generated_tokens: int
    reused: int = 0


@dataclass(frozen=True)
class Call:
    path: str
    body: dict
    streams: bool = False


def build_call(protocol: str, request: GenerationRequest, tokenizer: Tokenizer,
               model: str | None) -> Call:
    """The HTTP call that asks `protocol`'s server for `request`."""
    if protocol == "openai":
        return _openai(request, tokenizer, model)
    if protocol == "tgi":
        return _tgi(request, tokenizer)
    if protocol == "llamacpp":
        return Call("/completion", {"prompt": list(request.prompt_ids),
                                    **_llamacpp_options(request)})
    if protocol == "llamacpp-infill":
        parts = prompt_parts(tokenizer, list(request.prompt_ids))
        if parts.format is FimFormat.L2R:
            return Call("/completion", {"prompt": list(request.prompt_ids),
                                        **_llamacpp_options(request)})
        return Call("/infill", {"input_prefix": parts.prefix, "input_suffix": parts.suffix,
                                "input_extra": [], "prompt": "", **_llamacpp_options(request)})
    if protocol == "ollama":
        return _ollama(request, tokenizer, model)
    raise EngineError(f"unknown engine protocol {protocol!r} (choose from {', '.join(PROTOCOLS)})")


def read_answer(protocol: str, data: dict, request: GenerationRequest,
                tokenizer: Tokenizer) -> Outcome:
    """The Outcome of a non-streamed answer of `protocol`'s server."""
    if protocol == "tgi":
        details = data.get("details") or {}
        finish = str(details.get("finish_reason"))
        reason = {"length": "length", "eos_token": "eos"}.get(finish, "stop")
        outcome = Outcome(_text(data, "generated_text"), reason, len(request.prompt_ids),
                          int(details.get("generated_tokens", 0)))
    elif protocol in ("llamacpp", "llamacpp-infill"):
        outcome = Outcome(_text(data, "content"), _llamacpp_reason(data),
                          int(data.get("tokens_evaluated", len(request.prompt_ids))),
                          int(data.get("tokens_predicted", 0)), _llamacpp_reused(data))
    elif protocol == "ollama":
        reason = "length" if data.get("done_reason") == "length" else "eot"
        outcome = Outcome(_text(data, "response"), reason,
                          int(data.get("prompt_eval_count", len(request.prompt_ids))),
                          int(data.get("eval_count", 0)))
    else:
        raise EngineError(f"protocol {protocol!r} answers as a stream")
    return cut_text(outcome, request, tokenizer)


def cut_text(outcome: Outcome, request: GenerationRequest, tokenizer: Tokenizer) -> Outcome:
    """Cut text-only answers at EOT spelled out, or at a stop string the server kept."""
    eot = outcome.text.find(EOT_TEXT) if tokenizer.has_fim else -1
    if eot >= 0:  # "▁<EOT>" reads " <EOT>": its space is part of the piece
        text = outcome.text[:eot]
        outcome.text, outcome.reason = text[:-1] if text.endswith(" ") else text, "eot"
    for stop in request.stop:
        at = outcome.text.find(stop) if stop else -1
        if at >= 0:
            outcome.text, outcome.reason = outcome.text[:at], "stop"
    return outcome


class OpenAIStream:
    """Reads an OpenAI completions event stream into an Outcome."""

    def __init__(self, request: GenerationRequest) -> None:
        self.request = request
        self.parts: list[str] = []
        self.finish: str | None = None
        self.stop_reason = None
        self.usage: dict = {}
        self.done = False

    def feed(self, line: str) -> bool:
        """Take one line of the stream; True when it carried generated text."""
        if not line.startswith("data:"):
            return False
        payload = line[5:].strip()
        if payload == "[DONE]":
            self.done = True
            return False
        event = json.loads(payload)
        if "error" in event:
            raise EngineError(f"the engine failed: {_message(event)}")
        self.usage = event.get("usage") or self.usage
        got_text = False
        for choice in event.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            if choice.get("text"):
                self.parts.append(choice["text"])
                got_text = True
            self.finish = choice.get("finish_reason") or self.finish
            self.stop_reason = choice.get("stop_reason", self.stop_reason)
        return got_text

    def outcome(self) -> Outcome:
        if self.finish == "length":
            reason = "length"
        elif isinstance(self.stop_reason, str):
            reason = "stop"  # vLLM names the stop string that ended it
        else:
            reason = "eot"
        details = self.usage.get("prompt_tokens_details") or {}
        return Outcome("".join(self.parts), reason,
                       int(self.usage.get("prompt_tokens", len(self.request.prompt_ids))),
                       int(self.usage.get("completion_tokens", len(self.parts))),
                       int(details.get("cached_tokens") or 0))


def error_message(body: bytes) -> str:
    """The message of an error answer (OpenAI, TGI, llama.cpp and Ollama shapes), or its text."""
    try:
        return _message(json.loads(body))
    except (ValueError, AttributeError):
        return body.decode("utf-8", "replace").strip()[:300] or "no message"


def _message(data) -> str:
    error = data.get("error")
    if isinstance(error, dict):
        return str(error.get("message", error))
    if error:
        return str(error)
    return str(data.get("message") or data.get("detail") or data)


def _openai(request: GenerationRequest, tokenizer: Tokenizer, model: str | None) -> Call:
    body = {"prompt": list(request.prompt_ids), "max_tokens": request.max_new_tokens,
            "temperature": request.temperature, "top_p": request.top_p, "stream": True,
            "stream_options": {"include_usage": True}, "user": request.cache_key,
            # Code Llama ends an infill with ▁<EOT>, which is not its EOS (vLLM extension).
            "stop_token_ids": sorted(tokenizer.stop_ids())}
    if model:
        body["model"] = model
    if request.stop:
        body["stop"] = list(request.stop)
    if request.seed is not None:
        body["seed"] = request.seed
    if request.heal_text:
        body["structured_outputs"] = {"regex": prefix_regex(request.heal_text)}
    return Call("/v1/completions", body, streams=True)


def _tgi(request: GenerationRequest, tokenizer: Tokenizer) -> Call:
    parameters: dict = {"max_new_tokens": request.max_new_tokens, "details": True,
                        "stop": _text_stops(request, tokenizer), "do_sample": False}
    if request.temperature > 0:
        parameters.update(do_sample=True, temperature=request.temperature)
        if 0 < request.top_p < 1:
            parameters["top_p"] = request.top_p
    if request.seed is not None:
        parameters["seed"] = request.seed
    if request.heal_text:
        parameters["grammar"] = {"type": "regex", "value": prefix_regex(request.heal_text)}
    text = render_prompt_text(prompt_parts(tokenizer, list(request.prompt_ids)))
    return Call("/generate", {"inputs": text, "parameters": parameters})


def _llamacpp_options(request: GenerationRequest) -> dict:
    options = {"n_predict": request.max_new_tokens, "temperature": request.temperature,
               "top_p": request.top_p, "stop": list(request.stop), "cache_prompt": True,
               "stream": False, "seed": request.seed if request.seed is not None else -1}
    if request.heal_text:
        options["grammar"] = prefix_grammar(request.heal_text)
    return options


def _ollama(request: GenerationRequest, tokenizer: Tokenizer, model: str | None) -> Call:
    if not model:
        raise EngineError("an Ollama engine needs its model name, e.g. "
                          "ollama+http://127.0.0.1:11434?model=codellama:7b-code")
    options = {"num_predict": request.max_new_tokens, "temperature": request.temperature,
               "top_p": request.top_p, "stop": _text_stops(request, tokenizer)}
    if request.seed is not None:
        options["seed"] = request.seed
    text = render_prompt_text(prompt_parts(tokenizer, list(request.prompt_ids)))
    return Call("/api/generate", {"model": model, "prompt": text, "raw": True, "stream": False,
                                  "options": options})


def _text_stops(request: GenerationRequest, tokenizer: Tokenizer) -> list[str]:
    return list(request.stop) + ([EOT_TEXT] if tokenizer.has_fim else [])


def _text(data: dict, key: str) -> str:
    text = data.get(key)
    if not isinstance(text, str):
        raise EngineError(f"the engine's answer has no {key!r} text")
    return text


def _llamacpp_reason(data: dict) -> str:
    kind = data.get("stop_type")
    if kind is None:  # older servers: stopped_eos / stopped_word / stopped_limit
        kind = ("eos" if data.get("stopped_eos") else "word" if data.get("stopped_word")
                else "limit")
    return {"eos": "eot", "word": "stop", "limit": "length"}.get(kind, "length")


def _llamacpp_reused(data: dict) -> int:
    timings = data.get("timings") or {}
    evaluated = data.get("tokens_evaluated")
    computed = timings.get("prompt_n")
    if isinstance(evaluated, int) and isinstance(computed, int):
        return max(0, evaluated - computed)
    return 0
