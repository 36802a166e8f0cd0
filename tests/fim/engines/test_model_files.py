"""What `check_model_files` finds wrong in a model folder, named by file, without loading it."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from fim.engines.options import check_model_files

pytestmark = pytest.mark.unit


@pytest.fixture
def folder(tiny_model, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(tiny_model, copy)
    return copy


def config(folder, **changes) -> None:
    values = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**values, **changes}))


def test_the_tiny_model_passes(folder):
    check_model_files(folder)


def problem(folder) -> str:
    with pytest.raises(ValueError) as caught:
        check_model_files(folder)
    return str(caught.value)


def test_a_config_that_is_not_json_or_names_no_model_type(folder):
    (folder / "config.json").write_text("{'model_type': 'llama'}")
    assert problem(folder).startswith(f"{folder / 'config.json'} is not JSON")
    (folder / "config.json").write_text("{}")
    assert problem(folder) == f"{folder / 'config.json'} names no model_type (e.g. \"llama\")"


def test_a_model_type_that_cannot_complete_code(folder):
    config(folder, model_type="vit")
    assert "model type 'vit' is not a causal language model" in problem(folder)


def test_a_weights_header_cut_short(folder):
    weights = folder / "model.safetensors"
    with weights.open("r+b") as stream:
        stream.truncate(100)
    assert problem(folder) == (f"{weights} is truncated or no safetensors file: its header is "
                               "cut short (download it again?)")


def test_a_shard_the_index_names_is_missing_or_truncated(folder):
    (folder / "model.safetensors").rename(folder / "model-00001-of-00002.safetensors")
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {
        "a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}))
    assert problem(folder) == (f"{folder / 'model.safetensors.index.json'} names "
                               f"model-00002-of-00002.safetensors, which is not in {folder}")
    shutil.copy(folder / "model-00001-of-00002.safetensors",
                folder / "model-00002-of-00002.safetensors")
    check_model_files(folder)
    with (folder / "model-00002-of-00002.safetensors").open("r+b") as stream:
        stream.truncate(5000)
    assert "model-00002-of-00002.safetensors is truncated: 5,000 of the" in problem(folder)


def test_files_that_are_not_regular_files_are_left_to_the_loader(folder):
    """A named pipe would block a reader for ever: the check does not open it."""
    for name in ("model.safetensors", "tokenizer.model"):
        (folder / name).unlink()
        os.mkfifo(folder / name)
    check_model_files(folder)
