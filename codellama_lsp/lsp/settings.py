"""The server's settings: typed, validated, from `initializationOptions` and
`workspace/didChangeConfiguration`. An invalid value is reported and the previous one kept.
What each setting is and accepts is declared in `codellama_lsp/settings_schema.py`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from codellama_lsp.settings_schema import (
    MACHINE_CHECKS,
    SECTION,
    SERVER_SETTINGS,
    check_room_for_prompt,
    default,
)
from fim.engines.local import LoadOptions

__all__ = ["SECTION", "Settings", "SettingsUpdate", "update_settings"]


@dataclass(frozen=True)
class Settings:
    """One field per server setting of `settings_schema.SETTINGS`, in its order, named as its
    key in snake_case, with its default (tests/codellama_lsp/test_settings_schema.py checks)."""

    engine: str = default("engine")  # "local" or the URL of a serving engine
    model: str = default("model")  # "auto": Code Llama 7B if downloaded, else demo (fim.models)
    device: str = default("device")
    dtype: str = default("dtype")
    device_map: str | None = default("device_map")
    quantize: str | None = default("quantize")  # LoadOptions.quantization
    context_window: int = default("context_window")
    max_new_tokens: int = default("max_new_tokens")
    fim_format: str = default("fim_format")
    token_healing: bool = default("token_healing")
    debounce_ms: int = default("debounce_ms")  # automatic triggers only; 0 disables
    languages: tuple[str, ...] = default("languages")  # ("*",): all
    invoked_items: int = default("invoked_items")
    invoked_temperature: float = default("invoked_temperature")
    top_p: float = default("top_p")
    load_wait_ms: int = default("load_wait_ms")
    max_time_ms: int | None = default("max_time_ms")  # None: no time cap
    # Edits: Code Llama - Instruct. Where it equals `model`, one engine serves both.
    instruct_model: str = default("instruct_model")
    edit_max_new_tokens: int | None = default("edit_max_new_tokens")  # None: from the selection
    next_edits: str = default("next_edits")  # off | rules | fim | instruct (next_edit.mode)
    next_edit_delay_ms: int = default("next_edit_delay_ms")
    kv_reuse: bool = default("kv_reuse")
    prompt_lookup: bool = default("prompt_lookup")
    compile: str = default("compile")  # auto (CUDA) | on | off
    prewarm: bool = default("prewarm")

    def load_options(self) -> LoadOptions:
        return LoadOptions(model=self.model, device=self.device, dtype=self.dtype,
                           device_map=self.device_map, quantization=self.quantize,
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


def _check_against_the_machine(current: Settings, updated: Settings,
                               errors: list[str]) -> Settings:
    """What fails only when the model loads (a device this torch lacks, a context window beyond
    the model's config.json), checked now, so that the previous value is kept and the error
    shown: the checks of `MACHINE_CHECKS` whose settings changed."""
    for machine in MACHINE_CHECKS:
        if machine.local_only and updated.engine != "local":
            continue
        reads = ("engine", *machine.reads)
        if all(getattr(updated, name) == getattr(current, name) for name in reads):
            continue
        name = SERVER_SETTINGS[machine.key].field
        try:
            machine.check(*(getattr(updated, read) for read in machine.reads))
        except ValueError as exc:
            errors.append(f"invalid setting {SECTION}.{machine.key}={getattr(updated, name)!r}: "
                          f"{exc}; keeping {getattr(current, name)!r}")
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
        row = SERVER_SETTINGS.get(key)
        if row is None:
            errors.append(f"unknown setting {SECTION}.{key} (ignored)")
            continue
        try:
            changes[row.field] = row.check(value)
        except ValueError as exc:
            errors.append(f"invalid setting {SECTION}.{key}={value!r}: {exc}; "
                          f"keeping {getattr(current, row.field)!r}")
    updated = dataclasses.replace(current, **changes)
    updated = _check_against_the_machine(current, updated, errors)
    try:
        check_room_for_prompt(updated.max_new_tokens, updated.context_window)
    except ValueError as exc:
        errors.append(f"invalid settings: {SECTION}.maxNewTokens={updated.max_new_tokens}: "
                      f"{exc}; keeping the previous maxNewTokens and contextWindow")
        updated = dataclasses.replace(updated, max_new_tokens=current.max_new_tokens,
                                      context_window=current.context_window)
    return SettingsUpdate(updated, errors)
