"""The worker's HTTP API (Starlette): OpenAI-compatible completions over a BatchScheduler.

POST /v1/completions, GET /v1/models (both behind the API key, if one is set), GET /health and
GET /metrics (Prometheus text). A completion's body is read within a size limit, then parsed and
tokenized on a thread (never on the event loop, which serves every client); its jobs are queued
before its response starts; the response then waits for them while listening for the client to
leave, and cancels them if it does. While the worker drains (shutting down) new completions and
/health get 503 and the completions in flight finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fim.engines.base import GenerationRequest, GenerationResult, StopReason
from fim.tokenizer import Tokenizer
from fim.worker import openai_api as api
from fim.worker.batching import BatchScheduler, Job, QueueFull
from fim.worker.body import BodyTooLarge, read_body
from fim.worker.drain import Drain

ANONYMOUS = "(anonymous)"  # the cache slot of requests without `user`


@dataclass(frozen=True)
class WorkerConfig:
    model_name: str
    context_window: int
    api_key: str | None = None


class Handlers:
    """The worker's HTTP endpoints over one scheduler."""

    def __init__(self, scheduler: BatchScheduler, config: WorkerConfig, drain: Drain) -> None:
        self.scheduler = scheduler
        self.config = config
        self.drain = drain
        self.tokenizer: Tokenizer = scheduler.tokenizer
        self.metrics = scheduler.metrics
        self.limits = api.request_limits(self.tokenizer, config.context_window,
                                         scheduler.max_queue)
        # One thread parses and tokenizes, one body at a time: bounded CPU and memory, and the
        # same thread (so the same malloc arena) for the life of the worker.
        self.parser = ThreadPoolExecutor(1, thread_name_prefix="codellama-parse")

    def authorized(self, request: Request) -> bool:
        if not self.config.api_key:
            return True
        given = request.headers.get("authorization", "")
        expected = f"Bearer {self.config.api_key}"
        return hmac.compare_digest(given.encode(), expected.encode())

    def refuse(self, status: int, message: str, kind: str,
               error_type: str = "invalid_request_error", param: str | None = None,
               headers: dict | None = None) -> JSONResponse:
        self.metrics.errors.labels(kind=kind).inc()
        return JSONResponse(api.error_body(message, error_type, param), status, headers=headers)

    def unauthorized(self) -> JSONResponse:
        return self.refuse(401, "missing or wrong API key (send 'Authorization: Bearer KEY')",
                           "unauthorized", "authentication_error")

    async def completions(self, request: Request) -> Response | CompletionAnswer:
        if self.drain.draining:
            return self.refuse(503, "the worker is shutting down; retry on another worker",
                               "draining", "server_error",
                               headers={"Retry-After": "1", "Connection": "close"})
        if not self.authorized(request):
            return self.unauthorized()
        try:
            raw = await read_body(request, self.limits.max_body_bytes)
        except BodyTooLarge as exc:
            return self.refuse(413, str(exc), "too_large", headers={"Connection": "close"})
        except ClientDisconnect:  # gone while sending its body: nobody to answer
            self.metrics.errors.labels(kind="client_closed").inc()
            return Response(status_code=499)  # nginx's "client closed request", for /metrics
        try:
            params = await asyncio.get_running_loop().run_in_executor(self.parser, self._parse,
                                                                      raw)
        except api.BadRequest as exc:
            return self.refuse(exc.status, str(exc), "bad_request", param=exc.param)
        answer = CompletionAnswer(params, self.config.model_name, self.metrics, self.drain)
        try:
            self.scheduler.submit(answer.jobs)
        except QueueFull as exc:
            answer.close()
            return self.refuse(429, f"{exc}; retry later", "overloaded", "rate_limit_error",
                               headers={"Retry-After": "1"})
        return answer

    def _parse(self, raw: bytes) -> api.CompletionParams:
        """JSON and tokenization: on a worker thread, as a long prompt takes a while."""
        return api.parse_completion(api.parse_json(raw), self.tokenizer, self.limits,
                                    self.config.model_name)

    async def models(self, request: Request) -> Response:
        if not self.authorized(request):
            return self.unauthorized()
        return JSONResponse({"object": "list", "data": [{
            "id": self.config.model_name, "object": "model", "created": api.now(),
            "owned_by": "codellama-lsp", "max_model_len": self.config.context_window}]})

    async def health(self, request: Request) -> Response:
        status, code = ("draining", 503) if self.drain.draining else ("ok", 200)
        return JSONResponse({"status": status, "model": self.config.model_name,
                             "queue_depth": self.scheduler.queue_depth}, code)

    async def metrics_page(self, request: Request) -> Response:
        return Response(self.metrics.render(), media_type=self.metrics.content_type)

    async def http_error(self, request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        detail = getattr(exc, "detail", "internal error")
        return JSONResponse(api.error_body(str(detail)), status)

    async def server_error(self, request: Request, exc: Exception) -> Response:
        """A bug, not the client's fault: still a JSON answer (starlette logs the traceback)."""
        self.metrics.errors.labels(kind="internal").inc()
        return JSONResponse(api.error_body("internal error", "server_error"), 500)


def create_app(scheduler: BatchScheduler, config: WorkerConfig) -> CountRequests:
    """The ASGI app; the scheduler's thread runs while the app does. Its `drain` stops it."""
    drain = Drain()
    handlers = Handlers(scheduler, config, drain)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        scheduler.start()
        yield
        scheduler.stop()
        handlers.parser.shutdown(wait=False)

    routes = [Route("/v1/completions", handlers.completions, methods=["POST"]),
              Route("/v1/models", handlers.models, methods=["GET"]),
              Route("/health", handlers.health, methods=["GET"]),
              Route("/metrics", handlers.metrics_page, methods=["GET"])]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: handlers.http_error,
                                        Exception: handlers.server_error})
    return CountRequests(app, scheduler.metrics, drain)


