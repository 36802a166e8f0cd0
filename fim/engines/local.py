"""LocalEngine: the model in this process, on transformers (CUDA, Apple MPS or CPU)."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from fim.engines.base import EngineError, GenerationRequest, GenerationResult, StopReason
from fim.engines.collector import collector_paused
from fim.engines.compiled_step import CompiledStep, crop_to, new_static_cache, wants_compile
from fim.engines.decoding import (
    Forward,
    StopRules,
    lookup_draft,
    make_generator,
    new_cache,
    pick_next,
    reuse_prefix,
)
from fim.engines.healing import HealingConstraint, start_healing
from fim.engines.kernel_caches import bound_kernel_caches
from fim.engines.kv_slots import Slot, SlotStore
from fim.engines.options import DEFAULT_CONTEXT_WINDOW as DEFAULT_CONTEXT_WINDOW

# LoadOptions and its defaults live in fim.engines.options (below fim.models, which resolves
# their model names); they stay importable from here, where most callers look for them.
from fim.engines.options import DTYPES, LoadOptions, check_model_files
from fim.healing import answer_after
from fim.hub import model_not_found
from fim.models import resolve_options
from fim.tokenizer import Tokenizer, TokenizerError, load_tokenizer

log = logging.getLogger(__name__)

PREFILL_CHUNK = 128  # ids per forward pass when pre-warming: a real request waits at most one
DRAFT_TOKENS = 8  # prompt-lookup draft length


def choose_device(requested: str = "auto") -> str:
    """CUDA where present, else Apple MPS, else CPU."""
    import torch

    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def cpu_has_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AMX or AVX512-BF16), as torch reports."""
    import torch

    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)


def choose_dtype(device: str, requested: str = "auto"):
    """bfloat16 on GPUs that have it, else float16; on a CPU bfloat16 where it multiplies it
    natively (a 2,000-id prompt in 0.3x the float32 time, BENCHMARKS.md), else float32."""
    import torch

    if requested not in DTYPES:
        raise EngineError(f"unknown dtype {requested!r} (choose from {', '.join(DTYPES)})")
    if requested != "auto":
        return getattr(torch, requested)
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.bfloat16 if cpu_has_bfloat16() else torch.float32


def _model_source(model: str) -> str:
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise EngineError(f"{model}: not a model directory (no config.json)")
        return str(path)
    if model.startswith((".", "/", "~")) or model.count("/") != 1:
        raise EngineError(model_not_found(model))
    return model


