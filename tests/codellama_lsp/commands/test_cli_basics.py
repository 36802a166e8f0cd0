"""What a new user meets first: --version, --help, -v, the loading line, files left behind."""

from __future__ import annotations

import argparse
import os
import stat

import pytest

from codellama_lsp.cli import build_parser
from tests.support.cli import run_cli

pytestmark = pytest.mark.server

QUIET_FLAGS = {"-h", "--version", "-v"}


def all_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                found += all_parsers(child)
    return found


def test_every_option_has_help_that_shows_its_default():
    missing = []
    for parser in all_parsers(build_parser()):
        text = parser.format_help()
        for action in parser._actions:
            if not action.option_strings or QUIET_FLAGS & set(action.option_strings):
                continue
            name = f"{parser.prog} {action.option_strings[-1]}"
            flag = action.nargs == 0
            if not action.help:
                missing.append(f"{name}: no help")
            elif not flag and not action.required and "default" not in (action.help or "") \
                    and f"(default: {action.default})" not in " ".join(text.split()):
                missing.append(f"{name}: no default shown")
    assert missing == [], missing


def test_version_and_verbose_after_the_subcommand(tmp_path, tiny_model):
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("codellama 0.")
    source = tmp_path / "app.py"
    source.write_text("def add(a, b):\n    \n")
    out = run_cli("complete", f"{source}:2", "--model", str(tiny_model), "--max-new-tokens", "2",
                  "-v")
    assert out.returncode == 0, out.stderr
    lines = out.stderr.splitlines()
    # the loading line comes first, then this project's log lines and no library's dumps
    assert lines[0] == f"codellama complete: loading {tiny_model} on cpu…"
    logged = [line for line in lines[1:] if line.startswith(("INFO", "DEBUG"))]
    assert any(line.startswith("INFO fim.") for line in logged), out.stderr
    assert all(line.split()[1].startswith(("fim.", "codellama_lsp")) for line in logged)
    assert "LlamaConfig" not in out.stderr and "configuration file" not in out.stderr
    quiet = run_cli("complete", f"{source}:2", "--model", str(tiny_model), "--max-new-tokens",
                    "2")
    assert quiet.stderr == f"codellama complete: loading {tiny_model} on cpu…\n"


def test_tiny_model_files_are_readable_by_all(tiny_model):
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in tiny_model.iterdir()}
    assert "model.safetensors" in modes and set(modes.values()) == {0o644}, modes


def test_make_tiny_model_never_overwrites_a_model_without_force(tmp_path, tiny_model):
    before = {p.name: p.stat().st_mtime_ns for p in tiny_model.iterdir()}
    out = run_cli("make-tiny-model", str(tiny_model))
    assert out.returncode == 2 and "--force" in out.stderr
    assert {p.name: p.stat().st_mtime_ns for p in tiny_model.iterdir()} == before


def test_bench_context_leaves_no_temporary_folder(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    source = tmp_path / "app.py"
    source.write_text("def add(a, b):\n    return a + b\n\n\nprint(add(1, 2))\n")
    env_tmp = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(scratch)
    try:
        out = run_cli("bench", "context", str(source), "--positions", "4", "--no-context")
    finally:
        os.environ.pop("TMPDIR") if env_tmp is None else os.environ.update(TMPDIR=env_tmp)
    assert out.returncode == 0, out.stderr
    assert list(scratch.iterdir()) == []
