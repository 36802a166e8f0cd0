"""A worker's shutdown state: whether it drains, and the completions still in flight."""

from __future__ import annotations

from typing import Protocol


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Drain:
    """Once `begin()` is called the worker takes no new completion (503, /health too) and lets
    the ones in flight finish; `cancel_all()` cuts those short when the grace period is over.

    Used on the event loop's thread only."""

    def __init__(self) -> None:
        self.draining = False
        self.in_flight = 0  # completion requests, from their first byte to their last
        self._answers: set[Cancellable] = set()

    def begin(self) -> None:
        self.draining = True

    def track(self, answer: Cancellable) -> None:
        self._answers.add(answer)

    def untrack(self, answer: Cancellable) -> None:
        self._answers.discard(answer)

    def cancel_all(self) -> None:
        for answer in list(self._answers):
            answer.cancel()
