"""`codellama eval humaneval-infilling` on the shared HumanEval infilling tasks."""

from __future__ import annotations

import json

import pytest

from codellama_lsp.evals.humaneval import evaluate, read_tasks
from tests.support.cli import run_cli
from tests.support.paths import SHARED

pytestmark = pytest.mark.server

DATA = SHARED / "data" / "human-eval-infilling"
SINGLE_LINE = DATA / "HumanEval-SingleLineInfilling.jsonl.gz"


@pytest.fixture(scope="module")
def single_line():
    if not SINGLE_LINE.is_file():
        pytest.skip(f"HumanEval infilling data is absent ({DATA})")
    return SINGLE_LINE


@pytest.mark.parametrize("name", ["HumanEval-SingleLineInfilling.jsonl.gz",
                                  "HumanEval-MultiLineInfilling.jsonl.gz",
                                  "HumanEval-RandomSpanInfillingLight.jsonl.gz"])
def test_canonical_solutions_pass_every_task(single_line, tmp_path, name):
    out_file = tmp_path / "outcomes.json"
    out = run_cli("eval", "humaneval-infilling", str(DATA / name), "--answers", "canonical",
                  "--limit", "6", "--timeout", "20", "--json", "--out", str(out_file))
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["tasks"] == 6 and summary["pass@1"] == 1.0 and summary["exact_match"] == 1.0
    tasks = json.loads(out_file.read_text())["tasks"]
    assert [t["result"] for t in tasks] == ["passed"] * 6


def test_the_tiny_model_completes_a_few_tasks(single_line, tiny_model, tmp_path):
    out_file = tmp_path / "outcomes.json"
    out = run_cli("eval", "humaneval-infilling", str(single_line), "--model", str(tiny_model),
                  "--limit", "3", "--max-new-tokens", "8", "--fim", "spm", "--compare-cleanup",
                  "--out", str(out_file))
    assert out.returncode == 0, out.stderr
    assert "pass@1" in out.stdout and "without clean-up" in out.stdout
    assert "3/3" in out.stderr  # the progress bar
    report = json.loads(out_file.read_text())
    assert [t["task_id"] for t in report["tasks"]] == [
        t.task_id for t in read_tasks(single_line, 3)]
    assert all(t["completion"].endswith("\n") for t in report["tasks"])
    assert report["summary"]["without_cleanup"]["tasks"] == 3


@pytest.mark.slow
def test_a_program_that_loops_or_allocates_fails_and_the_run_goes_on(single_line):
    tasks = read_tasks(single_line, 3)
    # Statements put before the canonical line, at its indentation, run when the tests call it.
    before = {tasks[0].task_id: "while True: pass",
              tasks[1].task_id: "hog = [bytearray(10**8) for _ in iter(int, 1)]"}

    def completer(task):
        line = task.canonical_solution
        indent = line[:len(line) - len(line.lstrip())]
        return indent + before[task.task_id] + "\n" + line if task.task_id in before else line

    outcomes = evaluate(tasks, completer, workers=2, timeout=10)
    assert outcomes[0].result == "timed out" and not outcomes[0].passed
    assert "MemoryError" in outcomes[1].result and not outcomes[1].passed
    assert outcomes[2].passed


def test_a_bad_data_file_is_one_line(tmp_path):
    bad = tmp_path / "tasks.jsonl.gz"
    bad.write_bytes(b"not gzip")
    out = run_cli("eval", "humaneval-infilling", str(bad), "--answers", "empty")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "not a HumanEval infilling task file" in out.stderr