class CountRequests:
    """ASGI middleware: count every answered request by path and status, and the completions in
    flight (for the drain)."""

    _KNOWN = {"/v1/completions", "/v1/models", "/health", "/metrics"}

    def __init__(self, app, metrics, drain: Drain) -> None:
        self.app = app
        self.metrics = metrics
        self.drain = drain

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"] if scope["path"] in self._KNOWN else "other"

        async def counting_send(message) -> None:
            if message["type"] == "http.response.start":
                self.metrics.requests.labels(path=path, status=str(message["status"])).inc()
            await send(message)

        if path != "/v1/completions":
            await self.app(scope, receive, counting_send)
            return
        self.drain.in_flight += 1
        try:
            await self.app(scope, receive, counting_send)
        finally:
            self.drain.in_flight -= 1


class CompletionAnswer:
    """The ASGI response of one completion request: its jobs, their events, the client's fate."""

    def __init__(self, params: api.CompletionParams, model_name: str, metrics,
                 drain: Drain) -> None:
        self.params = params
        self.model_name = model_name
        self.metrics = metrics
        self.drain = drain
        drain.track(self)
        self.started = time.perf_counter()
        self.request_id = api.completion_id()
        self.created = api.now()
        self.loop = asyncio.get_running_loop()
        self.events: asyncio.Queue = asyncio.Queue()
        self.jobs = [self._job(index, ids, seed_offset)
                     for index, (ids, seed_offset) in enumerate(self._rows())]

    def _rows(self):
        for ids in self.params.prompts:
            for choice in range(self.params.n):
                yield ids, choice

    def _job(self, index: int, ids: list[int], seed_offset: int) -> Job:
        p = self.params
        seed = p.seed + seed_offset if p.seed is not None else None
        request = GenerationRequest(ids, p.max_tokens, p.temperature, p.top_p, list(p.stop),
                                    seed=seed, cache_key=p.user or ANONYMOUS,
                                    heal_text=p.heal_text)
        on_text = (lambda text: self._post(("text", index, text))) if p.stream else None
        return Job(request, ignore_eos=p.ignore_eos, extra_stop_ids=frozenset(p.stop_token_ids),
                   on_text=on_text, on_done=lambda outcome: self._post(("done", index, outcome)))

    def _post(self, event) -> None:
        """Hand an event from the model thread to this request's loop (gone: dropped)."""
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.events.put_nowait, event)

    def cancel(self) -> None:
        for job in self.jobs:
            job.request.cancel.set()

    def close(self) -> None:
        self.cancel()  # a no-op for finished jobs
        self.drain.untrack(self)

    async def __call__(self, scope, receive, send) -> None:
        watcher = asyncio.create_task(self._watch(receive))
        try:
            if self.params.stream:
                await self._stream(send)
            else:
                await self._whole(send)
        except OSError:  # the client went away while we wrote
            self.cancel()
        finally:
            watcher.cancel()
            self.close()
            self.metrics.latency.observe(time.perf_counter() - self.started)

    async def _watch(self, receive) -> None:
        """Cancel the jobs as soon as the client disconnects (the body was read already)."""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.cancel()
                return

    async def _whole(self, send) -> None:
        results: dict[int, GenerationResult | BaseException] = {}
        while len(results) < len(self.jobs):
            kind, index, outcome = await self.events.get()
            if kind == "done":
                results[index] = outcome
        failed = [r for r in results.values() if isinstance(r, BaseException)]
        if failed:
            body, status = api.error_body(f"generation failed: {failed[0]}", "server_error"), 500
        else:
            ordered = [r for i in range(len(self.jobs))
                       if isinstance(r := results[i], GenerationResult)]
            choices = [api.choice(i, r.text, api.FINISH_REASONS.get(r.stop_reason))
                       for i, r in enumerate(ordered)]
            body, status = api.completion_body(self.request_id, self.model_name, self.created,
                                               choices, self._usage(ordered)), 200
        payload = json.dumps(body, ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})

    async def _stream(self, send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream; charset=utf-8"),
                                (b"cache-control", b"no-cache")]})
        finished: dict[int, GenerationResult] = {}
        while len(finished) < len(self.jobs):
            kind, index, outcome = await self.events.get()
            if kind == "text":
                await self._event(send, self._chunk([api.choice(index, outcome, None)]))
                continue
            if isinstance(outcome, BaseException):
                await self._event(send, api.error_body(f"generation failed: {outcome}",
                                                       "server_error"))
                outcome = GenerationResult("", StopReason.ERROR, 0, 0, 0.0, 0.0)
            finished[index] = outcome
            reason = api.FINISH_REASONS.get(outcome.stop_reason)
            if reason is not None:
                await self._event(send, self._chunk([api.choice(index, "", reason)]))
        if self.params.include_usage:
            ordered = [finished[i] for i in range(len(self.jobs))]
            await self._event(send, self._chunk([], self._usage(ordered)))
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n",
                    "more_body": False})

    def _chunk(self, choices: list[dict], usage: dict | None = None) -> dict:
        return api.completion_body(self.request_id, self.model_name, self.created, choices, usage)

    @staticmethod
    async def _event(send, body: dict) -> None:
        data = f"data: {json.dumps(body, ensure_ascii=False)}\n\n".encode()
        await send({"type": "http.response.body", "body": data, "more_body": True})

    def _usage(self, results: list[GenerationResult]) -> dict:
        # Each prompt counts once, as OpenAI counts it, however many choices it has.
        prompt = sum(len(ids) for ids in self.params.prompts)
        cached = sum(r.reused_prompt_tokens for r in results[:: self.params.n])
        return api.usage(prompt, sum(r.generated_tokens for r in results), cached)
