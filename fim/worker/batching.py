"""Batched generation on one model: requests that wait together decode together.

One thread owns the model. Each new request continues its user's kept KV cache slot (only the
ids after the common prefix run). Running requests decode together: their caches are stacked
with left padding and an attention mask (`RowBatch`), each step feeds one token per row, each row
samples with its own settings and finishes on its own (stop id, stop string, length, or its
client gone, checked before every step). A new request's prompt rides along the next step where
it is short (with a Llama model its ids run packed, at about their own cost), else it is
prefilled in a pass of its own; finished rows leave after a step, without the other rows' caches
being taken apart.
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
from fim.worker.row_batch import PAD_ID, RowBatch

log = logging.getLogger(__name__)


# Prompts with few ids to run join a decode step rather than taking a pass of their own, while
# what they add to the step stays below this many ids: their own ids where the step runs packed
# (Llama models), else the padding they cost the running rows (one id each per extra id).
RIDE_ALONG_IDS = 256


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
        self._vocab = model.get_input_embeddings().num_embeddings

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
        batch: RowBatch | None = None
        while not self._stopping:
            jobs = self._take(self.max_batch - len(rows), block=not rows)
            try:
                opened = [row for row in map(self._open, jobs) if row is not None]
                # Few ids to run: they ride along the batch's next step instead of a pass of
                # their own (a keystroke's request on its user's kept cache, in SPM order).
                riding, alone = _riders(batch, len(rows), opened)
                batch = self._join(batch, rows, alone)
                if batch is not None:
                    self.metrics.running.set(len(rows) + len(riding))
                    self._step(rows, batch, riding)
                    batch = self._leave(batch, rows)
                self.metrics.running.set(len(rows))
            except Exception as exc:  # a failed forward fails its batch, never the worker
                log.exception("generation failed")
                for row in rows:
                    _deliver(row.job, exc)
                rows.clear()
                batch = None
                self.metrics.running.set(0)
                self.metrics.errors.labels(kind="generation").inc()

    def _join(self, batch: RowBatch | None, rows: list[_Row], opened: list[_Row]
              ) -> RowBatch | None:
        """Prefill the `opened` rows (those with a similar number of ids to run together) and
        add them to `rows` and `batch` (made if there was none); a row done at its first token,
        or failed, is answered at once."""
        for group in _similar_lengths(opened):
            going, joined = self._prefill(group)
            if joined is None:
                continue
            rows.extend(going)
            if batch is None:
                batch = joined
            else:
                batch.add(joined)
        return batch

    def _prefill(self, group: list[_Row]) -> tuple[list[_Row], RowBatch | None]:
        """Prefill `group` in one forward pass and sample each row's first token: the rows
        still going and their batch. Where the pass fails, each row is tried alone, so that a
        bad request (an id the model lacks) fails alone."""
        try:
            batch = RowBatch.of_caches(self.model, [row.cache for row in group],
                                       [row.reused for row in group])
            ids = [row.seq[row.reused:] for row in group]
            width = max(map(len, ids))
            counts = None if all(len(i) == width for i in ids) else [len(i) for i in ids]
            logits = batch.forward(self._forward, [i + [PAD_ID] * (width - len(i)) for i in ids],
                                   counts)
        except Exception as exc:
            if len(group) > 1:
                return self._prefill_each(group)
            log.exception("prefill failed")
            self._fail(group[0], exc)
            return [], None
        for row in group:
            row.cache = None
        self._accept_all(group, logits)
        for i, row in enumerate(group):
            if row.reason:
                self._finish(row, batch.row_cache(i) if row.request.cache_key else None)
        going = [i for i, row in enumerate(group) if not row.reason]
        if not going:
            return [], None
        if len(going) < len(group):
            batch.keep(going)
        return [group[i] for i in going], batch

    def _prefill_each(self, group: list[_Row]) -> tuple[list[_Row], RowBatch | None]:
        going: list[_Row] = []
        batch: RowBatch | None = None
        for row in group:
            rows, joined = self._prefill([row])
            if joined is None:
                continue
            going += rows
            if batch is None:
                batch = joined
            else:
                batch.add(joined)
        return going, batch

    def _fail(self, row: _Row, exc: Exception) -> None:
        row.cache = None
        _deliver(row.job, exc)
        self.metrics.errors.labels(kind="generation").inc()

    def _leave(self, batch: RowBatch, rows: list[_Row]) -> RowBatch | None:
        """Answer the rows that are done and take them out of `rows` and `batch` (None once
        empty)."""
        done = [i for i, row in enumerate(rows) if row.reason]
        if not done:
            return batch
        for i in done:
            # A cancelled row's cache is kept too: the user's next keystroke reuses its prefix.
            keep = bool(rows[i].request.cache_key and rows[i].seq)
            self._finish(rows[i], batch.row_cache(i) if keep else None)
        staying = [i for i, row in enumerate(rows) if not row.reason]
        rows[:] = [rows[i] for i in staying]
        if not staying:
            return None
        batch.keep(staying)
        return batch

    def _open(self, job: Job) -> _Row | None:
        """`job`'s row with its user's kept cache, ready to prefill; None if it was cancelled
        while it waited (answered at once)."""
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
            self._finish(row, None)
            return None
        prompt = list(request.prompt_ids)
        if not prompt or not all(0 <= i < self._vocab for i in prompt):
            self._fail(row, ValueError(f"a prompt of token ids below {self._vocab}, not empty, "
                                       "was expected"))
            return None
        self.metrics.prompt_tokens.inc(len(prompt))
        row.cache, row.reused = self._cache_for(request.cache_key, prompt)
        self.metrics.reused_tokens.inc(row.reused)
        row.seq = prompt
        return row

    def _cache_for(self, key: str, prompt: list[int]) -> tuple[Any, int]:
        """The user's kept cache cropped to the common prefix, and how many ids it covers."""
        slot = self.slots.take(key) if key else None
        if slot is not None:
            common = reuse_prefix(slot.ids, slot.cache, prompt)
            if common:
                return slot.cache, common
        return new_cache(self.model), 0

    def _step(self, rows: list[_Row], batch: RowBatch, riding: list[_Row]) -> None:
        """One token for every row, in one forward pass with the prompts of the `riding` rows
        (which join `rows` and `batch` here). A row whose client left takes no new token (it
        leaves after the step, its cache kept)."""
        import torch

        running = len(rows)
        for row in rows:
            if row.request.cancel.is_set():
                row.reason = StopReason.CANCELLED
        if riding:
            batch.add(RowBatch.of_caches(self.model, [row.cache for row in riding],
                                         [row.reused for row in riding]))
            rows.extend(riding)
        self.metrics.batch_size.observe(len(rows))
        ids = [[row.last] for row in rows[:running]] + [row.seq[row.reused:] for row in riding]
        width = max(map(len, ids))
        counts = None if width == 1 else [len(i) for i in ids]
        logits = batch.forward(self._forward, [i + [PAD_ID] * (width - len(i)) for i in ids],
                               counts)
        for row in rows[:running]:
            row.seq.append(row.last)
        for row in riding:
            row.cache = None
        going = [i for i, row in enumerate(rows) if not row.reason]
        if len(going) < len(rows):  # index_select: indexing with a list is 6x slower
            logits = logits.index_select(0, torch.tensor(going, dtype=torch.long,
                                                         device=logits.device))
        self._accept_all([rows[i] for i in going], logits)
        batch.compact_if_sparse()

    def _accept_all(self, rows: list[_Row], logits) -> None:
        """`_accept` each row's next token from its `logits` [rows, vocab], with one argmax for
        the whole batch (most requests are greedy)."""
        greedy = logits.max(dim=-1).indices.tolist()  # as argmax (the first of ties), 4x faster
        for i, row in enumerate(rows):
            self._accept(row, logits[i], greedy[i])

    def _accept(self, row: _Row, logits, greedy: int | None = None) -> None:
        """Sample the row's next token (`greedy`: the argmax, if already known) and decide
        whether the row is done."""
        request = row.request
        plain_greedy = request.temperature <= 0 and not (row.healing and row.healing.pending)
        if greedy is not None and plain_greedy:
            token = greedy
        else:
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

    def _finish(self, row: _Row, cache: Any) -> None:
        """Keep the row's `cache` in its user's slot and hand its result over."""
        request = row.request
        row.cache = None
        if cache is not None and request.cache_key and row.seq:
            self.slots.put(request.cache_key, Slot(row.seq, cache))
            self.metrics.cache_slots.set(len(self.slots))
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


