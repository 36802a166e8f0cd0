"""A lean LSP client for the benchmarks: `codellama lsp` in a subprocess, JSON-RPC frames over
its stdio, messages as plain dicts.

Editors' clients are native (VS Code's in Node, Neovim's in Lua over C); a Python client that
turns every message into typed objects adds about a millisecond per exchange that no editor
adds, and would hide what the server itself costs on a keystroke answered from its cache.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from fim.engines.base import EngineError

ROOT = Path(__file__).resolve().parents[2]


class Session:
    """One `codellama lsp` process and the requests in flight to it."""

    def __init__(self) -> None:
        self.process: asyncio.subprocess.Process | None = None
        self.stderr_tail: list[str] = []
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future] = {}
        self._tasks: list[asyncio.Task] = []

    async def start(self, options: dict, threads: int | None = None,
                    server: tuple[str, ...] = ("-m", "codellama_lsp", "lsp")) -> None:
        """Start the server (`python SERVER...`) and initialize it with `options`."""
        env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
        if threads:
            env["OMP_NUM_THREADS"] = str(threads)
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, *server, env=env, limit=1 << 26,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        self._tasks = [asyncio.ensure_future(self._read()),
                       asyncio.ensure_future(self._drain_stderr())]
        await self.request("initialize", {"processId": os.getpid(), "rootUri": None,
                                          "capabilities": {},
                                          "initializationOptions": options})
        self.notify("initialized", {})

    async def request(self, method: str, params: Any) -> Any:
        """Send a request; its result (an error answer raises EngineError)."""
        msg_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._waiting[msg_id] = future
        self._send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return await future

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    async def stats(self) -> dict:
        return await self.request("codellama/stats", {})

    async def wait_for_model(self, timeout_s: float = 300) -> None:
        deadline = time.monotonic() + timeout_s
        while (state := (await self.stats())["model"])["state"] not in ("ready", "failed"):
            if time.monotonic() > deadline:
                raise EngineError("the server did not load the model in time")
            await asyncio.sleep(0.05)
        if state["state"] == "failed":
            raise EngineError(f"the server could not load the model: {state['error']}")

    def configure(self, settings: dict) -> None:
        self.notify("workspace/didChangeConfiguration", {"settings": {"codellama": settings}})

    def open(self, uri: str, text: str) -> None:
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": text}})

    def insert(self, uri: str, version: int, line: int, character: int, text: str) -> None:
        self.change(uri, version, (line, character), (line, character), text)

    def change(self, uri: str, version: int, start: tuple[int, int], end: tuple[int, int],
               text: str) -> None:
        """One incremental change: the range from `start` to `end` (line, character) becomes
        `text`."""
        self.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"range": {"start": {"line": start[0], "character": start[1]},
                                          "end": {"line": end[0], "character": end[1]}},
                                "text": text}]})

    def close(self, uri: str) -> None:
        self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    def prewarm(self, uri: str, line: int, character: int) -> None:
        """The cursor rests at (line, character): `codellama/prewarm`."""
        self.notify("codellama/prewarm", {"textDocument": {"uri": uri},
                                          "position": {"line": line, "character": character}})

    async def drain(self) -> None:
        """Wait until what was sent has left this process (a pipe's buffer is bounded)."""
        assert self.process is not None and self.process.stdin is not None
        await self.process.stdin.drain()

    async def complete(self, uri: str, line: int, character: int) -> list[str]:
        """The texts of an automatic inline completion at (line, character)."""
        result = await self.request("textDocument/inlineCompletion", {
            "textDocument": {"uri": uri}, "position": {"line": line, "character": character},
            "context": {"triggerKind": 2}})
        items = result.get("items", []) if isinstance(result, dict) else result or []
        return [item["insertText"] for item in items]

    async def stop(self) -> None:
        if self.process is None:
            return
        try:
            await asyncio.wait_for(self.request("shutdown", None), 10)
            self.notify("exit", None)
            await asyncio.wait_for(self.process.wait(), 10)
        finally:
            if self.process.returncode is None:
                self.process.kill()
            for task in self._tasks:
                task.cancel()

    def _send(self, message: dict) -> None:
        assert self.process is not None and self.process.stdin is not None
        body = json.dumps(message).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        stdout = self.process.stdout
        while True:
            length = 0
            while (header := await stdout.readline()) not in (b"\r\n", b""):
                name, _, value = header.decode("ascii").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if not header:
                break
            self._received(json.loads(await stdout.readexactly(length)))
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(EngineError("the server exited: "
                                                 + "".join(self.stderr_tail[-3:]).strip()))

    def _received(self, message: dict) -> None:
        if "method" in message:
            if "id" in message:  # a request from the server (progress, configuration): null
                self._send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            return
        future = self._waiting.pop(message.get("id", -1), None)
        if future is None or future.done():
            return
        if "error" in message:
            future.set_exception(EngineError(f"server error: {message['error']}"))
        else:
            future.set_result(message.get("result"))

    async def _drain_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.stderr_tail = (self.stderr_tail + [line.decode(errors="replace")])[-20:]
