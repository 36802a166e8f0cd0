"""`codellama eval holes`: holes cut from real files, the model beside trivial baselines."""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path

import pytest

from codellama_lsp.evals.holes import Score, cut_holes, previous_line, word_of
from fim.healing import is_word_char
from tests.support.cli import run_cli

pytestmark = pytest.mark.server

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def test_holes_of_each_kind_are_cut_reproducibly():
    holes = cut_holes(STDLIB / "bisect.py", 4, seed=1)
    assert [h.kind for h in holes] == ["line"] * 4 + ["rest"] * 4 + ["block"] * 4 + ["word"] * 4
    assert holes == cut_holes(STDLIB / "bisect.py", 4, seed=1)
    assert holes != cut_holes(STDLIB / "bisect.py", 4, seed=2)
    for hole in holes:
        assert hole.middle.strip() and hole.middle == hole.middle.rstrip("\n")
        if hole.kind == "block":
            assert "\n" in hole.middle
        else:
            assert "\n" not in hole.middle
        if hole.kind == "word":  # inside an identifier, to the end of its line
            assert is_word_char(hole.text[hole.start - 1]) and is_word_char(hole.middle[0])
            assert hole.text[hole.end:].startswith("\n")


def test_a_word_counts_as_completed_when_the_answer_begins_with_its_rest():
    score = Score()
    score.add("urn total", "urn total", inside_word=True)
    score.add("urn x", "urn total", inside_word=True)
    score.add("urns", "urn total", inside_word=True)
    assert (score.words, score.word_exact, score.exact) == (3, 2, 1)
    assert word_of("urn total") == "urn" and word_of("ius) * 2") == "ius"


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
    assert total["all"]["holes"] == 8
    assert set(total) == {"line", "rest", "block", "word", "all"}
    for system in ("model", "no clean-up", "empty", "previous line"):
        assert 0 <= total["all"][system]["exact_match"] <= 1
    assert total["all"]["empty"] == {"exact_match": 0.0, "edit_similarity": 0.0,
                                     "word_exact_match": 0.0}
    assert "python/line" in report["languages"]


def test_missing_paths_are_one_line():
    out = run_cli("eval", "holes", "/no/such/file.py", "--model", "demo")
    assert out.returncode == 2 and "no such file or folder" in out.stderr
