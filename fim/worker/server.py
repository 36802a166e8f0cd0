"""Running the worker's app under uvicorn, with a drain on SIGTERM and SIGINT.

On the first signal the worker drains: it keeps listening, answers new completions and /health
with 503 (so a proxy or Kubernetes sends traffic elsewhere), and lets the completions in flight
finish. When none is left, or the grace period is over (then the rest are cancelled), or a second
signal comes, uvicorn shuts down and the process exits 0.
"""

from __future__ import annotations

import logging
import socket
import time
from types import FrameType

import uvicorn

from fim.worker.drain import Drain

log = logging.getLogger(__name__)

_FLUSH_S = 2.0  # after cancelling, time for the cut-short answers to reach their clients


class DrainingServer(uvicorn.Server):
    """A uvicorn server whose signals start a drain instead of an immediate shutdown."""

    def __init__(self, config: uvicorn.Config, drain: Drain, grace_s: float) -> None:
        super().__init__(config)
        self.drain = drain
        self.grace_s = grace_s
        self.signals = 0
        self._drain_started: float | None = None
        self._cancelled_at: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Only count it: uvicorn's own handler would stop listening at once and, afterwards,
        # re-raise the signal, so the process would not exit 0.
        self.signals += 1

    async def on_tick(self, counter: int) -> bool:
        if self.signals and not self.should_exit:
            self._advance(time.monotonic())
        return await super().on_tick(counter)

    def _advance(self, now: float) -> None:
        """One step of the drain, every tick (0.1 s) once a signal came."""
        if self._drain_started is None:
            self._drain_started = now
            self.drain.begin()
            log.warning("draining: %d request(s) in flight, grace %.1f s", self.drain.in_flight,
                        self.grace_s)
        if self.drain.in_flight == 0:
            self.should_exit = True
            return
        if self._cancelled_at is None:
            if self.signals > 1 or now - self._drain_started >= self.grace_s:
                log.warning("cancelling %d request(s) still in flight", self.drain.in_flight)
                self.drain.cancel_all()
                self._cancelled_at = now
        elif now - self._cancelled_at >= _FLUSH_S:
            self.should_exit = True


def serve(app, drain: Drain, listener: socket.socket, grace_s: float) -> None:
    """Serve `app` on the address of `listener` (bound while the model loaded, so that nobody
    took it meanwhile) until a signal has drained it. uvicorn binds the address itself: served
    on the handed-over socket, a request refused before its body was read (413) reached the
    client as a connection reset in some runs instead of its answer."""
    host, port = listener.getsockname()[:2]
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=int(_FLUSH_S) + 1)
    listener.close()
    DrainingServer(config, drain, grace_s).run()
