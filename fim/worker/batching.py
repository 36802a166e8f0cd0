"""Batched generation on one model: requests that wait together decode together.

One thread owns the model. Each new request is prefilled alone, on its user's kept KV cache slot
(only the ids after the common prefix run). Running requests then decode together: their caches
are stacked with left padding and an attention mask, each step feeds one token per row, each row
samples with its own settings and finishes on its own (stop id, stop string, length, or its
client gone, checked before every step). New requests join at the next step.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fim.engines.base import GenerationRequest, GenerationResult, StopReason
from fim.engines.decoding import (
    Forward,
    StopRules,
    make_generator,
    new_cache,
    pick_next,
    reuse_prefix,
)
from fim.engines.healing import HealingConstraint, start_healing
from fim.engines.kv_slots import Slot, SlotStore
from fim.tokenizer import Tokenizer
from fim.worker.metrics import WorkerMetrics

log = logging.getLogger(__name__)


class QueueFull(Exception):
    """More requests wait than the queue holds."""


@dataclass
class Job:
    """One generation (one choice of one prompt) and where its text goes."""

    request: GenerationRequest
    ignore_eos: bool = False  # keep going past EOT/EOS (benchmarks, load tests)
    extra_stop_ids: frozenset[int] = frozenset()
    on_text: Callable[[str], None] | None = None  # streamed text, called on the model thread
    on_done: Callable[[Any], None] = lambda outcome: None  # a GenerationResult or an exception
    submitted_at: float = field(default_factory=time.perf_counter)


@dataclass
class _Row:
    job: Job
    rules: StopRules
    generator: Any
    seq: list[int] = field(default_factory=list)  # the ids the row's cache holds
    cache: Any = None  # the row's own cache, None while stacked into a batch
    last: int = 0  # the sampled id to feed next
    reason: StopReason | None = None
    emitted: str = ""
    reused: int = 0
    first_token_at: float = 0.0
    healing: HealingConstraint | None = None  # the answer's start, while it is left to spell

    @property
    def request(self) -> GenerationRequest:
        return self.job.request


@dataclass
class _Batch:
    cache: Any
    mask: Any  # attention mask [rows, cached + new], None for a single row


class BatchScheduler:
    """A bounded queue in front of one model, drained by one thread in batches of `max_batch`."""

    def __init__(self, model, tokenizer: Tokenizer, *, max_batch: int = 8, max_queue: int = 64,
                 cache_slots: int = 8, metrics: WorkerMetrics | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.max_batch = max_batch
        self.max_queue = max_queue
        self.slots = SlotStore(cache_slots)
        self.metrics = metrics or WorkerMetrics()
        self._queue: deque[Job] = deque()
        self._wake = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._forward = Forward(model)

    # -- the queue -------------------------------------------------------------------------

    def submit(self, jobs: list[Job]) -> None:
        """Queue `jobs` together, or raise QueueFull without queueing any."""
        with self._wake:
            if len(self._queue) + len(jobs) > self.max_queue:
                raise QueueFull(f"the queue is full ({len(self._queue)} generations waiting, "
                                f"limit {self.max_queue})")
            self._queue.extend(jobs)
            self.metrics.queue_depth.set(len(self._queue))
            self._wake.notify()

    @property
    def queue_depth(self) -> int:
        return len(self._queue)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="codellama-batcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _take(self, room: int, block: bool) -> list[Job]:
        with self._wake:
            while block and not self._queue and not self._stopping:
                self._wake.wait(timeout=0.5)
            taken = [self._queue.popleft() for _ in range(min(room, len(self._queue)))]
            self.metrics.queue_depth.set(len(self._queue))
            return taken

    # -- the model thread ------------------------------------------------------------------

    def _loop(self) -> None:
        import torch

        torch.set_grad_enabled(False)
        rows: list[_Row] = []
        batch: _Batch | None = None
        while not self._stopping:
            jobs = self._take(self.max_batch - len(rows), block=not rows)
            try:
                if jobs and batch is not None:
                    self._unstack(batch, rows)
                    batch = None
                for job in jobs:
                    try:
                        rows.append(self._start(job))
                    except Exception as exc:  # e.g. an id the model lacks: this job fails alone
                        log.exception("prefill failed")
                        _deliver(job, exc)
                        self.metrics.errors.labels(kind="generation").inc()
                if any(row.reason for row in rows):
                    if batch is not None:
                        self._unstack(batch, rows)
                        batch = None
                    for row in rows:
                        if row.reason:
                            self._finish(row)
                    rows = [row for row in rows if not row.reason]
                self.metrics.running.set(len(rows))
                if not rows:
                    continue
                if batch is None:
                    batch = self._stack(rows)
                self._step(rows, batch)
            except Exception as exc:  # a failed forward fails its batch, never the worker
                log.exception("generation failed")
                for row in rows:
                    _deliver(row.job, exc)
                rows, batch = [], None
                self.metrics.running.set(0)
                self.metrics.errors.labels(kind="generation").inc()

    def _start(self, job: Job) -> _Row:
        """Prefill `job`'s prompt on its user's slot and sample its first token."""
        request = job.request
        self.metrics.queue_wait.observe(time.perf_counter() - job.submitted_at)
        stop_ids = set(job.extra_stop_ids)
        if not job.ignore_eos:
            stop_ids |= self.tokenizer.stop_ids()
        rules = StopRules(self.tokenizer, frozenset(stop_ids), request.stop,
                          request.max_new_tokens, job.submitted_at, request.max_time_s)
        row = _Row(job, rules, make_generator(request.temperature, request.seed),
                   healing=start_healing(self.tokenizer, request.heal_text))
        if request.cancel.is_set():
            row.reason = StopReason.CANCELLED
            return row
        prompt = list(request.prompt_ids)
        self.metrics.prompt_tokens.inc(len(prompt))
        row.cache, row.reused = self._cache_for(request.cache_key, prompt)
        self.metrics.reused_tokens.inc(row.reused)
        row.seq = prompt
        logits = self._forward([prompt[row.reused:]], row.cache)
        self._accept(row, logits[0, -1])
        return row

    def _cache_for(self, key: str, prompt: list[int]) -> tuple[Any, int]:
        """The user's kept cache cropped to the common prefix, and how many ids it covers."""
        slot = self.slots.take(key) if key else None
        if slot is not None:
            common = reuse_prefix(slot.ids, slot.cache, prompt)
            if common:
                return slot.cache, common
        return new_cache(self.model), 0

    def _step(self, rows: list[_Row], batch: _Batch) -> None:
        """One token for every row (rows whose client left are stopped first)."""
        import torch

        cancelled = [row for row in rows if row.request.cancel.is_set()]
        for row in cancelled:
            row.reason = StopReason.CANCELLED
        if cancelled:
            return
        self.metrics.batch_size.observe(len(rows))
        device = self.model.device
        tokens = [[row.last] for row in rows]
        positions = None
        if batch.mask is not None:
            batch.mask = torch.cat([batch.mask, batch.mask.new_ones((len(rows), 1))], dim=1)
            positions = torch.tensor([[len(row.seq)] for row in rows], device=device)
        logits = self._forward(tokens, batch.cache, mask=batch.mask, positions=positions)
        for i, row in enumerate(rows):
            row.seq.append(row.last)
            self._accept(row, logits[i, -1])

    def _accept(self, row: _Row, logits) -> None:
        """Sample the row's next token and decide whether the row is done."""
        request = row.request
        token = pick_next(logits, request, row.generator, row.healing)
        if not row.first_token_at:
            row.first_token_at = time.perf_counter()
            self.metrics.first_token.observe(row.first_token_at - row.job.submitted_at)
        row.reason = row.rules.accept(token)
        row.last = token
        if row.reason is None:
            hold = max((len(s) for s in request.stop), default=1) - 1
            self._stream(row, row.rules.tail.text, hold)

    def _stream(self, row: _Row, text: str, hold: int) -> None:
        """Send the text not yet sent, holding back what could begin a stop string."""
        if row.job.on_text is None:
            return
        safe = (text[: len(text) - hold] if hold else text).rstrip("\ufffd")
        if len(safe) > len(row.emitted) and safe.startswith(row.emitted):
            row.job.on_text(safe[len(row.emitted):])
            row.emitted = safe

    def _finish(self, row: _Row) -> None:
        """Keep the row's cache in its user's slot and hand its result over."""
        request = row.request
        if row.cache is not None and request.cache_key and row.seq:
            self.slots.put(request.cache_key, Slot(row.seq, row.cache))
            self.metrics.cache_slots.set(len(self.slots))
        row.cache = None
        text = row.rules.text()
        generated = len(row.rules.generated)
        if row.reason != StopReason.CANCELLED:
            self._stream(row, text, hold=0)
        else:
            self.metrics.cancellations.inc()
        self.metrics.generated_tokens.inc(generated)
        self.metrics.generations.labels(reason=str(row.reason)).inc()
        done = time.perf_counter()
        started = row.job.submitted_at
        _deliver(row.job, GenerationResult(
            text, row.reason or StopReason.LENGTH, len(request.prompt_ids), generated,
            (row.first_token_at or done) - started, done - started, row.reused))

    # -- caches and forward passes ---------------------------------------------------------

    def _stack(self, rows: list[_Row]) -> _Batch:
        """One cache for `rows`: each row's cache left-padded to the longest, and its mask."""
        import torch
        from transformers import DynamicCache

        if len(rows) == 1:  # the common single-user case: no copy, no mask
            batch = _Batch(rows[0].cache, None)
            rows[0].cache = None
            return batch
        longest = max(len(row.seq) for row in rows)
        stacked = DynamicCache(config=self.model.config)
        for index in range(len(rows[0].cache.layers)):
            keys, values = [], []
            for row in rows:
                layer = row.cache.layers[index]
                keys.append(_left_pad(layer.keys, longest))
                values.append(_left_pad(layer.values, longest))
            stacked.update(torch.cat(keys), torch.cat(values), index)
        mask = torch.tensor([[0] * (longest - len(row.seq)) + [1] * len(row.seq) for row in rows],
                            device=self.model.device)
        for row in rows:
            row.cache = None
        return _Batch(stacked, mask)

    def _unstack(self, batch: _Batch, rows: list[_Row]) -> None:
        """Give each row back its own cache (without the padding) out of the stacked one."""
        from transformers import DynamicCache

        if batch.mask is None:
            rows[0].cache = batch.cache
            return
        total = batch.mask.shape[1]
        for i, row in enumerate(rows):
            start = total - len(row.seq)
            own = DynamicCache(config=self.model.config)
            for index, layer in enumerate(batch.cache.layers):
                own.update(layer.keys[i:i + 1, :, start:].clone(),
                           layer.values[i:i + 1, :, start:].clone(), index)
            row.cache = own


def _left_pad(tensor, length: int):
    """[1, heads, n, dim] → [1, heads, length, dim] with zeros in front (masked out)."""
    import torch

    missing = length - tensor.shape[2]
    if missing <= 0:
        return tensor
    shape = (tensor.shape[0], tensor.shape[1], missing, tensor.shape[3])
    return torch.cat([tensor.new_zeros(shape), tensor], dim=2)


def _deliver(job: Job, outcome) -> None:
    try:
        job.on_done(outcome)
    except Exception:  # a closed client must not stop the model thread
        log.exception("could not deliver a result")
