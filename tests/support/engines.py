"""Engine doubles: the one scripted engine (a real tokenizer, a model that answers what the test
says) and a serving engine over HTTP that records the prompts it is sent.

It stands in for a 7B model where a test needs a sensible answer (the tiny random model answers
noise); the prompt, the tokenizer and everything after the engine stay real.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fim.engines.base import GenerationRequest, GenerationResult, StopReason
from fim.engines.local import LoadOptions
from fim.healing import regex_prefix
from fim.tokenizer import Tokenizer


@dataclass
class ScriptedEngine:
    """Answers every request with `reply` (as decoded text) and `stop_reason`; records the
    requests. A cancelled request (its `cancel` set) answers "" with stop reason "cancelled"."""

    tokenizer: Tokenizer
    reply: str
    stop_reason: StopReason | str = StopReason.EOT
    context_window: int = 4096
    can_heal: bool = False  # True: `reply` is read as the text after the removed part
    requests: list[GenerationRequest] = field(default_factory=list)
    closed: bool = False

    def generate(self, request: GenerationRequest) -> GenerationResult:
        self.requests.append(request)
        if request.cancel.is_set():
            return GenerationResult("", StopReason.CANCELLED, len(request.prompt_ids), 0, 0.0,
                                    0.0)
        generated = len(self.tokenizer.encode(self.reply)) if self.reply else 0
        return GenerationResult(self.reply, StopReason(self.stop_reason),
                                len(request.prompt_ids), generated, 0.01, 0.02)

    def prefill(self, request: GenerationRequest) -> int:
        return 0  # keeps no cache

    def close(self) -> None:
        self.closed = True

    def opener(self):
        """An EnginePool opener that hands out this engine for every model."""
        def open_engine(engine: str, options: LoadOptions) -> ScriptedEngine:
            return self
        return open_engine


class FakeServingEngine:
    """A serving engine double over HTTP: a loopback server answering each (method, path)
    with `route(body) -> (status, payload, headers)`; it records what it was sent."""

    def __init__(self, routes: dict) -> None:
        self.routes = routes
        self.seen: list[tuple[str, str, object]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self._answer(None)

            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                self._answer(json.loads(self.rfile.read(length) or b"null"))

            def _answer(self, body):
                fake.seen.append((self.command, self.path, body))
                route = fake.routes.get((self.command, self.path))
                if route is None:
                    self.send_error(404)
                    return
                status, payload, headers = route(body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self, path: str) -> list:
        return [body for _, p, body in self.seen if p == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def tgi_reply(body: dict, text: str, generated_tokens: int = 3) -> tuple[int, dict, dict]:
    """A TGI `POST /generate` reply of `text`, after the text that a token-healing grammar in
    `body` asks the answer to start with (TGI keeps to it, so must its doubles)."""
    grammar = (body.get("parameters") or {}).get("grammar") or {}
    start = regex_prefix(grammar["value"]) if grammar.get("type") == "regex" else None
    return 200, {"generated_text": (start or "") + text,
                 "details": {"finish_reason": "eos_token",
                             "generated_tokens": generated_tokens}}, {}