def _riders(batch: RowBatch | None, running: int, opened: list[_Row]
            ) -> tuple[list[_Row], list[_Row]]:
    """`opened` split into the rows that join the batch's next step and those prefilled in a
    pass of their own, within RIDE_ALONG_IDS of what riding adds to the step."""
    if batch is None:
        return [], opened
    riding: list[_Row] = []
    alone: list[_Row] = []
    room = RIDE_ALONG_IDS
    for row in opened:
        ids = len(row.seq) - row.reused
        cost = ids if batch.packed else running * (ids - 1)
        if cost <= room:
            riding.append(row)
            room -= cost
        else:
            alone.append(row)
    return riding, alone


def _similar_lengths(rows: list[_Row]) -> list[list[_Row]]:
    """`rows` in groups to prefill together: ids to run within about twice the group's
    shortest, so that padding never costs more than the work itself."""
    groups: list[list[_Row]] = []
    for row in sorted(rows, key=lambda row: len(row.seq) - row.reused):
        count = len(row.seq) - row.reused
        if groups and count <= 2 * (len(groups[-1][0].seq) - groups[-1][0].reused) + 16:
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def _deliver(job: Job, outcome) -> None:
    try:
        job.on_done(outcome)
    except Exception:  # a closed client must not stop the model thread
        log.exception("could not deliver a result")
