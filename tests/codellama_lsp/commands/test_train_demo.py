"""`codellama train-demo`: a smoke run of the real recipe (a model of seconds) that learns,
writes a loadable model and a loss curve, and resumes from its checkpoint."""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path

import pytest

from tests.support.cli import run_cli

pytestmark = pytest.mark.server

STDLIB = Path(sysconfig.get_paths()["stdlib"])
SMALL_CORPUS = ["string.py", "textwrap.py", "shlex.py", "base64.py", "glob.py"]


@pytest.mark.slow
def test_smoke_training_learns_and_resumes(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in SMALL_CORPUS:
        (corpus / name).write_text((STDLIB / name).read_text(encoding="utf-8"))
    out_dir = tmp_path / "run"
    first = run_cli("train-demo", str(out_dir), "--corpus", str(corpus), "--shape", "smoke",
                    "--max-steps", "12", "--minutes", "2", timeout=600)
    assert first.returncode == 0, first.stderr
    assert "tok/s" in first.stderr and "loss" in first.stderr and "left" in first.stderr
    model = out_dir / "model"
    training = json.loads((model / "training.json").read_text())
    assert training["steps"] == 12
    assert training["final_loss"] < training["first_loss"] - 0.3
    assert (out_dir / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"config.json", "tokenizer.model", "model.safetensors"} <= {
        p.name for p in model.iterdir()}
    corpus_list = json.loads((model / "corpus.json").read_text())
    assert "glob.py" in corpus_list["held_out"] and "glob.py" not in corpus_list["train"]

    again = run_cli("train-demo", str(out_dir), "--corpus", str(corpus), "--shape", "smoke",
                    "--max-steps", "16", "--minutes", "2", timeout=600)
    assert again.returncode == 0, again.stderr
    assert "resuming from" in again.stderr and "at step 12" in again.stderr
    assert json.loads((model / "training.json").read_text())["steps"] == 16

    completed = run_cli("complete", str(corpus / "string.py") + ":60", "--model", str(model),
                        "--context-window", "128", "--max-new-tokens", "8")
    assert completed.returncode == 0, completed.stderr


def test_a_missing_corpus_folder_is_one_line(tmp_path):
    out = run_cli("train-demo", str(tmp_path / "run"), "--corpus", str(tmp_path / "nope"))
    assert out.returncode == 2 and "not a directory" in out.stderr
