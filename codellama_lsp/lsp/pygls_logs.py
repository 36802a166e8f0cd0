"""pygls's log records that tell the user nothing, made quiet. Editors show the server's stderr
(warnings and errors) in their logs, VS Code every line of it as an error:

- "Cancel notification for unknown message id": the client cancelled a request the server had
  answered already, which happens at every other keystroke of a fast typist. Dropped.
- 'Exception occurred for message "N"' with a JsonRpcException and its traceback: a request the
  server answered with an error on purpose (a failed edit, a bad position), which the client
  gets and tells; the server's own handler logs what went wrong in one line where the user
  should see it. Kept as one line at INFO, without the traceback.

Any other record of pygls (a real bug's traceback) stays as it is.
"""

from __future__ import annotations

import logging

from pygls.exceptions import JsonRpcException

PYGLS_RPC_LOGGER = "pygls.protocol.json_rpc"  # the logger of pygls's JSON-RPC protocol
_CANCEL_TOO_LATE = "Cancel notification for unknown message id"


class QuietPygls(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith(_CANCEL_TOO_LATE):
            return False
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, JsonRpcException):
            said = record.getMessage()
            record.msg = "%s: answered with error %s: %s"
            record.args = (said, error.code, error.message)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        return True


def quiet_pygls() -> None:
    """Install the filter (once)."""
    logger = logging.getLogger(PYGLS_RPC_LOGGER)
    if not any(isinstance(f, QuietPygls) for f in logger.filters):
        logger.addFilter(QuietPygls())
