"""Model folders broken the ways downloads and hand-made folders break, built from the tiny
model: the problem each has, and what a message about it must name."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

# kind: (the file at fault, words the message uses for what is wrong with it)
BROKEN = {
    "truncated weights": ("model.safetensors", "is truncated"),
    "unknown architecture": ("config.json", "model type 'llamazilla' is not an architecture"),
    "unreadable tokenizer": ("tokenizer.model", "not a SentencePiece model"),
}


def broken_model(tiny_model: Path, folder: Path, kind: str) -> Path:
    """A copy of `tiny_model` in `folder` broken as `kind` (a key of BROKEN)."""
    shutil.copytree(tiny_model, folder)
    if kind == "truncated weights":
        weights = folder / "model.safetensors"
        with weights.open("r+b") as stream:
            stream.truncate(weights.stat().st_size // 2)  # a download cut halfway
    elif kind == "unknown architecture":
        config = json.loads((folder / "config.json").read_text())
        config.update(model_type="llamazilla", architectures=["LlamazillaForCausalLM"])
        (folder / "config.json").write_text(json.dumps(config))
    elif kind == "unreadable tokenizer":
        (folder / "tokenizer.model").write_bytes(b"<html>rate limited</html>\n")
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return folder
