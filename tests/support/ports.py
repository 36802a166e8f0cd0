"""Ports in tests. Servers under test are started on port 0 and say which port they took
(`listening_url`), so no port is picked, released and then raced for; `closed_port` is for the
tests that want a port where nothing listens."""

from __future__ import annotations

import re
import socket

_LISTENING = re.compile(r"listening on (https?://)?(\[[0-9a-f:]+\]|[\w.-]+):(\d+)")


def listening_url(log: str) -> str | None:
    """`http://HOST:PORT` from a server's "listening on ..." line, where it has printed one."""
    found = _LISTENING.search(log)
    if found is None:
        return None
    return f"http://{found.group(2)}:{found.group(3)}"


def closed_port() -> int:
    """A loopback port nothing listens on right now (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
