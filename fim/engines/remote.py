"""RemoteEngine: the Engine protocol over HTTP, to our worker or an existing serving engine.

The engine URL names the protocol: `http://host:8000` or `openai+http://...` (our worker, vLLM),
`tgi+http://`, `llamacpp+http://`, `llamacpp-infill+http://`, `ollama+http://`; a `?model=NAME`
query names the served model (needed by Ollama; otherwise the first of GET /v1/models).
Prompt ids are built here with the local tokenizer, so the prompt (budget, PSM/SPM) is the same
whatever runs the model. Requests run on a private event loop: cancelling a request cancels its
task, which closes the connection, and the server stops generating.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx

from fim.engines.base import EngineError, GenerationRequest, GenerationResult, StopReason
from fim.engines.protocols import (
    HEALING_PROTOCOLS,
    PROTOCOLS,
    OpenAIStream,
    build_call,
    cut_text,
    error_message,
    read_answer,
)
from fim.healing import answer_after, spelled_length
from fim.tokenizer import Tokenizer, TokenizerError, load_tokenizer

log = logging.getLogger(__name__)

API_KEY_VARIABLE = "CODELLAMA_API_KEY"
_RETRY_STATUS = (429, 503)


@dataclass(frozen=True)
class EngineAddress:
    protocol: str
    base_url: str  # scheme://host:port[/path], no trailing slash, no query
    model: str | None = None


@dataclass(frozen=True)
class RemoteOptions:
    api_key: str | None = None
    timeout_s: float = 60.0  # longest wait for any byte of an answer
    connect_timeout_s: float = 5.0
    retries: int = 3  # further tries after a connection error, a 429 or a 503
    backoff_s: float = 0.25  # first wait between tries, doubled each time
    # Fields added to every request body, e.g. {"top_k": 40} for vLLM or {"ignore_eos": True}.
    extra_body: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> RemoteOptions:
        return cls(api_key=os.environ.get(API_KEY_VARIABLE) or None)


def parse_engine_url(url: str) -> EngineAddress:
    """Split `[protocol+]http(s)://host:port[/path][?model=NAME]` into its parts."""
    scheme, _, rest = url.partition("://")
    protocol, plus, transport = scheme.rpartition("+")
    if not plus:
        protocol, transport = "openai", scheme
    if transport not in ("http", "https") or not rest:
        raise EngineError(f"engine {url!r} is not an http(s):// URL")
    if protocol not in PROTOCOLS:
        raise EngineError(f"unknown engine protocol {protocol!r} in {url!r} "
                          f"(choose from {', '.join(PROTOCOLS)})")
    parts = urlsplit(f"{transport}://{rest}")
    if not parts.hostname:
        raise EngineError(f"engine {url!r} names no host")
    models = parse_qs(parts.query).get("model")
    model = models[0] if models else None
    base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
    return EngineAddress(protocol, base, model)


class RemoteEngine:
    """An Engine whose model runs behind an HTTP API; safe to share between threads."""

    def __init__(self, address: EngineAddress, tokenizer: Tokenizer, context_window: int,
                 options: RemoteOptions = RemoteOptions()) -> None:
        self.address = address
        self.tokenizer = tokenizer
        self.context_window = context_window
        self.options = options
        self.can_heal = address.protocol in HEALING_PROTOCOLS
        if not self.can_heal:
            log.info("the %s engine's API cannot constrain an answer's start: no token healing "
                     "with it (suggestions inside a word are less often right)", address.protocol)
        self._ignored_healing = False  # said once: a server that ignored the constraint
        self._model = address.model
        self._model_known = address.model is not None or address.protocol != "openai"
        self._loop = asyncio.new_event_loop()
        self._close_lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="codellama-remote")
        self._thread.start()
        headers = {"Authorization": f"Bearer {options.api_key}"} if options.api_key else {}
        timeout = httpx.Timeout(options.timeout_s, connect=options.connect_timeout_s)
        self._client = self._run(self._make_client(headers, timeout))

    @classmethod
    def open(cls, url: str, tokenizer_source: str, context_window: int,
             options: RemoteOptions | None = None) -> RemoteEngine:
        """The engine at `url`, with the tokenizer of `tokenizer_source` (hub id or path)."""
        address = parse_engine_url(url)
        try:
            tokenizer = load_tokenizer(tokenizer_source)
        except TokenizerError as exc:
            raise EngineError(f"the remote engine needs the model's tokenizer here: {exc}"
                              ) from None
        return cls(address, tokenizer, context_window, options or RemoteOptions.from_env())

    def generate(self, request: GenerationRequest) -> GenerationResult:
        """Ask the server; returns a 'cancelled' result soon after `request.cancel` is set."""
        if len(request.prompt_ids) + request.max_new_tokens > self.context_window:
            raise EngineError(f"prompt of {len(request.prompt_ids)} tokens plus "
                              f"{request.max_new_tokens} new tokens exceeds the context window "
                              f"of {self.context_window}")
        started = time.perf_counter()
        future = asyncio.run_coroutine_threadsafe(self._generate(request, started), self._loop)
        while True:
            try:
                return future.result(timeout=0.02)
            except concurrent.futures.TimeoutError:
                if request.cancel.is_set():
                    future.cancel()  # cancels the task: the connection closes
                    return GenerationResult("", StopReason.CANCELLED, len(request.prompt_ids),
                                            0, 0.0, time.perf_counter() - started)
            except concurrent.futures.CancelledError:
                return GenerationResult("", StopReason.CANCELLED, len(request.prompt_ids), 0, 0.0,
                                        time.perf_counter() - started)

    def prefill(self, request: GenerationRequest) -> int:
        """Nothing to do here: a serving engine keeps its own prompt cache."""
        return 0

    def close(self) -> None:
        with self._close_lock:  # two closes at once would each stop and close the loop
            if self._loop.is_closed():
                return
            self._run(self._client.aclose())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()

    # -- on the private loop ---------------------------------------------------------------

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    @staticmethod
    async def _make_client(headers: dict, timeout: httpx.Timeout) -> httpx.AsyncClient:
        return httpx.AsyncClient(headers=headers, timeout=timeout)

    async def _generate(self, request: GenerationRequest, started: float) -> GenerationResult:
        protocol = self.address.protocol
        call = build_call(protocol, request, self.tokenizer, await self._model_name())
        url = self.address.base_url + call.path
        body = {**call.body, **self.options.extra_body}
        first_token_at = 0.0
        for attempt in range(self.options.retries + 1):
            last = attempt == self.options.retries
            try:
                async with self._client.stream("POST", url, json=body) as response:
                    if response.status_code in _RETRY_STATUS and not last:
                        await asyncio.sleep(self._retry_after(response, attempt))
                        continue
                    if response.status_code >= 400:
                        message = error_message(await response.aread())
                        raise EngineError(f"{protocol} engine at {self.address.base_url} "
                                          f"answered {response.status_code}: {message}")
                    if call.streams:
                        stream = OpenAIStream(request)
                        async for line in response.aiter_lines():
                            if stream.feed(line) and not first_token_at:
                                first_token_at = time.perf_counter()
                        outcome = cut_text(stream.outcome(), request, self.tokenizer)
                    else:
                        data = (await response.aread()) or b"{}"
                        outcome = read_answer(protocol, _json(data), request, self.tokenizer)
                break
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
                if last:
                    raise EngineError(f"cannot reach the {protocol} engine at "
                                      f"{self.address.base_url}: {exc or type(exc).__name__}"
                                      ) from None
                await asyncio.sleep(self.options.backoff_s * 2 ** attempt)
            except httpx.TimeoutException:
                raise EngineError(f"the {protocol} engine at {self.address.base_url} did not "
                                  f"answer within {self.options.timeout_s:g} s") from None
            except ValueError as exc:  # not JSON
                raise EngineError(f"the {protocol} engine at {self.address.base_url} gave an "
                                  f"answer that is not JSON: {exc}") from None
        done = time.perf_counter()
        text = answer_after(outcome.text, request.heal_text)
        if (request.heal_text and outcome.text and not self._ignored_healing
                and spelled_length(outcome.text, request.heal_text) is None):
            self._ignored_healing = True
            log.warning("the %s engine at %s answered without the healed text %r it was asked "
                        "to start with: its suggestions inside words are dropped (set "
                        "tokenHealing to false for this engine)", protocol,
                        self.address.base_url, request.heal_text)
        return GenerationResult(text, StopReason(outcome.reason), outcome.prompt_tokens,
                                outcome.generated_tokens, (first_token_at or done) - started,
                                done - started, outcome.reused)

    def _retry_after(self, response: httpx.Response, attempt: int) -> float:
        backoff = self.options.backoff_s * 2 ** attempt
        try:
            return min(max(float(response.headers.get("retry-after", backoff)), 0.0), 10.0)
        except ValueError:
            return backoff

    async def _model_name(self) -> str | None:
        """The served model's name: from the URL, else the first of GET /v1/models."""
        if self._model_known:
            return self._model
        try:
            response = await self._client.get(self.address.base_url + "/v1/models")
            if response.status_code == 200:
                models = response.json().get("data") or []
                if models:
                    self._model = str(models[0]["id"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            pass  # the completion call itself reports an unreachable server
        self._model_known = self._model is not None
        return self._model


def _json(data: bytes) -> dict:
    import json

    value = json.loads(data)
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value
