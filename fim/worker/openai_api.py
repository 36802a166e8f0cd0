"""The OpenAI `/v1/completions` request and response shapes, checked and built for the worker.

Beside OpenAI's fields, a few of vLLM's: `ignore_eos`, `stop_token_ids`, and of its
`structured_outputs` the one form token healing sends, `{"regex": LITERAL + "[\\s\\S]*"}`: the
answer starts with LITERAL (its first pieces are constrained to spell it) and goes on freely.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

from fim.healing import regex_prefix
from fim.prompt_text import parse_prompt_text
from fim.tokenizer import Tokenizer, TokenizerError

MAX_CHOICES = 16
MAX_STOPS = 16
# Below these, float32 sampling has no distribution left (logits / 1e-300 overflow; a top_p that
# rounds to 0 keeps no token). Smaller values mean "the most likely token", which these give.
MIN_TEMPERATURE = 1e-5  # below: greedy, as vLLM does
MIN_TOP_P = 1e-6  # keeps the most likely token alone, as any smaller top_p would
# A request body's size limit, per token of context and per generation it may ask for: room for
# text prompts escaped as \uXXXX, far more than any prompt that fits the context window needs.
BODY_BYTES_PER_TOKEN = 16
# Fields an OpenAI client may send that the worker cannot honour: refused, not ignored.
_UNSUPPORTED = {"logprobs": None, "echo": False, "best_of": None, "suffix": None,
                "logit_bias": None, "frequency_penalty": 0, "presence_penalty": 0}


class BadRequest(ValueError):
    """A request the worker refuses with 400 (or `status`), with a message for the client."""

    def __init__(self, message: str, param: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.param = param
        self.status = status


@dataclass(frozen=True)
class RequestLimits:
    """What one worker can serve, known before a request's prompt is tokenized."""

    context_window: int
    max_generations: int = MAX_CHOICES  # prompts times n; at most the queue's size
    max_text_chars: int = 0  # longer text cannot fit the context window (0: unchecked)

    @property
    def max_body_bytes(self) -> int:
        return max(2 ** 20, BODY_BYTES_PER_TOKEN * MAX_CHOICES * self.context_window)


def request_limits(tokenizer: Tokenizer, context_window: int, max_queue: int) -> RequestLimits:
    """Limits for a worker: no text prompt of more characters than the context window's tokens
    can hold (each token spells at most the longest piece), no more generations than queue room."""
    longest = max((len(tokenizer.piece(i)) for i in range(tokenizer.vocab_size)), default=1)
    return RequestLimits(context_window, min(MAX_CHOICES, max_queue),
                         (context_window + 8) * max(longest, 1))


