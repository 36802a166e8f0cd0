"""A one-line progress bar on stderr: steps, tokens/s, loss and time left; a summary at the end."""

from __future__ import annotations

import sys
import time


class Progress:
    """Redraws in place on a terminal; elsewhere (logs) prints a line every `interval_s`."""

    def __init__(self, budget_s: float, max_steps: int | None, tokens: int = 0,
                 elapsed_s: float = 0.0, interval_s: float = 30.0) -> None:
        """`tokens` and `elapsed_s`: where this run starts (a resumed run's earlier total)."""
        self._budget_s = budget_s
        self._max_steps = max_steps
        self._interval_s = interval_s
        self._last = 0.0
        self._tty = sys.stderr.isatty()
        self._loss: float | None = None
        self._start = (tokens, elapsed_s)
        self._first: tuple[int, float] | None = None  # after this run's first step
        self._now = (tokens, elapsed_s)

    def rate(self) -> float:
        """This run's tokens per second, leaving out its first step once there are more (the
        first compiles the step: a minute, against fractions of a second)."""
        tokens, elapsed = self._now
        since = self._first if self._first and self._first != self._now else self._start
        return (tokens - since[0]) / max(elapsed - since[1], 1e-9)

    def update(self, step: int, tokens: int, elapsed_s: float, loss: float) -> None:
        """`tokens` and `elapsed_s`: totals, counting earlier runs."""
        self._now = (tokens, elapsed_s)
        self._first = self._first or self._now
        # An exponential average: one batch's loss is noisy.
        self._loss = loss if self._loss is None else 0.9 * self._loss + 0.1 * loss
        done = elapsed_s / self._budget_s if self._budget_s else 0.0
        if self._max_steps:
            done = max(done, step / self._max_steps)
        done = min(done, 1.0)
        left = elapsed_s / done - elapsed_s if done > 0 else 0.0
        bar = "#" * int(done * 20) + "." * (20 - int(done * 20))
        line = (f"[{bar}] {done:4.0%} step {step} | {self.rate():,.0f} tok/s"
                f" | loss {self._loss:.3f} | {_clock(left)} left")
        now = time.monotonic()
        if self._tty:
            print("\r" + line, end="", file=sys.stderr, flush=True)
        elif now - self._last >= self._interval_s:
            print(line, file=sys.stderr, flush=True)
            self._last = now

    def close(self) -> None:
        """Ends the bar with a summary line: this run's tokens, time and speed."""
        if self._tty:
            print(file=sys.stderr)
        tokens = self._now[0] - self._start[0]
        seconds = self._now[1] - self._start[1]
        line = f"trained {tokens:,} tokens in {_clock(seconds)}: {self.rate():,.0f} tok/s"
        if self._first and self._first != self._now:
            line += f" (after the first step, {self._first[1] - self._start[1]:.1f} s)"
        print(line, file=sys.stderr, flush=True)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"
