"""`codellama eval next-edit`: edit sequences replayed from a git history, the rules and the
model beside the two baselines."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from codellama_lsp.evals.next_edit import evaluate, mine
from codellama_lsp.next_edit.mode import Mode
from tests.support.cli import run_cli

pytestmark = pytest.mark.server

BEFORE = ("def total(items):\n"
          "    count = 0\n"
          "    for item in items:\n"
          "        count += item\n"
          "    print(items)\n"
          "    return count\n"
          "\n"
          "\n"
          "def draw(a, b):\n"
          "    plot(a)\n"
          "    x = 1\n"
          "    plot(a)\n"
          "    return x\n")
# A rename of `count` (three hunks: one occurrence per hunk, the lines between unchanged) and
# the same line changed twice.
AFTER = (BEFORE.replace("count = 0", "n = 0").replace("count += item", "n += item")
         .replace("return count", "return n").replace("plot(a)", "plot(a, b)"))


def git(repo: Path, *arguments: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                    *arguments], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    source = tmp_path / "calc.py"
    source.write_text(BEFORE)
    git(tmp_path, "add", "calc.py")
    git(tmp_path, "commit", "-qm", "first")
    source.write_text(AFTER)
    (tmp_path / "notes.txt").write_text("a\nb\n")  # added, and no syntax tree: left out
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "rename, plot")
    return tmp_path


def test_a_commit_is_replayed_hunk_by_hunk(repo):
    (change,) = mine(repo, "HEAD", 10, 12)
    assert change.path == "calc.py" and len(change.steps) == 5
    assert change.texts[0] == BEFORE and change.texts[-1] == AFTER
    assert [step.new for step in change.steps[:2]] == ["    n = 0\n", "        n += item\n"]


def test_the_rules_finish_the_rename_and_repeat_the_line_the_baselines_less(repo):
    report = evaluate(list(mine(repo, "HEAD", 10, 12)), Mode.RULES, None, 3, 100)
    scores = {name: score.as_dict() for name, score in report.scores.items()}
    assert report.commits == 1 and report.files == 1
    assert scores["no suggestion"] == {"suggested": 0.0, "location": 0.0, "exact": 0.0}
    # 4 cases: the rename's rest (after its first and second hunk: made exactly), the first
    # plot (nothing to go on), the second plot (the rule and the baseline repeat the first).
    rules, repeat = report.scores["rules"], report.scores["repeat last edit"]
    assert rules.cases == 4 and rules.exact == 3, scores
    assert repeat.exact == 1 and repeat.exact < rules.exact, scores


def test_the_command_scores_the_model_beside_the_rules(repo, tiny_model):
    out = run_cli("eval", "next-edit", str(repo), "--mode", "fim", "--model", str(tiny_model),
                  "--max-new-tokens", "4", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["cases"] == 4 and report["mode"] == "fim"
    assert set(report["systems"]) == {"no suggestion", "repeat last edit", "rules",
                                      "rules + model"}
    assert report["systems"]["rules + model"]["exact"] >= report["systems"]["rules"]["exact"]


def test_a_folder_that_is_no_repository_is_one_line(tmp_path):
    out = run_cli("eval", "next-edit", str(tmp_path))
    assert out.returncode == 2 and "not a git repository" in out.stderr
