"""Reading a request's body within a size limit, without holding more of it than the limit."""

from __future__ import annotations

from starlette.requests import Request

_MAX_DIGITS = 18  # a Content-Length longer than this is over any limit (and not worth an int)


class BodyTooLarge(Exception):
    """The body is longer than the worker accepts (413)."""


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or BodyTooLarge as soon as it is known to exceed `limit` bytes (from its
    Content-Length, or while it arrives). A client that leaves before the end raises starlette's
    ClientDisconnect."""
    declared = request.headers.get("content-length", "")
    if len(declared) > _MAX_DIGITS or (declared.isdigit() and int(declared) > limit):
        raise BodyTooLarge(_message(declared, limit))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(_message(f"over {limit}", limit))
        chunks.append(chunk)
    return b"".join(chunks)


def _message(size: str, limit: int) -> str:
    return f"the request body of {size} bytes is larger than this worker's limit of {limit} bytes"
