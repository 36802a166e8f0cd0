"""`codellama edit` as a user runs it, on the tiny random model (its answers are noise, but the
command must still print a valid diff or say clearly that there was no usable code)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.paths import ROOT
from tests.support.waiting import until

pytestmark = pytest.mark.server

ORIGINAL = ("import math\r\n"
            "\r\n"
            "def area(r):\r\n"
            "    return math.pi * r * r\r\n"
            "\r\n"
            "print(area(2))\r\n")


@pytest.fixture()
def source(tmp_path) -> Path:
    path = tmp_path / "calc.py"
    path.write_bytes(ORIGINAL.encode())
    os.chmod(path, 0o640)
    return path


def edit(tiny_model, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run `codellama edit` on the tiny model; stdout kept as bytes-exact text (CRLF stays)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "codellama_lsp", "edit", *args, "--model",
                           str(tiny_model), "--max-new-tokens", "24"], capture_output=True,
                          cwd=cwd, env=env, timeout=120)
    return subprocess.CompletedProcess(done.args, done.returncode,
                                       done.stdout.decode("utf-8"), done.stderr.decode("utf-8"))


def patched(original: bytes, diff: str, tmp_path: Path) -> bytes:
    """`original` with `diff` applied by GNU patch."""
    work = tmp_path / "patched"
    work.mkdir()
    (work / "calc.py").write_bytes(original)
    done = subprocess.run(["patch", "-p1", "--binary", "-s"], input=diff.encode(), cwd=work,
                          capture_output=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return (work / "calc.py").read_bytes()


def test_edit_prints_a_valid_diff_and_leaves_the_file(tiny_model, source, tmp_path):
    out = edit(tiny_model, "calc.py:3-4", "add type hints", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("--- a/calc.py\n+++ b/calc.py\n@@ ")
    assert "-def area(r):\r\n" in out.stdout
    assert "Traceback" not in out.stderr and "answer was cut at 24 tokens" in out.stderr
    assert source.read_bytes() == ORIGINAL.encode()
    new = patched(ORIGINAL.encode(), out.stdout, tmp_path)
    # Only the selected lines change, and the file keeps its CRLF line ends.
    assert new.startswith(b"import math\r\n\r\n") and new.endswith(b"\r\n\r\nprint(area(2))\r\n")
    assert b"\n" not in new.replace(b"\r\n", b"")


def test_edit_write_applies_the_printed_diff_and_keeps_the_mode(tiny_model, source, tmp_path):
    out = edit(tiny_model, "calc.py:3-4", "add type hints", "--write", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "wrote calc.py" in out.stderr
    assert source.read_bytes() == patched(ORIGINAL.encode(), out.stdout, tmp_path)
    assert source.read_bytes() != ORIGINAL.encode()
    assert stat.S_IMODE(source.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir() if "codellama-tmp" in p.name] == []


def assert_refused(out: subprocess.CompletedProcess, message: str) -> None:
    assert out.returncode == 2, out.stderr
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert out.stderr.startswith("codellama edit: error: ")


def test_write_to_read_only_file_is_refused(tiny_model, source, tmp_path):
    os.chmod(source, 0o444)
    out = edit(tiny_model, "calc.py:3-4", "add type hints", "--write", cwd=tmp_path)
    assert_refused(out, "calc.py: file is read-only; not written")
    assert source.read_bytes() == ORIGINAL.encode()
    assert stat.S_IMODE(source.stat().st_mode) == 0o444


def test_missing_file_is_refused(tiny_model, tmp_path):
    for extra in ([], ["--write"]):
        out = edit(tiny_model, "nothere.py:1", "x", *extra, cwd=tmp_path)
        assert_refused(out, "nothere.py: no such file")
    assert not (tmp_path / "nothere.py").exists()


def test_file_changed_during_the_run_is_not_overwritten(tiny_model, source, tmp_path):
    """Change the file once the command has read it and is loading the model (seen in
    /proc/PID/maps, where the weights are mapped after the file was read)."""
    if not Path("/proc/self/maps").exists():
        pytest.skip("needs /proc to see when the model is being loaded")
    weights = str(tiny_model / "model.safetensors")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "codellama_lsp", "edit", "calc.py:3-4", "add type hints",
         "--write", "--model", str(tiny_model), "--max-new-tokens", "160"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    changed = b"# the user's own change\r\n" + ORIGINAL.encode()
    until(lambda: process.poll() is not None or
          weights in Path(f"/proc/{process.pid}/maps").read_text(),
          "the weights mapped", interval_s=0.005, ignore=(OSError,))
    source.write_bytes(changed)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 2, stderr
    assert "calc.py: file changed since it was read; not written" in stderr
    assert source.read_bytes() == changed
    assert [p.name for p in tmp_path.iterdir() if "codellama-tmp" in p.name] == []


@pytest.mark.parametrize("location, extra, message", [
    ("calc.py", [], "expected FILE:START[-END]"),
    ("calc.py:0", [], "line 0 is out of range"),
    ("calc.py:7", [], "line 7 is out of range (the file has 6 lines)"),
    ("calc.py:4-3", [], "ends before it starts"),
    ("calc.py:3", ["--model", "no-such-model-dir/x/y"], "no such model directory"),
    ("calc.py:3", ["--context-lines", "-1"], "--context-lines: must be 0 or a positive"),
])
def test_bad_input_is_one_line_and_leaves_the_file(tmp_path, source, location, extra, message):
    out = run_cli("edit", location, "add type hints", "--write", *extra, cwd=tmp_path)
    assert_refused(out, message)
    assert source.read_bytes() == ORIGINAL.encode()


def test_empty_instruction_is_refused(source, tmp_path):
    out = run_cli("edit", "calc.py:3", " ", "--write", cwd=tmp_path)
    assert_refused(out, "the instruction is empty")
    assert source.read_bytes() == ORIGINAL.encode()


def test_default_model_is_the_instruct_model():
    out = run_cli("edit", "--help")
    assert "codellama/CodeLlama-7b-Instruct-hf" in out.stdout
