"""The decoding loop's parts, shared by LocalEngine and the worker's batcher.

Sampling and its generator (restricted by token healing while it applies), reuse of a kept KV
cache up to the common prefix, the forward call, prompt-lookup drafts, and the stop rules (stop
ids, stop strings checked incrementally, length, a time cap that ends at a line end).
"""

from __future__ import annotations

import inspect
import time
from typing import Any

from fim.engines.base import GenerationRequest, StopReason, find_stop
from fim.engines.compiled_step import crop_to
from fim.engines.growing_cache import new_growing_cache
from fim.engines.healing import HealingConstraint
from fim.tokenizer import Tokenizer


def make_generator(temperature: float, seed: int | None):
    """A CPU generator seeded from `seed` (or the clock) when sampling; None when greedy."""
    import torch

    if temperature <= 0:
        return None
    generator = torch.Generator(device="cpu")
    generator.manual_seed(seed if seed is not None else time.time_ns())
    return generator


def pick(logits, temperature: float, top_p: float, generator) -> int:
    """Greedy at temperature 0, else nucleus sampling (on the CPU, where the generator lives)."""
    import torch

    if temperature <= 0:
        # max's index is argmax's (the first of ties), and on a CPU several times faster.
        return int(logits.max(dim=-1).indices)
    probs = torch.softmax(logits.float().cpu() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        keep = torch.cumsum(sorted_probs, dim=-1) - sorted_probs < top_p
        sorted_probs = sorted_probs * keep
        choice = torch.multinomial(sorted_probs / sorted_probs.sum(), 1, generator=generator)
        return int(order[choice])
    return int(torch.multinomial(probs, 1, generator=generator))


def pick_next(logits, request: GenerationRequest, generator,
              healing: HealingConstraint | None = None) -> int:
    """`pick` the id after `logits` [vocab] with `request`'s settings, among the pieces that token
    healing allows while some of the removed text is left to spell (the one place both LocalEngine
    and the batcher apply it)."""
    if healing is None or not healing.pending:
        return pick(logits, request.temperature, request.top_p, generator)
    token = pick(healing.mask(logits), request.temperature, request.top_p, generator)
    healing.advance(token)
    return token


def common_prefix(a: list[int], b: list[int]) -> int:
    """How many leading ids `a` and `b` share."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def new_cache(model) -> Any:
    """An empty KV cache that grows in place (not by a copy of itself at every token)."""
    return new_growing_cache(model)


def reuse_prefix(cached_ids: list[int], cache: Any, prompt: list[int]) -> int:
    """Crop `cache` (holding `cached_ids`) to its common prefix with `prompt`; return its length.

    At least the prompt's last id is left to run, so that its logits exist. 0 means the cache
    is of no use (the caller starts a new one).
    """
    if cache is None:
        return 0
    common = min(common_prefix(cached_ids, prompt), len(prompt) - 1)
    if common <= 0:
        return 0
    if common < len(cached_ids):
        crop_to(cache, common)
    return common


class Forward:
    """The model's forward pass on a kept cache, returning the last `keep` positions' logits."""

    def __init__(self, model) -> None:
        self.model = model
        # transformers 5.x renamed `past_key_values` to `cache`.
        params = inspect.signature(model.forward).parameters
        self.cache_arg = "cache" if "cache" in params else "past_key_values"

    def __call__(self, ids: list[list[int]], cache, keep: Any = 1, mask=None, positions=None,
                 start: int | None = None):
        """Logits [rows, keep, vocab] for `ids` (one list per row) appended to `cache`, written
        from position `start` where given (a static cache needs it: its size is not its fill).
        `keep`: the last so many positions, or a tensor of the offsets (into each row's ids) to
        keep."""
        import torch

        kwargs: dict[str, Any] = {self.cache_arg: cache}
        if mask is not None:
            kwargs.update(attention_mask=mask, position_ids=positions)
        elif start is not None:
            written = torch.arange(start, start + len(ids[0]), device=self.model.device)
            kwargs.update(cache_position=written, position_ids=written.unsqueeze(0))
        input_ids = torch.tensor(ids, device=self.model.device)
        out = self.model(input_ids=input_ids, use_cache=True, logits_to_keep=keep, **kwargs)
        return out.logits


def lookup_draft(ids: list[int], most: int, ngram: int = 3) -> list[int]:
    """Prompt-lookup draft: the ids that followed the latest earlier occurrence of the last
    n-gram of `ids` (n from `ngram` down to 2), at most `most` of them."""
    if most <= 0:
        return []
    for n in range(ngram, 1, -1):
        if len(ids) <= n:
            continue
        tail = ids[-n:]
        for start in range(len(ids) - n - 1, -1, -1):
            if ids[start:start + n] == tail:
                return ids[start + n:start + n + most]
    return []


class TextTail:
    """The generated text, decoded incrementally (a few ids per token, not the whole text)."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.text = ""
        self._start = 0  # decode from the last complete piece (context for its spacing)
        self._read = 0  # ids up to here are in `text`

    def add(self, token: int) -> str:
        """Append `token`; return the text it completes (empty while a character is partial)."""
        self.ids.append(token)
        decode = self.tokenizer.decode_infilling
        before = decode(self.ids[self._start:self._read])
        after = decode(self.ids[self._start:])
        if after.endswith("\ufffd") or not after.startswith(before):
            return ""  # an unfinished multi-byte character: wait for its next byte
        new = after[len(before):]
        self.text += new
        self._start, self._read = self._read, len(self.ids)  # both at character boundaries
        return new


class StopRules:
    """Whether a generation is done after each token, and why."""

    def __init__(self, tokenizer: Tokenizer, stop_ids: frozenset[int], stops: list[str],
                 max_new_tokens: int, started: float, max_time_s: float | None = None) -> None:
        self.tokenizer = tokenizer
        self.stop_ids = stop_ids
        self.stops = [s for s in stops if s]
        self.longest = max((len(s) for s in self.stops), default=0)
        self.max_new_tokens = max_new_tokens
        self.deadline = started + max_time_s if max_time_s else None
        self.tail = TextTail(tokenizer)
        self.cut: int | None = None  # where a stop string or a time cap cut the text
        self._late_from: int | None = None  # text length when the time cap passed

    @property
    def generated(self) -> list[int]:
        return self.tail.ids

    def accept(self, token: int) -> StopReason | None:
        """Take the next sampled `token`; the reason to stop now, or None to go on."""
        if token in self.stop_ids:
            return StopReason.EOS if token == self.tokenizer.eos_id else StopReason.EOT
        before = len(self.tail.text)
        new = self.tail.add(token)
        if new and self.stops:
            window = self.tail.text[max(0, before - self.longest + 1):]
            hit = find_stop(window, self.stops)
            if hit is not None:
                self.cut = max(0, before - self.longest + 1) + hit
                return StopReason.STOP
        if self.deadline is not None and self._over_time(before):
            return StopReason.TIME
        if len(self.tail.ids) >= self.max_new_tokens:
            return StopReason.LENGTH
        return None

    def _over_time(self, before: int) -> bool:
        """Past the time cap: stop at the first line end after it."""
        if self._late_from is None:
            if time.perf_counter() < self.deadline:  # type: ignore[operator]
                return False
            self._late_from = before
        line_end = self.tail.text.find("\n", self._late_from)
        if line_end < 0:
            return False
        self.cut = line_end
        return True

    def text(self) -> str:
        """The generated text, cut where a stop string or the time cap ended it."""
        full = self.tokenizer.decode_infilling(self.tail.ids)
        return full[: self.cut] if self.cut is not None else full
