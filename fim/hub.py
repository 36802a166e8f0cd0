"""Hub ids as the project names them: whether a model name is a hub id or a path on this
machine, the Code Llama model that `auto` stands for, and what to do when a model is neither a
folder nor in the Hugging Face cache. Imported by the tokenizer and the load options alike, so
it imports nothing of the project's."""

from __future__ import annotations

import os
from pathlib import Path

CODE_LLAMA_7B = "codellama/CodeLlama-7b-hf"


def download_command(repo_id: str) -> str:
    """The command that downloads hub model `repo_id` into the Hugging Face cache."""
    return f"hf download {repo_id}"


def looks_like_path(model: str) -> bool:
    """Hub ids are "owner/name"; anything else is a path on this machine."""
    return model.startswith((".", "/", "~")) or model.count("/") != 1 or Path(model).exists()


def model_not_found(model: str) -> str:
    """What to do when `model` is neither a model folder nor in the Hugging Face cache."""
    if looks_like_path(model):
        hub_id, problem = CODE_LLAMA_7B, f"no such model directory: {model}"
    else:
        why = " and HF_HUB_OFFLINE is set" if offline() else ""
        hub_id, problem = model, f"model {model} is not in the Hugging Face cache{why}"
    return (f"{problem}; download it with `{download_command(hub_id)} --local-dir DIR` and pass "
            "--model DIR, or unset HF_HUB_OFFLINE to download on first use; to try without a "
            "download: `codellama make-tiny-model DIR`, then --model DIR")


def offline() -> bool:
    """Whether HF_HUB_OFFLINE forbids downloads."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
