"""Every setting, declared once: one row each, with its JSON key, type, allowed values, default,
one-line doc, who reads it (the server, or only the editor's client) and its command-line flag.

From these rows come the server's validation (`lsp/settings.py`), the command line's checks of
the same options (`commands/model_args.py`), and, through `python -m
codellama_lsp.settings_docs --write`, the README's settings table, VS Code's
`contributes.configuration` and the Neovim help. A new setting is one row here.

The checks that need this machine or the model's files (a device this torch lacks, a window
beyond the model's config.json) live in `fim.engines.options` (fim never imports this package);
`MACHINE_CHECKS` names them, and both sides run them the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from codellama_lsp.next_edit.mode import MODES, Mode
from fim.engines.compiled_step import COMPILE_MODES
from fim.engines.local import DEFAULT_CONTEXT_WINDOW, DTYPES
from fim.engines.options import (
    DEVICE_MAPS,
    QUANTIZATIONS,
    check_context_window,
    check_device,
    check_device_name,
    check_quantization,
)
from fim.instruct import DEFAULT_INSTRUCT_MODEL
from fim.models import AUTO

SECTION = "codellama"  # editors write the settings under this name

Kind = Literal["string", "integer", "number", "boolean", "array", "object"]
Reader = Literal["server", "client"]


@dataclass(frozen=True)
class Setting:
    key: str  # as editors write it (camelCase; a client's may be dotted)
    kind: Kind
    default: Any  # as JSON; None: unset (null is then a valid value too)
    doc: str  # one line, Markdown
    reader: Reader = "server"
    choices: tuple[str, ...] = ()
    low: int | float | None = None
    high: int | float | None = None
    cli: str | None = None  # the command-line option of the same meaning (`codellama lsp`'s)
    rule: Callable[[Any], Any] | None = None  # a further check of a value of the right kind

    @property
    def field(self) -> str:
        """The name of the server's `Settings` field: the key in snake_case."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.key).lower()

    @property
    def nullable(self) -> bool:
        return self.default is None

    def check(self, value: Any) -> Any:
        """`value` as the server keeps it, or ValueError saying what is allowed."""
        if value is None and self.nullable:
            return None
        value = _KIND_CHECKS[self.kind](self, value)
        return value if self.rule is None else self.rule(value)

    def parse(self, text: str) -> Any:
        """A command-line value: the text read as this kind, then the same check."""
        return self.check(_read_text(self.kind, text))

    def server_default(self) -> Any:
        """The default as the server keeps it (a list becomes a tuple)."""
        return self.check(self.default)


# -- the checks of one value --------------------------------------------------------------------

def _string(setting: Setting, value: Any) -> str:
    if setting.choices:
        if not isinstance(value, str) or value.strip().lower() not in setting.choices:
            raise ValueError(f"must be one of {', '.join(setting.choices)}")
        return value.strip().lower()
    if not isinstance(value, str) or not (value.strip() or setting.default == ""):
        raise ValueError("must be a non-empty string")
    return value.strip()