class LocalEngine:
    """One model, loaded once, shared by concurrent callers one generation at a time.

    KV caches are kept per `request.cache_key` (a document, an edit), least recently used
    dropped beyond a token budget: the next prompt under a key recomputes only from the first
    id where it differs (in SPM order, typing at the cursor changes only the prompt's tail).
    """

    def __init__(self, model, tokenizer: Tokenizer, context_window: int, device: str,
                 options: LoadOptions | None = None) -> None:
        options = options or LoadOptions(context_window=context_window)
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.context_window = context_window
        self.kv_reuse = options.kv_reuse
        self.prompt_lookup = options.prompt_lookup
        self.can_heal = True
        budget = options.kv_cache_tokens or 2 * context_window
        self._forward = Forward(model)
        self._step: CompiledStep | None = None
        if wants_compile(options.compile, str(device)):
            self._step = CompiledStep(model, self._forward.cache_arg)
        self.slots = _slot_store(options, budget, static=self._step is not None)
        self._lock = threading.Lock()
        self._waiting = 0  # generations waiting for the lock: a prefill gives way to them
        self._waiting_lock = threading.Lock()
        # Counters for benchmarks: forward passes in decoding, draft ids tried and kept.
        self.stats = {"forward_passes": 0, "drafted": 0, "draft_kept": 0}

    @classmethod
    def load(cls, options: LoadOptions) -> LocalEngine:
        with collector_paused():
            return cls._load(options)

    @classmethod
    def _load(cls, options: LoadOptions) -> LocalEngine:
        bound_kernel_caches()  # before the first forward pass: read once
        import torch
        from transformers import AutoModelForCausalLM

        options = resolve_options(options)  # demo, auto
        source = _model_source(options.model)
        if Path(source).is_dir():
            try:
                check_model_files(Path(source))
            except ValueError as exc:  # a cut download, an unknown architecture: named
                raise EngineError(str(exc)) from None
        try:
            tokenizer = load_tokenizer(source)
        except TokenizerError as exc:
            raise EngineError(str(exc)) from None
        device = choose_device(options.device)
        kwargs: dict = {"dtype": choose_dtype(device, options.dtype)}
        if options.device_map:
            kwargs["device_map"] = options.device_map
        if options.quantization:
            kwargs["quantization_config"] = _quantization_config(options.quantization)
            kwargs.setdefault("device_map", "auto")
        started = time.perf_counter()
        try:
            model: Any = AutoModelForCausalLM.from_pretrained(source, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any failure is one line, not a traceback
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise EngineError(f"cannot load model {options.model!r}: {first}") from None
        if "device_map" not in kwargs:
            model.to(device)
        model.eval()
        _check_sizes(model, tokenizer, options)
        log.info("loaded %s on %s (%s) in %.1fs", options.model, device, kwargs["dtype"],
                 time.perf_counter() - started)
        torch.set_grad_enabled(False)
        engine = cls(model, tokenizer, options.context_window, str(model.device), options)
        engine.warm_up()
        return engine

    def warm_up(self) -> None:
        """Compile the decode step now rather than on the first suggestion."""
        if self._step is None:
            return
        started = time.perf_counter()
        if self._step.warm_up(self.context_window):
            log.info("compiled the decode step in %.1fs", time.perf_counter() - started)

    def generate(self, request: GenerationRequest) -> GenerationResult:
        """Generate for `request`; waits its turn, giving up if cancelled meanwhile."""
        started = time.perf_counter()
        self._count_waiting(+1)
        try:
            while not self._lock.acquire(timeout=0.01):
                if request.cancel.is_set():
                    return GenerationResult("", StopReason.CANCELLED, len(request.prompt_ids),
                                            0, 0.0, time.perf_counter() - started)
        finally:
            self._count_waiting(-1)
        try:
            return self._generate(request, started)
        finally:
            self._lock.release()

    def prefill(self, request: GenerationRequest) -> int:
        """Compute `request`'s prompt into its key's cache, in chunks, while nothing else wants
        the model; returns how many ids it computed (0 when busy or reuse is off)."""
        if not self.kv_reuse or not request.prompt_ids or not self._lock.acquire(blocking=False):
            return 0
        try:
            prompt = list(request.prompt_ids)[: self.context_window]
            cache, seq = self._cache_for(request.cache_key, prompt)
            computed = self._prefill_chunks(request, prompt, cache, seq)
            self.slots.put(request.cache_key, Slot(seq, cache))
            return computed
        finally:
            self._lock.release()

    def _prefill_chunks(self, request: GenerationRequest, prompt: list[int], cache: Any,
                        seq: list[int]) -> int:
        """Extend `cache` (holding `seq`) towards `prompt` until done or someone else waits."""
        import torch

        computed = 0
        with torch.inference_mode():
            for at in range(len(seq), len(prompt) - 1, PREFILL_CHUNK):
                if request.cancel.is_set() or self._waiting:
                    break
                chunk = prompt[at:min(at + PREFILL_CHUNK, len(prompt) - 1)]
                self._forward([chunk], cache, start=len(seq))
                seq.extend(chunk)
                computed += len(chunk)
        return computed

    def close(self) -> None:
        """Drop the kept caches (the model goes with the engine's last reference)."""
        self.slots.clear()

    def _count_waiting(self, step: int) -> None:
        with self._waiting_lock:
            self._waiting += step

    def _generate(self, request: GenerationRequest, started: float) -> GenerationResult:
        prompt = list(request.prompt_ids)
        if not prompt:
            raise EngineError("empty prompt")
        if len(prompt) + request.max_new_tokens > self.context_window:
            raise EngineError(f"prompt of {len(prompt)} tokens plus {request.max_new_tokens} new "
                              f"tokens exceeds the context window of {self.context_window}")
        # A failed generation never puts its half-written cache back.
        cache, seq = self._cache_for(request.cache_key, prompt)
        reused = len(seq)
        rules = StopRules(self.tokenizer, self.tokenizer.stop_ids(), request.stop,
                          request.max_new_tokens, started, request.max_time_s)
        first: list[float] = []
        healing = start_healing(self.tokenizer, request.heal_text)
        reason = self._decode(request, rules, cache, seq, prompt[reused:], first, healing)
        if self.kv_reuse:
            self.slots.put(request.cache_key, Slot(seq, cache))
        done = time.perf_counter()
        return GenerationResult(answer_after(rules.text(), request.heal_text), reason,
                                len(prompt), len(rules.generated),
                                (first[0] if first else done) - started, done - started, reused)

    def _cache_for(self, key: str, prompt: list[int]) -> tuple[Any, list[int]]:
        """`key`'s kept cache cropped to its common prefix with `prompt`, and the ids it holds."""
        slot = self.slots.take(key) if self.kv_reuse else None
        if slot is not None:
            common = reuse_prefix(slot.ids, slot.cache, prompt)
            if common:
                return slot.cache, slot.ids[:common]
        if self._step is not None:
            return new_static_cache(self.model, self.context_window), []
        return new_cache(self.model), []

    def _decode(self, request: GenerationRequest, rules: StopRules, cache: Any, seq: list[int],
                feed: list[int], first: list[float],
                healing: HealingConstraint | None = None) -> StopReason:
        """Run the model until a stop rule ends it; `seq` follows the ids `cache` holds.

        With prompt lookup (greedy only), ids copied from the context after the last n-gram's
        earlier occurrence ride along as a draft and are kept as far as the model agrees.
        """
        import torch

        generator = make_generator(request.temperature, request.seed)
        lookup = self.prompt_lookup and request.temperature <= 0
        with torch.inference_mode():
            while True:
                if request.cancel.is_set():
                    return StopReason.CANCELLED
                room = request.max_new_tokens - len(rules.generated) - 1
                healing_left = healing is not None and healing.pending  # one id at a time
                draft = (lookup_draft(seq + feed, min(room, DRAFT_TOKENS))
                         if lookup and not healing_left else [])
                logits = self._run(feed + draft, cache, len(seq), keep=len(draft) + 1)[0]
                seq.extend(feed)
                tokens = self._pick_all(logits, request, generator, healing)
                if not first:
                    first.append(time.perf_counter())
                kept = _agreed(draft, tokens)
                self._count(len(draft), kept)
                seq.extend(draft[:kept])
                if kept < len(draft):
                    crop_to(cache, len(seq))
                for token in tokens[:kept + 1]:
                    reason = rules.accept(token)
                    if reason is not None:
                        return reason
                feed = [tokens[kept]]

    def _run(self, ids: list[int], cache: Any, start: int, keep: int):
        """The compiled step for one id on a static cache, else the eager forward."""
        if self._step is not None and len(ids) == 1:
            return self._step(ids[0], start, cache)
        return self._forward([ids], cache, keep=keep, start=start)

    def _count(self, drafted: int, kept: int) -> None:
        self.stats["forward_passes"] += 1
        self.stats["drafted"] += drafted
        self.stats["draft_kept"] += kept

    @staticmethod
    def _pick_all(logits, request: GenerationRequest, generator,
                  healing: HealingConstraint | None = None) -> list[int]:
        """The next id after each position of `logits` [positions, vocab] (one host sync);
        sampling, and token healing while it applies, look at the last position only."""
        if request.temperature <= 0 and (healing is None or not healing.pending):
            return logits.argmax(dim=-1).tolist()
        return [pick_next(logits[-1], request, generator, healing)]


def _slot_store(options: LoadOptions, budget: int, static: bool) -> SlotStore:
    """Slots bounded by `budget` ids; a static cache takes a whole context window each."""
    capacity = options.kv_cache_slots if options.kv_reuse else 0
    if not static:
        return SlotStore(capacity, budget)
    return SlotStore(min(capacity, max(1, budget // options.context_window)))


def _agreed(draft: list[int], tokens: list[int]) -> int:
    """How many draft ids the model's own picks confirm, from the first."""
    kept = 0
    while kept < len(draft) and draft[kept] == tokens[kept]:
        kept += 1
    return kept


def _check_sizes(model, tokenizer: Tokenizer, options: LoadOptions) -> None:
    maximum = int(getattr(model.config, "max_position_embeddings", options.context_window))
    if options.context_window > maximum:
        raise EngineError(f"context window {options.context_window} exceeds the model's "
                          f"maximum of {maximum} tokens")
    if tokenizer.vocab_size > model.config.vocab_size:
        raise EngineError(f"tokenizer ({tokenizer.vocab_size} pieces) does not match the "
                          f"model ({model.config.vocab_size})")


def _quantization_config(kind: str):
    try:
        import bitsandbytes  # noqa: F401
        from transformers import BitsAndBytesConfig
    except ImportError:
        raise EngineError(f"{kind} loading needs bitsandbytes: pip install bitsandbytes") from None
    if kind == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    if kind == "4bit":
        return BitsAndBytesConfig(load_in_4bit=True)
    raise EngineError(f"unknown quantization {kind!r} (choose 8bit or 4bit)")
