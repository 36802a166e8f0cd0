"""The server's settings: typed, validated, from `initializationOptions` and
`workspace/didChangeConfiguration`. An invalid value is reported and the previous one kept."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fim.engines.compiled_step import COMPILE_MODES
from fim.engines.local import DEFAULT_CONTEXT_WINDOW, DTYPES, LoadOptions
from fim.engines.options import check_context_window, check_device
from fim.instruct import DEFAULT_INSTRUCT_MODEL
from fim.models import AUTO

SECTION = "codellama"


@dataclass(frozen=True)
class Settings:
    engine: str = "local"  # "local" or the URL of a serving engine
    model: str = AUTO  # Code Llama 7B if downloaded, else the demo model (fim.models)
    device: str = "auto"
    dtype: str = "auto"
    device_map: str | None = None  # "auto": spread a large model over GPUs and CPU memory
    quantization: str | None = None  # "8bit" | "4bit"
    context_window: int = DEFAULT_CONTEXT_WINDOW
    max_new_tokens: int = 64
    fim_format: str = "spm"  # "psm" | "spm" (SPM: typing recomputes only the tail; BENCHMARKS.md)
    debounce_ms: int = 75  # automatic triggers only; 0 disables
    languages: tuple[str, ...] = ("*",)  # language ids completions are enabled for
    invoked_items: int = 3  # distinct items an invoked trigger may give
    invoked_temperature: float = 0.6
    top_p: float = 0.95
    load_wait_ms: int = 3000  # how long a request waits for a loading model
    # Edits: Code Llama - Instruct. Where it equals `model`, one engine serves both.
    instruct_model: str = DEFAULT_INSTRUCT_MODEL
    edit_max_new_tokens: int | None = None  # None: twice the selection's tokens plus some slack
    # Latency (local engine): KV caches kept between requests, prompt-lookup drafts; a time
    # cap for automatic triggers (stop at the first line end after it; None: none).
    kv_reuse: bool = True
    prompt_lookup: bool = False
    max_time_ms: int | None = None
    compile: str = "auto"  # the decode step compiled on static caches: auto (CUDA) | on | off
    # Pre-warm the document's KV cache when it is opened or the cursor rests (local engine).
    prewarm: bool = True

    def load_options(self) -> LoadOptions:
        return LoadOptions(model=self.model, device=self.device, dtype=self.dtype,
                           device_map=self.device_map, quantization=self.quantization,
                           context_window=self.context_window, kv_reuse=self.kv_reuse,
                           prompt_lookup=self.prompt_lookup, compile=self.compile)

    def instruct_load_options(self) -> LoadOptions:
        """The instruct model's options: the same device, precision and window as `model`'s."""
        return dataclasses.replace(self.load_options(), model=self.instruct_model)

    def engine_keys(self) -> set[tuple[str, LoadOptions]]:
        """The engines these settings use (completion and instruct; one where they agree)."""
        return {(self.engine, self.load_options()), (self.engine, self.instruct_load_options())}

    def enabled_for(self, language_id: str) -> bool:
        return "*" in self.languages or language_id in self.languages


@dataclass(frozen=True)
class SettingsUpdate:
    settings: Settings
    errors: list[str]


def _string(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return value.strip()


def _choice(*choices: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or value.lower() not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value.lower()
    return check


def _integer(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"must be an integer from {low} to {high}")
        return value
    return check


def _number(low: float, high: float) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not low <= value <= high:
            raise ValueError(f"must be a number from {low} to {high}")
        return float(value)
    return check


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def optional(value: Any) -> Any:
        return None if value is None else check(value)
    return optional


_ENGINE_URL = re.compile(r"^([a-z-]+\+)?https?://\S+$")


def _engine(value: Any) -> str:
    value = _string(value)
    if value != "local" and not _ENGINE_URL.match(value):
        raise ValueError("must be 'local' or a server URL, [PROTOCOL+]http(s)://HOST:PORT")
    return value


def _device(value: Any) -> str:
    value = _string(value)
    if value not in ("auto", "cpu", "cuda", "mps") and not (
            value.startswith("cuda:") and value[5:].isdigit()):
        raise ValueError("must be auto, cpu, cuda, cuda:N or mps")
    return value


def _languages(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError("must be a list of language ids (or [\"*\"] for all)")
    return tuple(value)


# JSON key (as editors write it) -> (field, validator)
_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "engine": ("engine", _engine),
    "model": ("model", _string),
    "device": ("device", _device),
    "dtype": ("dtype", _choice(*DTYPES)),
    "deviceMap": ("device_map", _optional(_choice("auto"))),
    "quantize": ("quantization", _optional(_choice("8bit", "4bit"))),
    "contextWindow": ("context_window", _integer(64, 1 << 20)),
    "maxNewTokens": ("max_new_tokens", _integer(1, 4096)),
    "fimFormat": ("fim_format", _choice("psm", "spm")),
    "debounceMs": ("debounce_ms", _integer(0, 5000)),
    "languages": ("languages", _languages),
    "invokedItems": ("invoked_items", _integer(1, 8)),
    "invokedTemperature": ("invoked_temperature", _number(0.0, 2.0)),
    "topP": ("top_p", _number(0.01, 1.0)),
    "loadWaitMs": ("load_wait_ms", _integer(0, 600_000)),
    "instructModel": ("instruct_model", _string),
    "editMaxNewTokens": ("edit_max_new_tokens", _optional(_integer(1, 8192))),
    "kvReuse": ("kv_reuse", _boolean),
    "promptLookup": ("prompt_lookup", _boolean),
    "maxTimeMs": ("max_time_ms", _optional(_integer(1, 600_000))),
    "compile": ("compile", _choice(*COMPILE_MODES)),
    "prewarm": ("prewarm", _boolean),
}


def _check_against_the_machine(current: Settings, updated: Settings,
                               errors: list[str]) -> Settings:
    """What fails only when the model loads: a device this torch lacks, a context window beyond
    the model's config.json; checked now, so the previous value is kept and the error shown."""
    if updated.engine != "local":
        return updated
    checks = [("device", "device", lambda: check_device(updated.device)),
              ("contextWindow", "context_window",
               lambda: check_context_window(updated.model, updated.context_window))]
    for key, name, check in checks:
        if (getattr(updated, name), updated.model) == (getattr(current, name), current.model):
            continue
        try:
            check()
        except ValueError as exc:
            errors.append(f"invalid setting {SECTION}.{key}={getattr(updated, name)!r}: {exc}; "
                          f"keeping {getattr(current, name)!r}")
            updated = dataclasses.replace(updated, **{name: getattr(current, name)})
    return updated


