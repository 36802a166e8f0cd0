"""`codellama eval holes`: holes cut from real files, the model beside trivial baselines."""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path

import pytest

from codellama_lsp.evals.holes import cut_holes, previous_line
from tests.support.cli import run_cli

pytestmark = pytest.mark.server

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def test_holes_of_each_kind_are_cut_reproducibly():
    holes = cut_holes(STDLIB / "bisect.py", 4, seed=1)
    assert [h.kind for h in holes] == ["line"] * 4 + ["rest"] * 4 + ["block"] * 4
    assert holes == cut_holes(STDLIB / "bisect.py", 4, seed=1)
    assert holes != cut_holes(STDLIB / "bisect.py", 4, seed=2)
    for hole in holes:
        assert hole.middle.strip() and hole.middle == hole.middle.rstrip("\n")
        if hole.kind == "block":
            assert "\n" in hole.middle
        else:
            assert "\n" not in hole.middle


def test_previous_line_baseline_repeats_the_line_above():
    text = "def f(x):\n    y = x + 1\n    return y\n"
    from codellama_lsp.evals.holes import Hole

    start = text.index("return")
    assert previous_line(Hole("f.py", "python", "line", text, start, start + 8)) == "y = x + 1"
    assert previous_line(Hole("f.py", "python", "rest", text, start + 2,
                              start + 8)) == "= x + 1"


def test_the_tiny_model_is_scored_beside_the_baselines(tiny_model):
    out = run_cli("eval", "holes", str(STDLIB / "colorsys.py"), "--model", str(tiny_model),
                  "--holes", "2", "--max-new-tokens", "8", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["files"] == 1 and report["fim"] == "spm"  # the editor's default order
    total = report["total"]
    assert total["all"]["holes"] == 6 and set(total) == {"line", "rest", "block", "all"}
    for system in ("model", "no clean-up", "empty", "previous line"):
        assert 0 <= total["all"][system]["exact_match"] <= 1
    assert total["all"]["empty"] == {"exact_match": 0.0, "edit_similarity": 0.0}
    assert "python/line" in report["languages"]


def test_missing_paths_are_one_line():
    out = run_cli("eval", "holes", "/no/such/file.py", "--model", "demo")
    assert out.returncode == 2 and "no such file or folder" in out.stderr
