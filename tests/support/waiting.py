"""Waiting for a condition in tests: the one place that polls, with a deadline and a message.

`until` (plain tests, e.g. a real Neovim) and `until_async` (asyncio tests, e.g. the LSP session)
return the condition's first truthy value, and fail naming `what` and the last value seen where
none comes in time. Tests wait for what they can observe, never for a fixed time.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

INTERVAL_S = 0.02
TIMEOUT_S = 60.0


def until(condition: Callable[[], Any], what: str = "the condition",
          timeout_s: float = TIMEOUT_S, interval_s: float = INTERVAL_S,
          ignore: tuple[type[BaseException], ...] = ()) -> Any:
    """Poll `condition()` until it returns a truthy value (errors in `ignore` count as false)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = _probe(condition, ignore)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s:g} s (last: {value!r})")
        time.sleep(interval_s)


async def until_async(condition: Callable[[], Any], what: str = "the condition",
                      timeout_s: float = TIMEOUT_S, interval_s: float = INTERVAL_S) -> Any:
    """`until` for asyncio tests; `condition` may be a coroutine function."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s:g} s (last: {value!r})")
        await asyncio.sleep(interval_s)


def _probe(condition: Callable[[], Any], ignore: tuple[type[BaseException], ...]) -> Any:
    try:
        return condition()
    except ignore:
        return None
