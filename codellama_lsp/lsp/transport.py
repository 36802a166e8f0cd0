"""Reading LSP frames from stdio or a socket without ever losing the stream.

pygls's reader matches `Content-Length` case-sensitively, allocates whatever length a frame
declares, and after a frame whose length is wrong it stays out of step for good. This one:

- takes header names in any case (`content-length`), and refuses a frame larger than
  `max_bytes` without reading it into memory;
- answers a malformed frame (no or a non-numeric length, a body that is not JSON, JSON nested
  too deep, not a JSON-RPC message) with an error: -32700 or -32600, with the request's id where
  one can be read from it, else a null id;
- resynchronises at the next `Content-` header: bytes before it are dropped (logged once per
  run), and where a length was too long, the start of the next frame that a body took is given
  back.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import re
import stat
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, BinaryIO

from lsprotocol.types import ErrorCodes

from codellama_lsp.lsp.pygls_compat import is_shut_down, send_error

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
_MAX_HEADER_BYTES = 8192
_CHUNK = 65536
CLOSE_WAIT_S = 1.0  # at the end, how long the last messages may take to go out on a socket
_TURNS_PER_MESSAGE = 2
_KEEP = 32  # bytes kept while looking for a header: a header name split between two reads
_HEADER_START = re.compile(rb"(?i)content-(?:length|type)(?![A-Za-z0-9_-])")
_ID = re.compile(rb'"id"\s*:\s*(-?\d{1,18}|"(?:[^"\\]|\\.){0,200}")')

_DECODER = json.JSONDecoder()

ReadChunk = Callable[[], Awaitable[bytes]]
Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass(frozen=True)
class Malformed:
    """A frame that cannot be read; `body` is whatever part of it was read (for an id)."""

    reason: str
    body: bytes = b""


class FrameReader:
    """Frames (bodies as bytes) from a stream of chunks; `read_chunk()` returns b"" at its end."""

    def __init__(self, read_chunk: ReadChunk, max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self._read = read_chunk
        self._buffer = bytearray()
        self.max_bytes = max_bytes
        self.dropped = 0  # bytes dropped to resynchronise
        self._warned = False

    def give_back(self, data: bytes) -> None:
        """Put bytes read as part of a body back in front of the stream."""
        self._buffer[:0] = data

    async def read(self) -> bytes | Malformed | None:
        """The next frame's body, a Malformed frame, or None at the end of the stream."""
        while True:
            self._skip_to_header()
            end = self._buffer.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(self._buffer) > _MAX_HEADER_BYTES:
                self._drop(len(self._buffer) - _KEEP)
                return Malformed(f"headers longer than {_MAX_HEADER_BYTES} bytes")
            if not await self._fill():
                return None
        headers = bytes(self._buffer[:end])
        del self._buffer[:end + 4]
        length = content_length(headers)
        if isinstance(length, str):
            return Malformed(length)
        if length > self.max_bytes:
            # Not read, not kept: what follows is dropped up to the next header.
            return Malformed(f"a message of {length} bytes is over the limit of "
                             f"{self.max_bytes} bytes")
        while len(self._buffer) < length:
            if not await self._fill():
                return None
        body = bytes(self._buffer[:length])
        del self._buffer[:length]
        return body

    async def _fill(self) -> bool:
        chunk = await self._read()
        if not chunk:
            return False
        self._buffer += chunk
        return True

    def _skip_to_header(self) -> None:
        """Drop what comes before the next `Content-` header (a frame's tail, garbage)."""
        if not self._buffer or _HEADER_START.match(self._buffer):
            return
        found = _HEADER_START.search(self._buffer)
        if found is not None:
            self._drop(found.start())
        elif len(self._buffer) > _KEEP:
            self._drop(len(self._buffer) - _KEEP)

    def _drop(self, count: int) -> None:
        dropped = bytes(self._buffer[:count])
        del self._buffer[:count]
        if not dropped.strip():
            return  # blank lines between frames: nothing lost
        self.dropped += count
        if not self._warned:
            self._warned = True
            log.warning("skipped %d bytes that were no LSP frame (%r…); further skips are "
                        "not logged", count, dropped[:40])


