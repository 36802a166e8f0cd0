"""What the server shows the user: messages and progress, through the client's window.

The services talk to a `ClientWindow`; the server hands them one that speaks LSP (`LspWindow`),
and in-process tests one that records.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any, Protocol

from lsprotocol import types

log = logging.getLogger(__name__)

PROGRESS_CREATE_TIMEOUT_S = 5.0


class ClientWindow(Protocol):
    def show(self, kind: types.MessageType, message: str) -> None:
        """One window/showMessage."""

    async def begin_progress(self, title: str, message: str) -> str | None:
        """Start a $/progress report; its token, or None where the client shows none."""

    def report_progress(self, token: str, message: str) -> None:
        """A new message for the report `begin_progress` started."""

    def end_progress(self, token: str, message: str) -> None:
        """End the report `begin_progress` started."""


def client_has(capabilities: Any, path: str) -> bool:
    """Whether the client's capabilities hold a true value at a dotted `path`."""
    value = capabilities
    for name in path.split("."):
        value = getattr(value, name, None)
        if value is None:
            return False
    return bool(value)


class LspWindow:
    """A ClientWindow over a pygls LanguageServer."""

    def __init__(self, server: Any) -> None:
        self._server = server
        self._tokens = itertools.count(1)

    def show(self, kind: types.MessageType, message: str) -> None:
        self._server.window_show_message(types.ShowMessageParams(type=kind, message=message))

    async def begin_progress(self, title: str, message: str) -> str | None:
        if not client_has(self._server.client_capabilities, "window.work_done_progress"):
            return None
        token = f"codellama-load-{next(self._tokens)}"
        progress = self._server.work_done_progress
        try:
            await asyncio.wait_for(progress.create_async(token), PROGRESS_CREATE_TIMEOUT_S)
            progress.begin(token, types.WorkDoneProgressBegin(title=title, message=message))
        except Exception as exc:  # noqa: BLE001 - progress is a courtesy, the work goes on
            log.info("no progress reporting: %s", exc)
            return None
        return token

    def report_progress(self, token: str, message: str) -> None:
        self._server.work_done_progress.report(token,
                                               types.WorkDoneProgressReport(message=message))

    def end_progress(self, token: str, message: str) -> None:
        self._server.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