def parse_json(raw: bytes) -> object:
    """The body as JSON, or BadRequest (not JSON, not UTF-8, or nested too deep to parse)."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise BadRequest("the request body is nested too deeply") from None
    except ValueError:
        raise BadRequest("the request body is not valid JSON") from None


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
    heal_text: str = ""  # the text every answer starts with (token healing)


def parse_completion(body: object, tokenizer: Tokenizer, limits: RequestLimits,
                     model_name: str) -> CompletionParams:
    """Check a request body and turn it into parameters; raise BadRequest naming the problem.

    What needs no tokenizer is checked first: a request that can never be served costs no
    tokenization."""
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
        prompts=[],
        max_tokens=_integer(body, "max_tokens", 16, 1, limits.context_window),
        temperature=_temperature(body),
        top_p=_top_p(body),
        stop=_stops(body.get("stop")),
        n=_integer(body, "n", 1, 1, MAX_CHOICES),
        stream=_boolean(body, "stream", False),
        include_usage=_include_usage(body),
        user=_string(body, "user"),
        seed=_optional_integer(body, "seed"),
        ignore_eos=_boolean(body, "ignore_eos", False),
        stop_token_ids=_token_ids(body.get("stop_token_ids", []), tokenizer, "stop_token_ids"),
        heal_text=_structured_outputs(body.get("structured_outputs")),
    )
    prompts = _prompt_list(body.get("prompt"))
    _check_room(len(prompts) * params.n, limits)
    params.prompts = [_prompt_ids(prompt, tokenizer, limits) for prompt in prompts]
    for ids in params.prompts:
        if len(ids) + params.max_tokens > limits.context_window:
            raise BadRequest(f"prompt of {len(ids)} tokens plus max_tokens {params.max_tokens} "
                             f"exceeds the context window of {limits.context_window} tokens",
                             "prompt")
    return params


def _check_room(generations: int, limits: RequestLimits) -> None:
    """Refuse for good (400, not 429) what no queue of this worker could ever hold."""
    if generations > MAX_CHOICES:
        raise BadRequest(f"at most {MAX_CHOICES} generations per request (prompts times n)", "n")
    if generations > limits.max_generations:
        raise BadRequest(f"{generations} generations (prompts times n) can never fit this "
                         f"worker's queue of {limits.max_generations} (--max-queue)", "n")


def _prompt_list(prompt: object) -> list[str | list]:
    """One prompt or a list of them, each text or a (not yet checked) list of token ids."""
    if isinstance(prompt, str):
        return [prompt]
    if isinstance(prompt, list) and prompt and all(isinstance(p, int) for p in prompt):
        return [prompt]
    if isinstance(prompt, list) and prompt:
        for item in prompt:
            if not isinstance(item, str) and not (isinstance(item, list) and item):
                raise BadRequest("each prompt must be text or a non-empty list of token ids",
                                 "prompt")
        return prompt
    raise BadRequest("prompt must be text, a non-empty list of token ids, or a list of those",
                     "prompt")


def _prompt_ids(prompt: str | list, tokenizer: Tokenizer, limits: RequestLimits) -> list[int]:
    if isinstance(prompt, list):
        return _token_ids(prompt, tokenizer, "prompt")
    if limits.max_text_chars and len(prompt) > limits.max_text_chars:
        raise BadRequest(f"a text prompt of {len(prompt)} characters cannot fit the context "
                         f"window of {limits.context_window} tokens", "prompt")
    _check_unicode(prompt, "prompt")
    try:
        return parse_prompt_text(tokenizer, prompt)
    except TokenizerError as exc:
        raise BadRequest(str(exc), "prompt") from None


def _check_unicode(text: str, name: str) -> None:
    """JSON can spell a lone UTF-16 surrogate (\\ud800), which no tokenizer can encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequest(f"{name} holds a lone surrogate ({text[exc.start]!r} at character "
                         f"{exc.start}), which is not Unicode text", name) from None


def _token_ids(ids: object, tokenizer: Tokenizer, name: str) -> list[int]:
    if not isinstance(ids, list):
        raise BadRequest(f"{name} must be a list of token ids", name)
    size = tokenizer.vocab_size
    for token in ids:
        if not isinstance(token, int) or isinstance(token, bool) or not 0 <= token < size:
            raise BadRequest(f"{name} holds {token!r}, not a token id (0..{size - 1})", name)
    return list(ids)


def _structured_outputs(value: object) -> str:
    """The literal text that vLLM's `structured_outputs` asks every answer to start with; only
    the form token healing sends is served here."""
    if value is None:
        return ""
    regex = value.get("regex") if isinstance(value, dict) and set(value) == {"regex"} else None
    literal = regex_prefix(regex) if isinstance(regex, str) else None
    if literal is None:
        raise BadRequest("structured_outputs: this worker serves only {\"regex\": TEXT + "
                         "\"[\\s\\S]*\"} (an answer that starts with TEXT; special regex "
                         "characters in TEXT escaped with a backslash)", "structured_outputs")
    _check_unicode(literal, "structured_outputs")
    return literal


def _stops(stop: object) -> list[str]:
    if stop is None:
        return []
    stops = [stop] if isinstance(stop, str) else stop
    if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
        raise BadRequest("stop must be a non-empty string or a list of them", "stop")
    if len(stops) > MAX_STOPS:
        raise BadRequest(f"at most {MAX_STOPS} stop strings", "stop")
    for text in stops:
        _check_unicode(text, "stop")
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


def _temperature(body: dict) -> float:
    value = _number(body, "temperature", 1.0, 0.0, 2.0)
    return 0.0 if value < MIN_TEMPERATURE else value


def _top_p(body: dict) -> float:
    value = _number(body, "top_p", 1.0, 0.0, 1.0)
    if value == 0:
        raise BadRequest("top_p must be greater than 0", "top_p")
    return max(value, MIN_TOP_P)


def _include_usage(body: dict) -> bool:
    options = body.get("stream_options")
    if options is None:
        return False
    if not isinstance(options, dict):
        raise BadRequest("stream_options must be an object", "stream_options")
    return bool(options.get("include_usage", False))


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
