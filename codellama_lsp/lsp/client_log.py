"""Our log records go to the editor, as window/logMessage; stderr keeps warnings and errors only
(editors such as Neovim log every stderr line of a server at ERROR level)."""

from __future__ import annotations

import logging
from typing import Any

from lsprotocol import types

_LEVELS = [(logging.ERROR, types.MessageType.Error), (logging.WARNING, types.MessageType.Warning),
           (logging.INFO, types.MessageType.Info)]


class ClientLogHandler(logging.Handler):
    """Sends records to the client from the server's event loop (the writer is not shared
    between threads)."""

    def __init__(self, server: Any) -> None:
        super().__init__(logging.INFO)
        self.server = server
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        loop = getattr(self.server, "loop", None)
        if loop is None or loop.is_closed():
            return
        kind = next((kind for level, kind in _LEVELS if record.levelno >= level),
                    types.MessageType.Log)
        params = types.LogMessageParams(type=kind, message=self.format(record))
        try:
            loop.call_soon_threadsafe(self.server.window_log_message, params)
        except RuntimeError:
            pass  # the loop closed meanwhile: the server is exiting


def forward_logs(server: Any, names: tuple[str, ...] = ("codellama_lsp", "fim"),
                 verbose: bool = False) -> None:
    """Send the records of `names` to the client; keep stderr for warnings and errors (all
    records where `verbose`)."""
    handler = ClientLogHandler(server)
    for name in names:
        logging.getLogger(name).addHandler(handler)
    if not verbose:
        for stderr in logging.getLogger().handlers:
            if isinstance(stderr, logging.StreamHandler) and stderr.level < logging.WARNING:
                stderr.setLevel(logging.WARNING)