def content_length(headers: bytes) -> int | str:
    """The Content-Length of a header block (names in any case), or what is wrong with it."""
    lengths = []
    for line in headers.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if not colon:
            return f"a header line without a colon: {line[:40]!r}"
        if name.strip().lower() == b"content-length":
            lengths.append(value.strip())
    if not lengths:
        return "a frame without a Content-Length header"
    if len(set(lengths)) > 1:
        return "a frame with two different Content-Length headers"
    value = lengths[0]
    if not value.isdigit() or not value.isascii() or len(value) > 100:
        return f"a Content-Length that is not a number of bytes: {value[:40]!r}"
    return int(value)


def read_id(body: bytes) -> Any:
    """The id of a (possibly broken) request, where one can be read; else None."""
    found = _ID.search(body)
    if found is None:
        return None
    try:
        return json.loads(found.group(1))
    except ValueError:
        return None


def parse_body(body: bytes) -> tuple[Any, bytes]:
    """The JSON value of a body, and any bytes after it: where a Content-Length was too long,
    they are the start of the next frame, and go back to the stream. Raises ValueError
    (UnicodeDecodeError, JSONDecodeError) or RecursionError."""
    try:
        return json.loads(body), b""
    except ValueError:
        text = body.decode("utf-8").lstrip()
        value, end = _DECODER.raw_decode(text)
        return value, text[end:].encode("utf-8")


def stdin_chunks(stream: BinaryIO) -> ReadChunk:
    """Chunks of a binary stream: read by the event loop itself where the stream is a pipe (an
    editor's stdio), else (a file, a terminal, a socket, Windows) in a thread of its own."""
    if _is_pipe(stream):
        return _pipe_chunks(stream)
    return _thread_chunks(stream)


def _is_pipe(stream: BinaryIO) -> bool:
    if sys.platform == "win32":
        return False  # the Proactor loop reads no inherited stdin pipe
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (OSError, ValueError, io.UnsupportedOperation):  # no file descriptor (a test's stream)
        return False
    # The loop makes the descriptor non-blocking. A pipe's read end is ours alone; a terminal
    # is shared with the shell, and a socket may be stdout too, whose blocking writes would
    # then fail.
    return stat.S_ISFIFO(mode)


def _pipe_chunks(stream: BinaryIO) -> ReadChunk:
    """Each read costs a hop to a thread and back otherwise: about 0.1 ms a message, which a
    keystroke's three messages (a change, a completion, a next edit) pay in turn."""
    reader: asyncio.StreamReader | None = None

    async def read_chunk() -> bytes:
        nonlocal reader
        if reader is None:
            reader = asyncio.StreamReader(limit=_CHUNK)
            loop = asyncio.get_running_loop()
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stream)
        return await reader.read(_CHUNK)
    return read_chunk


def _thread_chunks(stream: BinaryIO) -> ReadChunk:
    """Chunks of a blocking binary stream, read in a thread of their own."""
    executor = ThreadPoolExecutor(1, thread_name_prefix="lsp-stdin")
    read = getattr(stream, "read1", stream.read)

    async def read_chunk() -> bytes:
        return await asyncio.get_running_loop().run_in_executor(executor, read, _CHUNK)
    return read_chunk


