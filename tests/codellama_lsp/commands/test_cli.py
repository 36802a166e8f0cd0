"""`codellama complete` and `codellama prompt` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from codellama_lsp.syntax.source_files import cursor_offset
from tests.codellama_lsp.lsp.test_lsp_edits import constant_model  # noqa: F401 - a fixture
from tests.support.cli import run_cli
from tests.support.paths import ROOT

pytestmark = pytest.mark.server


@pytest.fixture()
def source(tmp_path):
    path = tmp_path / "add.py"
    path.write_text("def add(a, b):\n    \n\nprint(add(1, 2))\n")
    return path


def test_complete_prints_a_completion(tiny_model, source):
    out = run_cli("complete", f"{source}:2", "--model", str(tiny_model), "--max-new-tokens", "8")
    assert out.returncode == 0, out.stderr
    assert out.stdout
    assert "Traceback" not in out.stderr


def test_complete_json_has_counts_and_timings(tiny_model, source):
    out = run_cli("complete", f"{source}:2:5", "--model", str(tiny_model), "--json",
                  "--max-new-tokens", "8", "--spm")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["format"] == "spm"
    assert report["prompt_tokens"] > 4 and 0 < report["generated_tokens"] <= 8
    assert report["total_ms"] >= report["time_to_first_token_ms"] > 0
    assert isinstance(report["completion"], str)


def test_complete_json_says_when_clean_up_left_nothing(constant_model, tmp_path):  # noqa: F811
    # The constant model always writes " ⁇  ⁇  ⁇  ⁇": here that is the next line again, which the
    # clean-up drops, so nothing is shown though the policy asked for a statement.
    path = tmp_path / "f.py"
    path.write_text("if a:\n x = 1\n\n ⁇  ⁇  ⁇  ⁇\n")
    out = run_cli("complete", f"{path}:3", "--model", str(constant_model), "--json",
                  "--max-new-tokens", "4")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["completion"] == "" and report["mode"] == "statement", report
    assert report["cleaned_away"] is True
    out = run_cli("complete", f"{path}:1:2", "--model", str(constant_model), "--json")
    report = json.loads(out.stdout)  # inside a word: the policy says nothing, nothing ran
    assert report["mode"] == "none" and "cleaned_away" not in report, report


def test_model_without_fim_completes_left_to_right(tiny_model_no_fim, source):
    out = run_cli("complete", f"{source}:2", "--model", str(tiny_model_no_fim), "--json",
                  "--max-new-tokens", "4")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["format"] == "l2r"


@pytest.mark.parametrize("args, message", [
    (["{missing}:1"], "no such file"),
    (["{source}:9"], "line 9 is out of range"),
    (["{source}:0"], "line 0 is out of range"),
    (["{source}:1:99"], "column 99 is out of range"),
    (["{source}:2", "--model", "{missing_dir}"], "no such model directory"),
    (["{source}:2", "--model", "{nofim}", "--spm"], "no FIM pieces"),
    (["{source}"], "expected FILE:LINE[:COL]"),
    (["{source}:2", "--max-new-tokens", "0"], "integer from 1 to 4096"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, source, tiny_model_no_fim, args, message):
    values = {"source": source, "missing": tmp_path / "missing.py",
              "missing_dir": tmp_path / "no-model", "nofim": tiny_model_no_fim}
    out = run_cli("complete", *[a.format(**values) for a in args])
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr
    assert "Traceback" not in out.stderr


def test_binary_and_undecodable_files_are_refused(tmp_path):
    binary = tmp_path / "blob.py"
    binary.write_bytes(b"\x00\x01\x02abc\n")
    latin = tmp_path / "latin.py"
    latin.write_bytes("s = 'caf\xe9'\n".encode("latin-1"))
    for path, message in ((binary, "binary file"), (latin, "not UTF-8")):
        out = run_cli("prompt", f"{path}:1", "--tokenizer", "x", "--json")
        assert out.returncode == 2 and message in out.stderr


def test_cursor_offsets_count_characters_and_skip_cr():
    text = "ab😀c\r\nxyz\r\n"
    assert cursor_offset(text, 1, 4) == 3  # before "c": the emoji is one character
    assert cursor_offset(text, 1, None) == 4  # end of line 1, before "\r\n"
    assert cursor_offset(text, 2, 1) == 6
    assert cursor_offset("", 1, 1) == 0


def test_serve_without_the_serve_extra_names_the_install_command(tmp_path):
    # A package that fails to import stands in for uvicorn not being installed.
    (tmp_path / "uvicorn").mkdir()
    (tmp_path / "uvicorn" / "__init__.py").write_text("raise ImportError('not installed')\n")
    env_path = f"{tmp_path}{os.pathsep}{ROOT}"
    out = subprocess.run([sys.executable, "-m", "codellama_lsp", "serve", "--model", "x"],
                         capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": env_path})
    assert out.returncode == 2
    assert out.stderr.strip() == ("codellama serve: error: the worker needs uvicorn: "
                                  "pip install 'codellama-lsp[serve]'"), out.stderr
