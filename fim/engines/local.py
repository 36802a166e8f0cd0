"""LocalEngine: the model in this process, on transformers (CUDA, Apple MPS or CPU)."""

from __future__ import annotations

import inspect
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fim.engines.base import EngineError, GenerationRequest, GenerationResult, find_stop
from fim.models import resolve_options
from fim.tokenizer import Tokenizer, TokenizerError, load_tokenizer

log = logging.getLogger(__name__)

DEFAULT_MODEL = "codellama/CodeLlama-7b-hf"
DEFAULT_CONTEXT_WINDOW = 4096
DTYPES = ("auto", "float32", "float16", "bfloat16")


@dataclass(frozen=True)
class LoadOptions:
    model: str = DEFAULT_MODEL
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    dtype: str = "auto"
    device_map: str | None = None  # "auto": spread over GPUs and CPU memory (accelerate)
    quantization: str | None = None  # "8bit" | "4bit" (bitsandbytes)
    context_window: int = DEFAULT_CONTEXT_WINDOW


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


def choose_dtype(device: str, requested: str = "auto"):
    """float32 on CPU; bfloat16 on GPUs that have it, else float16."""
    import torch

    if requested not in DTYPES:
        raise EngineError(f"unknown dtype {requested!r} (choose from {', '.join(DTYPES)})")
    if requested != "auto":
        return getattr(torch, requested)
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


def _model_source(model: str) -> str:
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise EngineError(f"{model}: not a model directory (no config.json)")
        return str(path)
    if model.startswith((".", "/", "~")) or model.count("/") != 1:
        raise EngineError(f"no such model directory: {model}")
    return model


class LocalEngine:
    """One model, loaded once, shared by concurrent callers one generation at a time.

    The KV cache of the last prompt is kept: the next prompt recomputes only from the first id
    where it differs (in SPM order, typing at the cursor changes only the prompt's tail).
    """

    def __init__(self, model, tokenizer: Tokenizer, context_window: int, device: str) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.context_window = context_window
        self._lock = threading.Lock()
        self._cached_ids: list[int] = []
        self._cache: Any = None  # a transformers DynamicCache
        # transformers 5.x renamed `past_key_values` to `cache`.
        params = inspect.signature(model.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"

    @classmethod
    def load(cls, options: LoadOptions) -> LocalEngine:
        import torch
        from transformers import AutoModelForCausalLM

        options = resolve_options(options)  # demo, auto
        source = _model_source(options.model)
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
        except (OSError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise EngineError(f"cannot load model {options.model!r}: {first}") from None
        if "device_map" not in kwargs:
            model.to(device)
        model.eval()
        maximum = int(getattr(model.config, "max_position_embeddings", options.context_window))
        if options.context_window > maximum:
            raise EngineError(f"context window {options.context_window} exceeds the model's "
                              f"maximum of {maximum} tokens")
        if tokenizer.vocab_size > model.config.vocab_size:
            raise EngineError(f"tokenizer ({tokenizer.vocab_size} pieces) does not match the "
                              f"model ({model.config.vocab_size})")
        log.info("loaded %s on %s (%s) in %.1fs", options.model, device, kwargs["dtype"],
                 time.perf_counter() - started)
        torch.set_grad_enabled(False)
        return cls(model, tokenizer, options.context_window, str(model.device))

    def generate(self, request: GenerationRequest) -> GenerationResult:
        """Generate for `request`; waits its turn, giving up if cancelled meanwhile."""
        started = time.perf_counter()
        while not self._lock.acquire(timeout=0.01):
            if request.cancel.is_set():
                return GenerationResult("", "cancelled", len(request.prompt_ids), 0, 0.0,
                                        time.perf_counter() - started)
        try:
            return self._generate(request, started)
        except Exception:
            self._cache, self._cached_ids = None, []  # never reuse a half-written cache
            raise
        finally:
            self._lock.release()

    def _generate(self, request: GenerationRequest, started: float) -> GenerationResult:
        import torch

        prompt = list(request.prompt_ids)
        if not prompt:
            raise EngineError("empty prompt")
        if len(prompt) + request.max_new_tokens > self.context_window:
            raise EngineError(f"prompt of {len(prompt)} tokens plus {request.max_new_tokens} new "
                              f"tokens exceeds the context window of {self.context_window}")
        generator = None
        if request.temperature > 0:
            generator = torch.Generator(device="cpu")
            generator.manual_seed(request.seed if request.seed is not None else time.time_ns())
        stop_ids = self.tokenizer.stop_ids()
        reused = self._reuse_cache(prompt)
        step_input = prompt[reused:]
        generated: list[int] = []
        text, reason, first_token_at = "", "length", 0.0
        with torch.inference_mode():
            for _ in range(request.max_new_tokens):
                if request.cancel.is_set():
                    reason = "cancelled"
                    break
                logits = self._forward(step_input)
                token = _pick(logits, request.temperature, request.top_p, generator)
                if not first_token_at:
                    first_token_at = time.perf_counter()
                if token in stop_ids:
                    reason = "eos" if token == self.tokenizer.eos_id else "eot"
                    break
                generated.append(token)
                step_input = [token]
                if request.stop:
                    text = self.tokenizer.decode_infilling(generated)
                    cut = find_stop(text, request.stop)
                    if cut is not None:
                        text, reason = text[:cut], "stop"
                        break
        if reason != "stop":
            text = self.tokenizer.decode_infilling(generated)
        # The cache now holds prompt + generated ids except the last sampled one.
        self._cached_ids = (prompt + generated)[: self._cache_length()]
        done = time.perf_counter()
        return GenerationResult(text, reason, len(prompt), len(generated),
                                (first_token_at or done) - started, done - started, reused)

    def _reuse_cache(self, prompt: list[int]) -> int:
        """Crop the kept cache to the prompt's common prefix; return how many ids it covers."""
        from transformers import DynamicCache

        common = 0
        for a, b in zip(self._cached_ids, prompt):
            if a != b:
                break
            common += 1
        common = min(common, len(prompt) - 1)  # at least one id must run to get logits
        if self._cache is None or common == 0:
            self._cache = DynamicCache(config=self.model.config)
            return 0
        drop = self._cache_length() - common
        if drop > 0:
            self._cache.crop(-drop)
        return common

    def _cache_length(self) -> int:
        return self._cache.get_seq_length() if self._cache is not None else 0

    def _forward(self, ids: list[int]):
        import torch

        input_ids = torch.tensor([ids], device=self.model.device)
        out = self.model(input_ids=input_ids, use_cache=True, logits_to_keep=1,
                         **{self._cache_arg: self._cache})
        return out.logits[0, -1].float()


def _pick(logits, temperature: float, top_p: float, generator) -> int:
    """Greedy at temperature 0, else nucleus sampling (on the CPU, where the generator lives)."""
    import torch

    if temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits.cpu() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        keep = torch.cumsum(sorted_probs, dim=-1) - sorted_probs < top_p
        sorted_probs = sorted_probs * keep
        choice = torch.multinomial(sorted_probs / sorted_probs.sum(), 1, generator=generator)
        return int(order[choice])
    return int(torch.multinomial(probs, 1, generator=generator))


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