class Connection:
    """One client's stream of frames, handed to a pygls protocol message by message."""

    def __init__(self, frames: FrameReader, protocol: Any) -> None:
        self.frames = frames
        self.protocol = protocol

    async def run(self) -> int:
        """Serve until `exit` (its exit code) or the end of the stream (0 after shutdown,
        else 1)."""
        while True:
            frame = await self.frames.read()
            if frame is None:
                return 0 if is_shut_down(self.protocol) else 1
            try:
                self.handle(frame)
            except SystemExit as exc:  # the exit notification
                return exc.code if isinstance(exc.code, int) else 0
            # Let what the message started run before the next one is read: a request answered
            # at once (a completion from the cache) goes out before the messages sent after it
            # (a next-edit request) are parsed. One turn runs its handler, the next sends.
            for _ in range(_TURNS_PER_MESSAGE):
                await asyncio.sleep(0)

    def handle(self, frame: bytes | Malformed) -> None:
        if isinstance(frame, Malformed):
            self._answer(read_id(frame.body), ErrorCodes.ParseError,
                         f"malformed frame: {frame.reason}")
            return
        try:
            data, rest = parse_body(frame)
        except RecursionError:
            self._answer(read_id(frame), ErrorCodes.ParseError,
                         "the message's JSON is nested too deeply")
            return
        except ValueError as exc:
            self._answer(read_id(frame), ErrorCodes.ParseError,
                         f"the message is not JSON: {exc}")
            return
        self.frames.give_back(rest)
        if not isinstance(data, dict) or data.get("jsonrpc") != "2.0":
            msg_id = data.get("id") if isinstance(data, dict) else None
            self._answer(msg_id if isinstance(msg_id, (int, str)) else None,
                         ErrorCodes.InvalidRequest, "not a JSON-RPC 2.0 message object")
            return
        self._dispatch(data)

    def _dispatch(self, data: dict) -> None:
        try:
            message = self.protocol.structure_message(data)
            self.protocol.handle_message(message)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:  # noqa: BLE001 - one bad message must not end the server
            log.warning("cannot handle %s: %s", data.get("method", "a message"),
                        str(exc) or type(exc).__name__)
            if "id" in data and "method" in data:
                self._answer(data["id"], ErrorCodes.InternalError,
                             f"cannot handle {data['method']}: {str(exc) or type(exc).__name__}")

    def _answer(self, msg_id: Any, code: int, message: str) -> None:
        log.warning("%s", message)
        send_error(self.protocol, msg_id, code, message)


class StdoutWriter:
    """The protocol's output: after `exit` closed it, or once the client is gone, what is
    still sent (a log line queued meanwhile) is dropped instead of failing."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.closed = False

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            self._stream.write(data)
            self._stream.flush()
        except (OSError, ValueError):  # a broken pipe, a closed file
            self.closed = True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self._stream.close()
            except OSError:
                pass


def serve_stdio(server: Any, stdin: BinaryIO, stdout: BinaryIO,
                max_bytes: int = MAX_MESSAGE_BYTES) -> int:
    """Serve one client over stdio; the process's exit code."""
    server.protocol.set_writer(StdoutWriter(stdout))
    connection = Connection(FrameReader(stdin_chunks(stdin), max_bytes), server.protocol)
    try:
        return asyncio.run(connection.run())
    finally:
        server.shutdown()


async def serve_stream(server: Any, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       max_bytes: int = MAX_MESSAGE_BYTES) -> int:
    """Serve one client over a socket until `exit` or its end; the exit code. What was sent is
    written out before this returns (waiting at most CLOSE_WAIT_S for a client that reads no
    more)."""
    server.protocol.set_writer(writer)
    connection = Connection(FrameReader(lambda: reader.read(_CHUNK), max_bytes), server.protocol)
    code = await connection.run()
    writer.close()
    with contextlib.suppress(OSError, asyncio.TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), CLOSE_WAIT_S)
    return code


def serve_tcp(server: Any, host: str, port: int, max_bytes: int = MAX_MESSAGE_BYTES) -> int:
    """Serve clients one after another on host:port until one sends `exit`; its exit code."""
    async def main() -> int:
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            code = await serve_stream(server, reader, writer, max_bytes)
            if not done.done():
                done.set_result(code)

        listening = await asyncio.start_server(client, host, port)
        async with listening:
            bound = listening.sockets[0].getsockname()[1]  # the free port chosen for port 0
            log.warning("listening on %s:%d", host, bound)  # stderr: where to connect
            return await done

    try:
        return asyncio.run(main())
    finally:
        server.shutdown()


def connect_and_serve(server: Any, connect: Callable[[], Awaitable[Streams]], where: str,
                      max_bytes: int = MAX_MESSAGE_BYTES) -> int:
    """Connect to a client that listens (`connect()`, e.g. vscode-languageclient's socket and
    pipe transports) and serve it; the exit code. A failed connection raises OSError naming
    `where`."""
    async def main() -> int:
        try:
            reader, writer = await connect()
        except OSError as exc:
            raise OSError(f"cannot connect to the client at {where}: "
                          f"{exc.strerror or exc}") from None
        return await serve_stream(server, reader, writer, max_bytes)

    try:
        return asyncio.run(main())
    finally:
        server.shutdown()
