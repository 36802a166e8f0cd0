"""The OpenAI `/v1/completions` request and response shapes, checked and built for the worker."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from fim.prompt_text import parse_prompt_text
from fim.tokenizer import Tokenizer, TokenizerError

MAX_CHOICES = 16
MAX_STOPS = 16
# Fields an OpenAI client may send that the worker cannot honour: refused, not ignored.
_UNSUPPORTED = {"logprobs": None, "echo": False, "best_of": None, "suffix": None,
                "logit_bias": None, "frequency_penalty": 0, "presence_penalty": 0}


class BadRequest(ValueError):
    """A request the worker refuses with 400 (or `status`), with a message for the client."""

    def __init__(self, message: str, param: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.param = param
        self.status = status


@dataclass
class CompletionParams:
    prompts: list[list[int]]
    max_tokens: int = 16
    temperature: float = 1.0
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    n: int = 1
    stream: bool = False
    include_usage: bool = False
    user: str = ""
    seed: int | None = None
    ignore_eos: bool = False
    stop_token_ids: list[int] = field(default_factory=list)


def parse_completion(body: object, tokenizer: Tokenizer, context_window: int,
                     model_name: str) -> CompletionParams:
    """Check a request body and turn it into parameters; raise BadRequest naming the problem."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    model = body.get("model")
    if model is not None and model != model_name:
        raise BadRequest(f"model {model!r} is not served here (this worker serves "
                         f"{model_name!r})", "model", status=404)
    for name, default in _UNSUPPORTED.items():
        if body.get(name, default) not in (default, None):
            raise BadRequest(f"{name} is not supported by this worker", name)
    params = CompletionParams(
        prompts=_prompts(body.get("prompt"), tokenizer),
        max_tokens=_integer(body, "max_tokens", 16, 1, context_window),
        temperature=_number(body, "temperature", 1.0, 0.0, 2.0),
        top_p=_number(body, "top_p", 1.0, 0.0, 1.0),
        stop=_stops(body.get("stop")),
        n=_integer(body, "n", 1, 1, MAX_CHOICES),
        stream=_boolean(body, "stream", False),
        user=_string(body, "user"),
        seed=_optional_integer(body, "seed"),
        ignore_eos=_boolean(body, "ignore_eos", False),
        stop_token_ids=_token_ids(body.get("stop_token_ids", []), tokenizer, "stop_token_ids"),
    )
    if params.top_p == 0:
        raise BadRequest("top_p must be greater than 0", "top_p")
    options = body.get("stream_options")
    if options is not None:
        if not isinstance(options, dict):
            raise BadRequest("stream_options must be an object", "stream_options")
        params.include_usage = bool(options.get("include_usage", False))
    for ids in params.prompts:
        if len(ids) + params.max_tokens > context_window:
            raise BadRequest(f"prompt of {len(ids)} tokens plus max_tokens {params.max_tokens} "
                             f"exceeds the context window of {context_window} tokens", "prompt")
    if len(params.prompts) * params.n > MAX_CHOICES:
        raise BadRequest(f"at most {MAX_CHOICES} generations per request (prompts times n)", "n")
    return params


def _prompts(prompt: object, tokenizer: Tokenizer) -> list[list[int]]:
    """One prompt or a list of them; each text or token ids."""
    if isinstance(prompt, str):
        return [_text_ids(prompt, tokenizer)]
    if isinstance(prompt, list) and prompt and all(isinstance(p, int) for p in prompt):
        return [_token_ids(prompt, tokenizer, "prompt")]
    if isinstance(prompt, list) and prompt:
        prompts = []
        for item in prompt:
            if isinstance(item, str):
                prompts.append(_text_ids(item, tokenizer))
            elif isinstance(item, list) and item:
                prompts.append(_token_ids(item, tokenizer, "prompt"))
            else:
                raise BadRequest("each prompt must be text or a non-empty list of token ids",
                                 "prompt")
        return prompts
    raise BadRequest("prompt must be text, a non-empty list of token ids, or a list of those",
                     "prompt")


def _text_ids(text: str, tokenizer: Tokenizer) -> list[int]:
    try:
        return parse_prompt_text(tokenizer, text)
    except TokenizerError as exc:
        raise BadRequest(str(exc), "prompt") from None


def _token_ids(ids: object, tokenizer: Tokenizer, name: str) -> list[int]:
    if not isinstance(ids, list):
        raise BadRequest(f"{name} must be a list of token ids", name)
    size = tokenizer.vocab_size
    for token in ids:
        if not isinstance(token, int) or isinstance(token, bool) or not 0 <= token < size:
            raise BadRequest(f"{name} holds {token!r}, not a token id (0..{size - 1})", name)
    return list(ids)


def _stops(stop: object) -> list[str]:
    if stop is None:
        return []
    stops = [stop] if isinstance(stop, str) else stop
    if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
        raise BadRequest("stop must be a non-empty string or a list of them", "stop")
    if len(stops) > MAX_STOPS:
        raise BadRequest(f"at most {MAX_STOPS} stop strings", "stop")
    return stops


def _integer(body: dict, name: str, default: int, low: int, high: int) -> int:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise BadRequest(f"{name} must be an integer from {low} to {high}, got {value!r}", name)
    return value


def _optional_integer(body: dict, name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    return _integer(body, name, 0, 0, 2 ** 63 - 1 - MAX_CHOICES)


def _number(body: dict, name: str, default: float, low: float, high: float) -> float:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not low <= value <= high:
        raise BadRequest(f"{name} must be a number from {low} to {high}, got {value!r}", name)
    return float(value)


def _boolean(body: dict, name: str, default: bool) -> bool:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false, got {value!r}", name)
    return value


def _string(body: dict, name: str) -> str:
    value = body.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string, got {value!r}", name)
    return value


# -- responses ---------------------------------------------------------------------------

FINISH_REASONS = {"eot": "stop", "eos": "stop", "stop": "stop", "length": "length"}


def completion_id() -> str:
    return f"cmpl-{uuid.uuid4().hex}"


def error_body(message: str, kind: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def completion_body(request_id: str, model: str, created: int, choices: list[dict],
                    usage: dict | None) -> dict:
    body = {"id": request_id, "object": "text_completion", "created": created, "model": model,
            "choices": choices}
    if usage is not None:
        body["usage"] = usage
    return body


def choice(index: int, text: str, finish_reason: str | None) -> dict:
    return {"index": index, "text": text, "logprobs": None, "finish_reason": finish_reason}


def usage(prompt_tokens: int, completion_tokens: int, cached_tokens: int) -> dict:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached_tokens}}


def now() -> int:
    return int(time.time())