def update_settings(current: Settings, raw: Any) -> SettingsUpdate:
    """`current` with the valid values of `raw` (our section, or an object holding it under
    "codellama"); each invalid value gives one error line and keeps its previous value."""
    if raw is None:
        return SettingsUpdate(current, [])
    if isinstance(raw, Mapping) and isinstance(raw.get(SECTION), Mapping):
        raw = raw[SECTION]
    if not isinstance(raw, Mapping):
        return SettingsUpdate(current, [f"settings must be an object, got {type(raw).__name__}"])
    changes: dict[str, Any] = {}
    errors: list[str] = []
    for key, value in raw.items():
        if key not in _FIELDS:
            errors.append(f"unknown setting {SECTION}.{key} (ignored)")
            continue
        name, check = _FIELDS[key]
        try:
            changes[name] = check(value)
        except ValueError as exc:
            errors.append(f"invalid setting {SECTION}.{key}={value!r}: {exc}; "
                          f"keeping {getattr(current, name)!r}")
    updated = dataclasses.replace(current, **changes)
    updated = _check_against_the_machine(current, updated, errors)
    if updated.max_new_tokens >= updated.context_window // 2:
        errors.append(f"invalid settings: {SECTION}.maxNewTokens ({updated.max_new_tokens}) must "
                      f"be under half of {SECTION}.contextWindow ({updated.context_window}); "
                      "keeping the previous values")
        updated = dataclasses.replace(updated, max_new_tokens=current.max_new_tokens,
                                      context_window=current.context_window)
    return SettingsUpdate(updated, errors)
