"""Cancel flags for tests that must stop a generation at an exact token."""

from __future__ import annotations

import threading


class CancelAfter(threading.Event):
    """A cancel flag that turns itself on after `n` checks (one check per generated token)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.checks, self.n = 0, n

    def is_set(self) -> bool:
        self.checks += 1
        return self.checks > self.n or super().is_set()
