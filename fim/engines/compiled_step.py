"""The lean decode step: one token's forward over a static, preallocated KV cache, compiled once.

An eager transformers forward costs far more than its arithmetic for one token (Python per layer,
a kernel launch per op, a growing cache reallocated each step). A cache of fixed size lets
`torch.compile` build the step once for every position and every kept cache (CUDA graphs on a
GPU); cutting a static cache back only moves its fill mark, so reuse and drafts cost no copy.
Where compiling fails (no C compiler, an unsupported model), the step runs eagerly.
"""

from __future__ import annotations

import logging
from typing import Any

from fim.engines.base import EngineError

log = logging.getLogger(__name__)

COMPILE_MODES = ("auto", "on", "off")


def wants_compile(mode: str, device: str) -> bool:
    """`auto` compiles on CUDA, where launch overhead dominates; on a CPU it saves 1-7 ms a token
    but costs 7-11 s at every start (50-70 s with inductor's cache empty; BENCHMARKS.md), so it
    is asked for with `on`."""
    if mode not in COMPILE_MODES:
        raise EngineError(f"unknown compile mode {mode!r} (choose from {', '.join(COMPILE_MODES)})")
    return mode == "on" or (mode == "auto" and device.startswith("cuda"))


def new_static_cache(model: Any, length: int) -> Any:
    from transformers import StaticCache

    return StaticCache(config=model.config, max_cache_len=length)


def crop_to(cache: Any, length: int) -> None:
    """Keep the first `length` positions of `cache` (a static cache just moves its fill mark)."""
    drop = int(cache.get_seq_length()) - length
    if drop > 0:
        cache.crop(-drop)  # transformers 5: a negative count drops that many from the end


class CompiledStep:
    """`step(token, position, cache)`: logits [1, 1, vocab] for one id written at `position`."""

    def __init__(self, model: Any, cache_arg: str) -> None:
        import torch

        self.model = model
        self.cache_arg = cache_arg
        self.compiled = True
        cuda = str(model.device).startswith("cuda")
        # Inductor otherwise keeps fused intermediates in float32 where eager rounds them to
        # bfloat16/float16, and greedy ids drift from the eager step's after a few tokens.
        options: dict[str, Any] | None = None if cuda else {"emulate_precision_casts": True}
        self._step = torch.compile(self._eager, fullgraph=True,
                                   mode="reduce-overhead" if cuda else None, options=options)

    def __call__(self, token: int, position: int, cache: Any) -> Any:
        import torch

        device = self.model.device
        ids = torch.tensor([[token]], device=device)
        positions = torch.tensor([position], device=device)
        if self.compiled:
            return self._step(ids, positions, cache)
        return self._eager(ids, positions, cache)

    def warm_up(self, cache_length: int) -> bool:
        """Compile now (tens of seconds on a CPU) on a scratch cache of the kept caches' size,
        so that no suggestion waits for it; on failure fall back to eager. True if compiled."""
        import torch

        try:
            with torch.inference_mode():  # as decoding runs: another mode would compile again
                cache = new_static_cache(self.model, cache_length)
                self(1, 0, cache)
                self(1, 1, cache)
        except Exception as exc:  # noqa: BLE001 - any compiler failure leaves the eager step
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            log.warning("compiling the decode step failed (%s); decoding eagerly", first[:200])
            self.compiled = False
        return self.compiled

    def _eager(self, ids: Any, positions: Any, cache: Any) -> Any:
        kwargs = {self.cache_arg: cache}
        out = self.model(input_ids=ids, cache_position=positions,
                         position_ids=positions.unsqueeze(0), use_cache=True, logits_to_keep=1,
                         **kwargs)
        return out.logits
