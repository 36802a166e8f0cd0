"""Model names a user may give besides hub ids and directories, resolved in one place.

- `demo`: the small model shipped in `fim/demo_model/` (trained by `codellama train-demo`);
- `auto` (the default): Code Llama 7B where it is in the local Hugging Face cache, else `demo`,
  with one line saying so and the command that downloads Code Llama. Nothing is downloaded.

Code Llama - Instruct (edits) is never downloaded implicitly either: when it is missing, loading
it fails with the download command. The names themselves are defined with `LoadOptions` (in
`fim.engines.options`), the hub id in `fim.hub`; they are importable from here as well.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

from fim.engines.base import EngineError
from fim.engines.options import AUTO, DEMO, LoadOptions
from fim.hub import CODE_LLAMA_7B, download_command
from fim.instruct import DEFAULT_INSTRUCT_MODEL

log = logging.getLogger(__name__)

DEMO_DIR = Path(__file__).resolve().parent / "demo_model"
_WEIGHT_FILES = ("model.safetensors.index.json", "model.safetensors",
                 "pytorch_model.bin.index.json", "pytorch_model.bin")


def in_local_cache(repo_id: str) -> bool:
    """Whether hub model `repo_id` is in the local Hugging Face cache (never downloads)."""
    from huggingface_hub import try_to_load_from_cache

    def cached(name: str) -> bool:
        return isinstance(try_to_load_from_cache(repo_id, name), str)

    return cached("config.json") and any(cached(name) for name in _WEIGHT_FILES)


def demo_model_dir() -> Path:
    if not (DEMO_DIR / "model.safetensors").is_file():
        raise EngineError(f"the demo model is missing from {DEMO_DIR} (an incomplete install?)")
    return DEMO_DIR


def auto_model() -> str:
    """The model name `auto` stands for here, `CODE_LLAMA_7B` or `DEMO`, told quietly (the
    line about the fallback is `resolve_model`'s, when the model is loaded)."""
    return CODE_LLAMA_7B if in_local_cache(CODE_LLAMA_7B) else DEMO


def resolve_model(name: str) -> str:
    """The hub id or directory that model name `name` stands for."""
    if name == DEMO:
        return str(demo_model_dir())
    if name == AUTO:
        if auto_model() == CODE_LLAMA_7B:
            return CODE_LLAMA_7B
        log.warning("Code Llama 7B is not downloaded: using the small demo model (%s); for "
                    "real completions download Code Llama with: %s", DEMO_DIR,
                    download_command(CODE_LLAMA_7B))
        return str(demo_model_dir())
    if name == DEFAULT_INSTRUCT_MODEL and not in_local_cache(name):
        raise EngineError(f"edits need Code Llama - Instruct, which is not downloaded; "
                          f"download it with: {download_command(name)}")
    return name


def resolve_options(options: LoadOptions) -> LoadOptions:
    """`options` with its model resolved; the demo model's window bounded by its maximum."""
    model = resolve_model(options.model)
    if model == options.model:
        return options
    window = options.context_window
    if Path(model) == DEMO_DIR:
        window = min(window, _max_positions(DEMO_DIR))
    return dataclasses.replace(options, model=model, context_window=window)


def _max_positions(directory: Path) -> int:
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    return int(config["max_position_embeddings"])
