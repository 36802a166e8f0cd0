"""Token healing on the command line: `prompt --json` shows the healed prompt and what it took
off, `complete --json` says whether healing applied, and the evaluations compare prompt
variants (SPM and PSM, without and with healing) in one run."""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.paths import SHARED

pytestmark = pytest.mark.server

SOURCE = "def mean(values):\n    total = sum(values)\n    ret\n"
STDLIB = Path(sysconfig.get_paths()["stdlib"])


@pytest.fixture()
def source(tmp_path):
    path = tmp_path / "stats.py"
    path.write_text(SOURCE)
    return path


def prompt_json(source, tiny_model, *args):
    out = run_cli("prompt", f"{source}:3", "--tokenizer", str(tiny_model), "--json", *args)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_prompt_shows_the_healed_prompt_and_the_removed_text(source, tiny_model):
    healed = prompt_json(source, tiny_model)
    plain = prompt_json(source, tiny_model, "--token-healing", "false")
    raw = prompt_json(source, tiny_model, "--raw")  # Meta's reference prompt: never healed
    assert healed["removed"] == "ret" and healed["removed_ids"]
    assert healed["ids"] + healed["removed_ids"] == plain["ids"] == raw["ids"]
    assert plain["removed"] == "" and plain["removed_ids"] == []
    assert healed["text"].endswith("\n    ") and plain["text"].endswith("\n    ret")
    text = run_cli("prompt", f"{source}:3", "--tokenizer", str(tiny_model))
    assert "token healing removed 'ret'" in text.stdout


def test_complete_reports_whether_healing_applied(source, tiny_model):
    reports = {}
    for value in ("true", "false"):
        out = run_cli("complete", f"{source}:3", "--model", str(tiny_model), "--json",
                      "--max-new-tokens", "6", "--token-healing", value)
        assert out.returncode == 0, out.stderr
        reports[value] = json.loads(out.stdout)
    assert reports["true"]["healed"] is True and reports["false"]["healed"] is False


def test_eval_holes_compares_the_four_variants_on_the_same_holes(tiny_model):
    out = run_cli("eval", "holes", str(STDLIB / "colorsys.py"), "--model", str(tiny_model),
                  "--holes", "1", "--max-new-tokens", "6", "--variants", "all", "--json")
    assert out.returncode == 0, out.stderr
    variants = json.loads(out.stdout)["variants"]
    assert list(variants) == ["spm", "spm+healing", "psm", "psm+healing"]
    for name, report in variants.items():
        assert report["fim"] == name[:3] and report["token_healing"] == name.endswith("healing")
        assert set(report["total"]) == {"line", "rest", "block", "word", "all"}
        assert report["total"]["all"]["holes"] == 4
        assert 0 <= report["total"]["word"]["model"]["word_exact_match"] <= 1
    out = run_cli("eval", "holes", str(STDLIB / "colorsys.py"), "--model", str(tiny_model),
                  "--variants", "spm,xyz")
    assert out.returncode == 2 and "--variants" in out.stderr


def test_eval_humaneval_compares_variants_on_random_spans(tiny_model, tmp_path):
    data = SHARED / "data" / "human-eval-infilling" / "HumanEval-RandomSpanInfillingLight.jsonl.gz"
    if not data.is_file():
        pytest.skip(f"HumanEval infilling data is absent ({data.parent})")
    out_file = tmp_path / "outcomes.json"
    out = run_cli("eval", "humaneval-infilling", str(data), "--model", str(tiny_model),
                  "--limit", "2", "--max-new-tokens", "6", "--variants", "spm,spm+healing",
                  "--json", "--out", str(out_file))
    assert out.returncode == 0, out.stderr
    summaries = json.loads(out.stdout)["variants"]
    assert list(summaries) == ["spm", "spm+healing"]
    assert all(s["tasks"] == 2 and s["prompt"] == name for name, s in summaries.items())
    written = json.loads(out_file.read_text())["variants"]
    assert [len(v["tasks"]) for v in written.values()] == [2, 2]