def _integer(setting: Setting, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not _in_range(setting, value):
        raise ValueError(f"must be an integer from {setting.low} to {setting.high}")
    return value


def _number(setting: Setting, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or not _in_range(setting, value):
        raise ValueError(f"must be a number from {setting.low} to {setting.high}")
    return float(value)


def _in_range(setting: Setting, value: float) -> bool:
    return (setting.low is None or value >= setting.low) and \
        (setting.high is None or value <= setting.high)


def _boolean(setting: Setting, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _array(setting: Setting, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError("must be a list of non-empty strings")
    return tuple(value)


def _object(setting: Setting, value: Any) -> dict:
    if not isinstance(value, dict):
        raise ValueError("must be an object")
    return value


_KIND_CHECKS: dict[str, Callable[[Setting, Any], Any]] = {
    "string": _string, "integer": _integer, "number": _number, "boolean": _boolean,
    "array": _array, "object": _object,
}


def _read_text(kind: Kind, text: str) -> Any:
    if kind == "string":
        return text
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"must be an integer, got {text!r}") from None
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"must be a number, got {text!r}") from None
    if kind == "boolean":
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise ValueError(f"must be true or false, got {text!r}")
    raise ValueError(f"a {kind} cannot be given on the command line")


def engine_url(value: str) -> str:
    """`local` or a URL that the remote engine can use."""
    if value == "local":
        return value
    from fim.engines.base import EngineError
    from fim.engines.remote import parse_engine_url  # httpx: only when a URL is given

    try:
        parse_engine_url(value)
    except EngineError as exc:
        raise ValueError(f"{exc}; use 'local' or [PROTOCOL+]http(s)://HOST:PORT") from None
    return value


def _device_name(value: str) -> str:
    check_device_name(value)
    return value


# -- the table ----------------------------------------------------------------------------------

# Files that clients never send to the server, whatever the settings: keys, certificates and
# credentials (users add their own globs with `excludeFiles`). A glob without `/` matches a
# file's name, one with `/` the end of its path.
SECRET_FILES: tuple[str, ...] = (
    ".env", ".env.*", "*.env", "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore",
    "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*", ".netrc", ".pgpass", ".npmrc", ".pypirc",
    ".git-credentials", ".aws/credentials", ".docker/config.json",
)


SETTINGS: tuple[Setting, ...] = (
    # The model and where it runs.
    Setting("engine", "string", "local", "`local` (the model runs in the server process) or "
            "the URL of a serving engine, `[PROTOCOL+]http(s)://HOST:PORT`",
            cli="--engine", rule=engine_url),
    Setting("model", "string", AUTO, "hub id, model directory, `demo` (the bundled small "
            "model) or `auto` (Code Llama 7B if downloaded, else `demo`)", cli="--model"),
    Setting("device", "string", "auto", "`auto`, `cpu`, `cuda`, `cuda:N` or `mps`; `auto`: "
            "CUDA, then Apple MPS, else the CPU", cli="--device", rule=_device_name),
    Setting("dtype", "string", "auto", "precision; `auto`: bfloat16 or float16 on a GPU; "
            "on the CPU bfloat16 where it is native (AMX, AVX512-BF16), else float32",
            choices=DTYPES, cli="--dtype"),
    Setting("deviceMap", "string", None, "spread a large model over GPUs and CPU memory "
            "(accelerate); by default the whole model goes on `device`", choices=DEVICE_MAPS,
            cli="--device-map"),
    Setting("quantize", "string", None, "load the weights in 8 or 4 bits (needs bitsandbytes "
            "and a CUDA GPU); by default they are not quantized", choices=QUANTIZATIONS,
            cli="--quantize"),
    Setting("contextWindow", "integer", DEFAULT_CONTEXT_WINDOW, "tokens of prompt plus "
            "completion, at most the model's `max_position_embeddings`", low=64, high=1 << 20,
            cli="--context-window"),
    # Completions.
    Setting("maxNewTokens", "integer", 64, "tokens per suggestion; under half of "
            "`contextWindow`, so that the prompt keeps at least half", low=1, high=4096,
            cli="--max-new-tokens"),
    Setting("fimFormat", "string", "spm", "fill-in-the-middle prompt order; with `spm` typing "
            "recomputes only the prompt's tail (models without FIM pieces complete left to "
            "right)", choices=("psm", "spm"), cli="--fim"),
    Setting("tokenHealing", "boolean", True, "token healing: where the cursor stands inside a "
            "word, the prompt ends before the word's typed pieces and the answer's first pieces "
            "must spell them again (engines whose API cannot constrain an answer's start, "
            "Ollama, complete without it)", cli="--token-healing"),
    Setting("debounceMs", "integer", 75, "milliseconds an automatic trigger waits before "
            "generating; 0 disables", low=0, high=5000),
    Setting("languages", "array", ["*"], "language ids to complete in; `[\"*\"]` for all"),
    Setting("invokedItems", "integer", 3, "distinct items an invoked trigger (the editor's "
            "\"show suggestion\" key) may give", low=1, high=8),
    Setting("invokedTemperature", "number", 0.6, "sampling temperature of invoked triggers "
            "(automatic ones are greedy)", low=0.0, high=2.0),
    Setting("topP", "number", 0.95, "nucleus sampling: the share of probability that tokens "
            "are drawn from", low=0.01, high=1.0, cli="--top-p"),
    Setting("loadWaitMs", "integer", 3000, "how long a request waits for a loading model, in "
            "milliseconds", low=0, high=600_000),
    Setting("maxTimeMs", "integer", None, "automatic triggers: past this many milliseconds, "
            "stop at the first line end; by default no limit", low=1, high=600_000),
    # Edits (Code Llama - Instruct).
    Setting("instructModel", "string", DEFAULT_INSTRUCT_MODEL, "the model for edits "
            "(`codellama edit --model`); where it equals `model`, one engine serves both"),
    Setting("editMaxNewTokens", "integer", None, "cap on an edit's answer (`codellama edit "
            "--max-new-tokens`); by default twice the selection's tokens plus 128",
            low=1, high=8192),
    # Next-edit suggestions.
    Setting("nextEdits", "string", Mode.FIM.value, "next-edit suggestions "
            "(`textDocument/copilotInlineEdit`, the code action \"Apply next edit\"): `off`; "
            "`rules` (model-free: rename propagation, repeated edits); `fim` (the rules, else the "
            "completion model regenerates a line they or a syntax error point to); `instruct` "
            "(the rules, else `instructModel` rewrites the lines around the cursor)",
            choices=MODES),
    Setting("nextEditDelayMs", "integer", 500, "milliseconds a document must rest unchanged "
            "before a next edit is computed for it; a change meanwhile cancels it",
            low=0, high=10_000),
    # Latency of the local engine.
    Setting("kvReuse", "boolean", True, "local engine: keep KV caches between requests, one "
            "per document (and one per edit), least recently used dropped beyond twice the "
            "context window in tokens; `false` runs every prompt in full"),
    Setting("promptLookup", "boolean", False, "local engine: greedy drafts copied from the "
            "prompt where the last generated 3-gram occurred, checked in one forward pass "
            "(the same text; BENCHMARKS.md says when it pays)"),
    Setting("compile", "string", "auto", "local engine: the decode step compiled with "
            "`torch.compile` on static KV caches; `auto` on CUDA only, `on` also on a CPU "
            "(needs a C compiler), `off` never; the same text either way",
            choices=COMPILE_MODES, cli="--compile"),
    Setting("prewarm", "boolean", True, "local engine with `kvReuse`: when a document opens "
            "or the cursor rests, compute that cursor's prompt into the document's KV cache "
            "at low priority"),
    # Read by the editor's client only (VS Code), never sent to the server.
    Setting("enable", "boolean", True, "show Code Llama's inline suggestions (the command "
            "Code Llama: Toggle Completions flips it)", reader="client"),
    Setting("disabledLanguages", "array", [], "language ids where suggestions are off (e.g. "
            "`[\"markdown\", \"plaintext\"]`); their files still reach the server, for edits",
            reader="client"),
    Setting("excludeFiles", "array", [], "more globs of files never sent to the server (no "
            "suggestions, no edits): a glob without `/` matches the file's name, one with `/` "
            "the end of its path; these always are: " + ", ".join(f"`{g}`" for g in SECRET_FILES),
            reader="client"),
    Setting("showInfo", "boolean", False, "show, in the status bar, what the suggestion cost: "
            "tokens generated, milliseconds, and prompt ids reused from the KV cache",
            reader="client"),
    Setting("server.command", "array", ["codellama", "lsp"], "the language server's command "
            "line; ignored where `codellama.server.python` is set", reader="client"),
    Setting("server.python", "string", "", "a Python interpreter with `codellama-lsp` "
            "installed (e.g. `~/venv/bin/python`): the server runs as `python -m codellama_lsp "
            "lsp`; empty: `codellama.server.command` is used", reader="client"),
    Setting("server.settings", "object", {}, "further server settings by their names (e.g. "
            "`{\"device\": \"cuda\"}`), for a server newer than this extension; these win over "
            "the other settings", reader="client"),
)

SERVER_SETTINGS: dict[str, Setting] = {s.key: s for s in SETTINGS if s.reader == "server"}
CLIENT_SETTINGS: dict[str, Setting] = {s.key: s for s in SETTINGS if s.reader == "client"}


def setting(key: str) -> Setting:
    """The row of `key` (KeyError names it if there is none)."""
    for row in SETTINGS:
        if row.key == key:
            return row
    raise KeyError(f"no setting {key!r} in codellama_lsp/settings_schema.py")


def default(field: str) -> Any:
    """The default of the server setting whose `Settings` field is `field`."""
    for row in SERVER_SETTINGS.values():
        if row.field == field:
            return row.server_default()
    raise KeyError(f"no server setting with the field {field!r}")


# -- checks across settings, and against this machine -------------------------------------------

def check_room_for_prompt(max_new_tokens: int, context_window: int,
                          window: str = f"{SECTION}.contextWindow") -> None:
    """maxNewTokens must stay under half of contextWindow: the prompt keeps at least half.
    `window` names the window's setting or option in the message."""
    if max_new_tokens >= context_window // 2:
        raise ValueError(f"must be under half of {window} ({context_window}), to leave room "
                         "for the prompt")


@dataclass(frozen=True)
class MachineCheck:
    """A check that needs this machine or the model's files, made before anything loads."""

    key: str  # the setting it refuses (its previous value is kept on the server)
    reads: tuple[str, ...]  # the `Settings` fields (= argparse dests) passed to `check`
    check: Callable[..., object]
    local_only: bool  # only where the model runs in this process (engine `local`)


def _check_quantize(kind: str | None, device: str) -> None:
    if kind is not None:
        check_quantization(kind, device)


MACHINE_CHECKS: tuple[MachineCheck, ...] = (
    MachineCheck("device", ("device",), check_device, local_only=True),
    MachineCheck("quantize", ("quantize", "device"), _check_quantize, local_only=True),
    MachineCheck("contextWindow", ("model", "context_window"), check_context_window,
                 local_only=False),
)
