"""A raw-frame client: the real `codellama lsp` process over stdio, spoken to in bytes, so that
tests can send what no well-behaved client library would (broken headers, wrong lengths, not
JSON) and see every byte the server answers."""

from __future__ import annotations

import itertools
import json
import os
import queue
import subprocess
import sys
import threading
from typing import Any

from tests.support.paths import ROOT
from tests.support.waiting import until


class RawServer:
    """`codellama lsp` in a subprocess; frames it writes are parsed by a reader thread."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        # An engine that is never reached: these tests are about the protocol, not a model.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "codellama_lsp", "lsp", "--engine", "http://127.0.0.1:9",
             *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=self.environment(env))
        self.messages: queue.Queue[dict | None] = queue.Queue()
        self.seen: list[dict] = []  # every message, in order
        self._answers: dict[Any, list[dict]] = {}  # responses not yet asked for, by id
        self._ids = itertools.count(1)
        threading.Thread(target=self._read, daemon=True).start()

    @staticmethod
    def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
        """The server's environment: this checkout's code, offline."""
        return {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1", **(extra or {})}

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = None
            while (line := stream.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if not line or length is None:
                self.messages.put(None)
                return
            self.messages.put(json.loads(stream.read(length)))

    # -- sending ---------------------------------------------------------------------------------

    def send_bytes(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, message: dict, header: str = "Content-Length") -> None:
        body = json.dumps(message).encode()
        self.send_bytes(f"{header}: {len(body)}\r\n\r\n".encode() + body)

    def request(self, method: str, params: Any = None) -> int:
        msg_id = next(self._ids)
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return msg_id

    def notify(self, method: str, params: Any = None) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def initialize(self, encodings: list[str] | None = None, options: dict | None = None,
                   process_id: int | None = None) -> dict:
        capabilities: dict = {"general": {"positionEncodings": encodings}} if encodings else {}
        answer = self.answer(self.request("initialize", {
            "processId": process_id, "rootUri": None, "capabilities": capabilities,
            "initializationOptions": options}))
        self.notify("initialized", {})
        return answer

    # -- reading ---------------------------------------------------------------------------------

    def next_message(self, timeout_s: float = 60) -> dict:
        message = self.messages.get(timeout=timeout_s)
        if message is None:
            raise EOFError("the server closed its output")
        self.seen.append(message)
        return message

    def answer(self, msg_id: Any, timeout_s: float = 60) -> dict:
        """The response to request `msg_id` (None: the next response with a null id). The
        server's own requests are answered with null; notifications are kept in `seen`."""
        while not self._answers.get(msg_id):
            message = self.next_message(timeout_s)
            if "method" in message and "id" in message:  # e.g. window/workDoneProgress/create
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            elif "method" not in message:
                self._answers.setdefault(message.get("id"), []).append(message)
        return self._answers[msg_id].pop(0)

    def notification(self, method: str, containing: str = "") -> dict:
        """The first notification `method` whose params mention `containing` (waiting for
        it)."""
        index = 0
        while True:
            while index < len(self.seen):
                message = self.seen[index]
                index += 1
                if message.get("method") == method and "id" not in message \
                        and containing in json.dumps(message.get("params")):
                    return message
            message = self.next_message()
            if "method" not in message:
                self._answers.setdefault(message.get("id"), []).append(message)

    def error(self, msg_id: Any) -> dict:
        """The error the server answered request `msg_id` with."""
        answer = self.answer(msg_id)
        assert "error" in answer, answer
        return answer["error"]

    def stats_answered(self) -> bool:
        """Whether a well-formed request is served now."""
        return "result" in self.answer(self.request("codellama/stats", {}))

    def exit_code(self, timeout_s: float = 60) -> int:
        """Wait for the process to end; every message it wrote is in `seen` then."""
        code = self.process.wait(timeout_s)
        while (message := self.messages.get(timeout=timeout_s)) is not None:
            self.seen.append(message)
        return code

    def wait_for_model(self, timeout_s: float = 60) -> dict:
        """The model's state (codellama/stats) once it is no longer loading."""
        def settled() -> dict | None:
            model = self.answer(self.request("codellama/stats", {}))["result"]["model"]
            return model if model["state"] in ("ready", "failed") else None
        return until(settled, "the model loaded or failed", timeout_s)

    def stderr(self) -> str:
        assert self.process.stderr is not None
        return self.process.stderr.read().decode(errors="replace")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
