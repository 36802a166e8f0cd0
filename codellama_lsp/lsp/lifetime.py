"""How the server process ends: at `exit` or the end of the client's stream, and when the client
process is gone.

- `end_process`: once the last message is written, the process ends at once. A normal
  interpreter exit first tears down every module: with torch and transformers loaded that took
  0.5 to 2 s (clients kill a server still there 2 s after `exit`), and a daemon thread still in
  torch's C++ code (a model loading) could abort it ("terminate called without an active
  exception", exit -6). The server writes no user files, so nothing is lost by skipping it; what
  it does hold (logs on stderr) is flushed first.
- `ClientWatch`: the client's process id, from `--clientProcessId` or else from `initialize`'s
  `processId`, as vscode-languageserver servers do. When it ends, so does the server (0 after
  `shutdown`, else 1), instead of living on as an orphan holding a model's memory.
"""

from __future__ import annotations

import logging
import os
import select
import sys
import threading
import time
from collections.abc import Callable
from typing import NoReturn

log = logging.getLogger(__name__)

POLL_S = 1.0  # where a process cannot be waited on (no pidfd), how often it is looked for
# os.kill(pid, 0) on Windows is no lookup (it sends CTRL_C_EVENT): processes are not watched there.
CAN_WATCH = sys.platform != "win32"


def end_process(code: int) -> NoReturn:
    """End the process now with `code`, logs flushed, without the interpreter's teardown."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe: nothing to keep
    os._exit(code)


def process_exists(pid: int) -> bool:
    """Whether process `pid` exists (seen from here: another machine's or container's is not);
    POSIX only (`CAN_WATCH`)."""
    try:
        os.kill(pid, 0)  # signal 0: nothing is sent, only the process looked up
    except (ProcessLookupError, OverflowError):  # none, or no process id at all
        return False
    except PermissionError:
        return True  # another user's
    return True


def wait_until_gone(pid: int) -> None:
    """Block until process `pid` has ended."""
    try:
        handle = os.pidfd_open(pid)
    except (ProcessLookupError, OverflowError):
        return
    except (AttributeError, OSError):  # not Linux 5.3+: look for it now and then
        while process_exists(pid):
            time.sleep(POLL_S)
        return
    try:
        select.select([handle], [], [])  # readable once the process has ended
    finally:
        os.close(handle)


class ClientWatch:
    """Calls `on_gone(pid)` (in a thread of its own) when the client's process has ended.

    A process id given on the command line is watched from the start and wins over the one of
    `initialize`; the latter is watched only where `follow_initialize` (not over `--tcp`, where
    clients come from anywhere, one after another).
    """

    def __init__(self, on_gone: Callable[[int], None], pid: int | None = None,
                 follow_initialize: bool = True) -> None:
        self._on_gone = on_gone
        self._follow_initialize = follow_initialize
        self.pid: int | None = None
        if pid is not None:
            self._watch(pid)

    def initialize_named(self, pid: int | None) -> None:
        """`initialize` named the client's process `pid` (or None)."""
        if pid is None or pid <= 0 or self.pid is not None or not self._follow_initialize \
                or not CAN_WATCH:
            return
        if not process_exists(pid):
            log.info("the client's process %d is not seen from here (another machine or "
                     "container?): not watched", pid)
            return
        self._watch(pid)

    def _watch(self, pid: int) -> None:
        self.pid = pid
        if not CAN_WATCH:
            log.info("the client's process %d is not watched on this system", pid)
            return

        def watch() -> None:
            wait_until_gone(pid)
            self._on_gone(pid)

        threading.Thread(target=watch, name="client-watch", daemon=True).start()
