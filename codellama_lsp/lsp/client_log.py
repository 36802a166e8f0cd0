"""Our log records also go to the editor, as window/logMessage (stderr keeps them too)."""

from __future__ import annotations

import logging

from lsprotocol import types

_LEVELS = [(logging.ERROR, types.MessageType.Error), (logging.WARNING, types.MessageType.Warning),
           (logging.INFO, types.MessageType.Info)]


class ClientLogHandler(logging.Handler):
    """Sends records to the client from the server's event loop (the writer is not shared
    between threads)."""

    def __init__(self, server) -> None:
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


def forward_logs(server, names: tuple[str, ...] = ("codellama_lsp", "fim")) -> None:
    handler = ClientLogHandler(server)
    for name in names:
        logging.getLogger(name).addHandler(handler)
