"""`codellama eval truncation` and `codellama bench context` as a user runs them."""

from __future__ import annotations

import json
import random
import sysconfig
from pathlib import Path

import pytest

from codellama_lsp.evals.truncation import Hole, evaluate, pick_holes, run_hole
from codellama_lsp.syntax.parsed import ParsedDocument
from tests.support.cli import run_cli
from tests.support.paths import TEST_DATA

pytestmark = pytest.mark.server

DATA = TEST_DATA
STDLIB = Path(sysconfig.get_paths()["stdlib"])
STDLIB_SAMPLE = ["argparse.py", "textwrap.py", "shlex.py", "json/decoder.py", "heapq.py",
                 "fnmatch.py", "string.py", "bisect.py"]


def test_samples_in_four_languages_reach_the_targets():
    out = run_cli("eval", "truncation", str(DATA), "--holes", "15", "--seed", "0", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert set(report["languages"]) == {"go", "java", "javascript", "typescript"}
    for language, kinds in report["languages"].items():
        assert kinds["line"]["holes"] == 15 and kinds["block"]["holes"] == 15
        assert kinds["line"]["rate"] >= 0.95, language
        assert kinds["block"]["rate"] >= 0.85, language


def test_python_stdlib_files_reach_the_targets():
    report = evaluate([STDLIB / name for name in STDLIB_SAMPLE], holes=15, seed=0).as_dict()
    assert report["total"]["line"]["holes"] == 15 * len(STDLIB_SAMPLE)
    assert report["total"]["line"]["rate"] >= 0.95
    assert report["total"]["block"]["rate"] >= 0.85


def test_a_hole_leaves_the_document_as_it_was_and_is_seeded():
    text = (DATA / "queue.go").read_text()
    document = ParsedDocument(text, path="queue.go")
    holes = pick_holes(document, random.Random(3), 5)
    assert holes == pick_holes(document, random.Random(3), 5)
    assert {h.kind for h in holes} == {"line", "block"}
    for hole in holes:
        recovered, shown = run_hole(document, hole)
        assert recovered, (hole, shown)
        assert document.text == text


def test_a_line_that_closes_a_function_literal_and_calls_it():
    text = (DATA / "queue.go").read_text()
    document = ParsedDocument(text, path="queue.go")
    start = text.index("\t\t}()\n") + 2
    recovered, shown = run_hole(document, Hole("line", start, start + 3))
    assert (recovered, shown) == (True, "}()")


def test_a_clean_up_that_does_nothing_fails_the_eval(monkeypatch):
    """The figures measure the clean-up: block holes between statements are recovered by the
    statement rule, or else by the suffix rule; without both most of them fail."""
    import codellama_lsp.completion.cleanup as pp

    monkeypatch.setattr(pp, "drop_suffix_repeats", lambda text, prefix, suffix: text)
    report = evaluate([DATA / "router.js"], holes=15, seed=0).as_dict()
    assert report["total"]["block"]["rate"] >= 0.85
    monkeypatch.setattr(pp, "limit_to_statement", lambda text, context: text)
    report = evaluate([DATA / "router.js"], holes=15, seed=0).as_dict()
    assert report["total"]["block"]["rate"] < 0.5


def test_scope_run_on_measures_the_scope_rule(monkeypatch):
    """A model that skips the rest of the body: only the scope rule (or, between statements,
    the statement rule) can cut it there."""
    import codellama_lsp.completion.cleanup as pp

    files = [DATA / "router.js", DATA / "queue.go", STDLIB / "textwrap.py"]
    report = evaluate(files, holes=15, seed=0, run_on="scope").as_dict()
    assert report["total"]["block"]["rate"] >= 0.85
    monkeypatch.setattr(pp, "limit_to_scope", lambda text, context: text)
    monkeypatch.setattr(pp, "limit_to_statement", lambda text, context: text)
    report = evaluate(files, holes=15, seed=0, run_on="scope").as_dict()
    assert report["total"]["block"]["rate"] < 0.7


def test_bad_input(tmp_path):
    (tmp_path / "blob.py").write_bytes(b"\x00\x01binary")
    (tmp_path / "ok.py").write_text("def f(a):\n    return a + 1\n")
    out = run_cli("eval", "truncation", str(tmp_path), "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["files"] == 1 and report["skipped"] == 1
    for args, message in ((["missing-dir"], "no such file"),
                          ([str(tmp_path / "ok.py"), "--holes", "0"], "positive")):
        out = run_cli("eval", "truncation", *args)
        assert out.returncode == 2 and message in out.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("nothing to see\n")
    out = run_cli("eval", "truncation", str(empty))
    assert out.returncode == 2 and "no source files" in out.stderr


def test_bench_context_reports_percentiles(tmp_path, tiny_model):
    source = tmp_path / "big.py"
    source.write_text((STDLIB / "textwrap.py").read_text())
    out = run_cli("bench", "context", str(source), "--tokenizer", str(tiny_model),
                  "--positions", "20", "--json")
    assert out.returncode == 0, out.stderr
    figures = json.loads(out.stdout)
    assert figures["positions"] == 20 and figures["language"] == "python"
    assert 0 < figures["prompt_ms_p50"] <= figures["prompt_ms_p95"] <= figures["prompt_ms_max"]
    assert figures["prompt_tokens_mean"] > 100
    assert sum(figures["modes"].values()) == 20
    assert figures["format"] == "spm"  # the default, as for `complete`, `prompt` and the server
    out = run_cli("bench", "context", str(source), "--tokenizer", str(tiny_model),
                  "--positions", "2", "--fim", "psm", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["format"] == "psm"
