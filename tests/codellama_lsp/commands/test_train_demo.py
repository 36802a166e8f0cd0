"""`codellama train-demo`: a smoke run of the real recipe (a model of seconds) that learns,
writes a loadable model and a loss curve, prints its speed, and resumes from its checkpoint; the
shape sweep at smoke size. `--compile off` here: compiling takes longer than these runs (the
compiled step is checked in tests/fim/training/test_step.py)."""

from __future__ import annotations

import json
import re
import sysconfig
from pathlib import Path

import pytest

from tests.support.cli import run_cli

pytestmark = pytest.mark.server

STDLIB = Path(sysconfig.get_paths()["stdlib"])
SMALL_CORPUS = ["string.py", "textwrap.py", "shlex.py", "base64.py", "glob.py"]


@pytest.fixture
def corpus(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in SMALL_CORPUS:
        (folder / name).write_text((STDLIB / name).read_text(encoding="utf-8"))
    return folder


@pytest.mark.slow
def test_smoke_training_learns_and_resumes(tmp_path, corpus):
    out_dir = tmp_path / "run"
    first = run_cli("train-demo", str(out_dir), "--corpus", str(corpus), "--shape", "smoke",
                    "--max-steps", "12", "--minutes", "2", "--compile", "off", timeout=600)
    assert first.returncode == 0, first.stderr
    assert "tok/s" in first.stderr and "loss" in first.stderr and "left" in first.stderr
    assert re.search(r"trained [\d,]+ tokens in \d+:\d\d: [\d,]+ tok/s", first.stderr)
    model = out_dir / "model"
    training = json.loads((model / "training.json").read_text())
    assert training["steps"] == 12 and training["tokens_per_s"] > 0
    assert training["final_loss"] < training["first_loss"] - 0.3
    assert (out_dir / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"config.json", "tokenizer.model", "model.safetensors"} <= {
        p.name for p in model.iterdir()}
    corpus_list = json.loads((model / "corpus.json").read_text())
    assert "glob.py" in corpus_list["held_out"] and "glob.py" not in corpus_list["train"]

    again = run_cli("train-demo", str(out_dir), "--corpus", str(corpus), "--shape", "smoke",
                    "--max-steps", "16", "--minutes", "2", "--compile", "off", timeout=600)
    assert again.returncode == 0, again.stderr
    assert "resuming from" in again.stderr and "at step 12" in again.stderr
    assert json.loads((model / "training.json").read_text())["steps"] == 16

    completed = run_cli("complete", str(corpus / "string.py") + ":60", "--model", str(model),
                        "--context-window", "128", "--max-new-tokens", "8")
    assert completed.returncode == 0, completed.stderr


def test_a_missing_corpus_folder_is_one_line(tmp_path):
    out = run_cli("train-demo", str(tmp_path / "run"), "--corpus", str(tmp_path / "nope"))
    assert out.returncode == 2 and "not a directory" in out.stderr


def test_a_checkpoint_of_the_earlier_recipe_is_refused_in_one_line(tmp_path, corpus):
    import torch

    checkpoint = tmp_path / "run" / "checkpoint"
    checkpoint.mkdir(parents=True)
    torch.save({"model": {}, "optimizer": {}, "state": {"step": 5}}, checkpoint / "state.pt")
    out = run_cli("train-demo", str(tmp_path / "run"), "--corpus", str(corpus), "--shape",
                  "smoke", "--max-steps", "2", "--compile", "off", timeout=600)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("codellama train-demo: error: ")
    assert "earlier training recipe" in out.stderr and "Traceback" not in out.stderr


def test_a_sweep_trains_each_shape_on_one_tokenizer_and_compares_held_out_loss(tmp_path,
                                                                              corpus):
    out_dir = tmp_path / "sweep"
    out = run_cli("train-demo", str(out_dir), "--corpus", str(corpus), "--sweep",
                  "smoke,smoke-3x64", "--max-steps", "3", "--compile", "off", timeout=600)
    assert out.returncode == 0, out.stderr
    rows = json.loads((out_dir / "sweep.json").read_text())
    assert [row["shape"] for row in rows] == ["smoke", "smoke-3x64"]
    assert rows[0]["layers"] == 2 and rows[1]["layers"] == 3
    assert rows[0]["parameters"] < rows[1]["parameters"]
    assert all(row["held_out_loss"] > 0 and row["tokens"] > 0 for row in rows)
    shared = (out_dir / "tokenizer.model").read_bytes()
    assert all((out_dir / name / "model" / "tokenizer.model").read_bytes() == shared
               for name in ("smoke", "smoke-3x64"))
    assert "held-out loss" in out.stdout and "smoke-3x64" in out.stdout


def test_a_sweep_of_unknown_or_mixed_shapes_is_one_line(tmp_path):
    for shapes, says in (("demo,nope", "choose shapes from"), ("demo,smoke", "vocabulary")):
        out = run_cli("train-demo", str(tmp_path / "run"), "--sweep", shapes)
        assert out.returncode == 2 and says in out.stderr, out.stderr


@pytest.mark.slow
def test_a_new_run_starts_from_an_earlier_model_and_then_resumes_its_own(tmp_path, corpus):
    common = ["--corpus", str(corpus), "--shape", "smoke", "--compile", "off"]
    first = run_cli("train-demo", str(tmp_path / "first"), *common, "--max-steps", "12",
                    timeout=600)
    assert first.returncode == 0, first.stderr
    earlier = tmp_path / "first" / "model"
    before = json.loads((earlier / "training.json").read_text())

    out_dir = tmp_path / "second"
    second = run_cli("train-demo", str(out_dir), *common, "--max-steps", "4", "--seed", "1",
                     "--init-from", str(earlier), "--learning-rate", "1e-4", timeout=600)
    assert second.returncode == 0, second.stderr
    assert "starting from the weights of" in second.stderr
    after = json.loads((out_dir / "model" / "training.json").read_text())
    # It starts where the earlier run ended, not from random weights.
    assert after["first_loss"] < before["first_loss"] - 0.3
    assert after["init_from"]["steps"] == 12 and after["steps"] == 4
    assert after["options"]["learning_rate"] == "0.0001"
    assert (out_dir / "tokenizer.model").read_bytes() == (earlier / "tokenizer.model").read_bytes()

    again = run_cli("train-demo", str(out_dir), *common, "--max-steps", "6",
                    "--init-from", str(earlier), timeout=600)
    assert again.returncode == 0, again.stderr
    assert "resuming from" in again.stderr and "at step 4" in again.stderr
    # Resumed without the option, the record of where the run started stays.
    last = run_cli("train-demo", str(out_dir), *common, "--max-steps", "7", timeout=600)
    assert last.returncode == 0, last.stderr
    assert json.loads((out_dir / "model" / "training.json").read_text())["init_from"]["steps"] \
        == 12


def test_a_model_of_another_shape_or_no_model_is_refused_before_anything_is_written(tmp_path,
                                                                                    corpus):
    import fim

    demo_model = Path(fim.__file__).parent / "demo_model"
    (tmp_path / "empty").mkdir()
    for init_from, says in ((tmp_path / "empty", "no config.json"),
                            (tmp_path / "nope", "not a directory"),
                            (demo_model, "--shape smoke has 2 of 64")):
        out = run_cli("train-demo", str(tmp_path / "run"), "--corpus", str(corpus), "--shape",
                      "smoke", "--init-from", str(init_from), "--compile", "off", timeout=600)
        assert out.returncode == 2 and says in out.stderr, out.stderr
        assert "Traceback" not in out.stderr
        assert not (tmp_path / "run" / "tokenizer.model").exists()
    bad_rate = run_cli("train-demo", str(tmp_path / "run"), "--learning-rate", "-1")
    assert bad_rate.returncode == 2 and "must be a number above 0" in bad_rate.stderr
