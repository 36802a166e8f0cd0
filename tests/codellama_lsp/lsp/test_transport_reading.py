"""How the server reads its stdio: an editor's pipe by the event loop itself (no thread hop per
message), a file in a thread; and each message's handler runs before the next message is read,
so a request answered at once goes out ahead of the messages sent after it."""

from __future__ import annotations

import asyncio
import json
import os
import threading

import pytest

from codellama_lsp.lsp.transport import Connection, FrameReader, stdin_chunks

pytestmark = pytest.mark.unit


def frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def reader_threads() -> int:
    return sum(thread.name.startswith("lsp-stdin") for thread in threading.enumerate())


async def read_all(chunks) -> bytes:
    data = b""
    while chunk := await chunks():
        data += chunk
    return data


async def test_a_pipe_is_read_by_the_event_loop_without_a_thread():
    read_fd, write_fd = os.pipe()
    threads = reader_threads()
    with os.fdopen(read_fd, "rb", buffering=0) as stream:
        os.write(write_fd, b"first ")
        os.write(write_fd, b"second")
        os.close(write_fd)
        assert await read_all(stdin_chunks(stream)) == b"first second"
    assert reader_threads() == threads


async def test_a_file_is_read_in_a_thread(tmp_path):
    path = tmp_path / "messages"
    path.write_bytes(b"from a file")
    with path.open("rb") as stream:
        assert await read_all(stdin_chunks(stream)) == b"from a file"


async def test_a_socket_stays_blocking_since_it_may_be_stdout_too():
    import socket

    ours, editor = socket.socketpair()
    with ours, editor, ours.makefile("rb", buffering=0) as stream:
        editor.sendall(b"over a socket")
        editor.shutdown(socket.SHUT_WR)
        assert await read_all(stdin_chunks(stream)) == b"over a socket"
        assert os.get_blocking(ours.fileno())  # its writes (the answers) must not fail with EAGAIN


class Protocol:
    """pygls's shape: a request's handler runs as a task, its answer is sent by the task's
    done callback."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self._shutdown = False

    def structure_message(self, data: dict) -> dict:
        return data

    def handle_message(self, message: dict) -> None:
        name = message["method"]
        self.events.append(f"read {name}")

        async def handler() -> None:  # answered at once, as a completion from the cache
            self.events.append(f"ran {name}")
        task = asyncio.ensure_future(handler())
        task.add_done_callback(lambda _: self.events.append(f"answered {name}"))


async def test_a_request_answered_at_once_goes_out_before_the_next_message_is_read():
    data = frame({"jsonrpc": "2.0", "id": 1, "method": "completion"}) \
        + frame({"jsonrpc": "2.0", "id": 2, "method": "nextEdit"})
    chunks = [data, b""]  # both messages in one read, as a client writes them

    async def read_chunk() -> bytes:
        return chunks.pop(0)
    protocol = Protocol()
    assert await Connection(FrameReader(read_chunk), protocol).run() == 1  # the stream ended
    assert protocol.events[:4] == ["read completion", "ran completion", "answered completion",
                                   "read nextEdit"]
