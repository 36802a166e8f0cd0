"""A one-line progress bar on stderr: steps, tokens/s, loss and time left."""

from __future__ import annotations

import sys
import time


class Progress:
    """Redraws in place on a terminal; elsewhere (logs) prints a line every `interval_s`."""

    def __init__(self, budget_s: float, max_steps: int | None, interval_s: float = 30.0) -> None:
        self._budget_s = budget_s
        self._max_steps = max_steps
        self._interval_s = interval_s
        self._last = 0.0
        self._tty = sys.stderr.isatty()
        self._loss: float | None = None

    def update(self, step: int, tokens: int, elapsed_s: float, loss: float) -> None:
        # An exponential average: one batch's loss is noisy.
        self._loss = loss if self._loss is None else 0.9 * self._loss + 0.1 * loss
        done = elapsed_s / self._budget_s if self._budget_s else 0.0
        if self._max_steps:
            done = max(done, step / self._max_steps)
        done = min(done, 1.0)
        left = elapsed_s / done - elapsed_s if done > 0 else 0.0
        bar = "#" * int(done * 20) + "." * (20 - int(done * 20))
        line = (f"[{bar}] {done:4.0%} step {step} | {tokens / max(elapsed_s, 1e-9):,.0f} tok/s"
                f" | loss {self._loss:.3f} | {_clock(left)} left")
        now = time.monotonic()
        if self._tty:
            print("\r" + line, end="", file=sys.stderr, flush=True)
        elif now - self._last >= self._interval_s:
            print(line, file=sys.stderr, flush=True)
            self._last = now

    def close(self) -> None:
        if self._tty:
            print(file=sys.stderr)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"
