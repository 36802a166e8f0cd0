"""Emacs (Debian's emacs-nox 28 with elpa-eglot) in batch mode gets a completion from the real
server: the plain `textDocument/completion` fallback, as eglot has no inline completion.

The driver is tests/editors/eglot_completion.el; `.ci/run` installs Emacs where apt-get can.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

DRIVER = Path(__file__).parent / "eglot_completion.el"


@pytest.fixture(scope="module")
def emacs() -> str:
    path = shutil.which("emacs")
    if path is None:
        pytest.skip("emacs is not installed (apt-get install emacs-nox elpa-eglot)")
    probe = subprocess.run([path, "--batch", "--eval",
                            "(progn (require 'package) (package-initialize) (require 'eglot))"],
                           capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip(f"eglot does not load in {path} (apt-get install elpa-eglot): "
                    f"{probe.stderr.strip().splitlines()[-1:]}")
    return path


def test_eglot_gets_the_suggestion_as_a_completion_item(emacs, tiny_model, tmp_path):
    source = tmp_path / "mul.py"
    source.write_text("def mul(a, b):\n    return ")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1",
           "CODELLAMA_SERVER": "\t".join([sys.executable, "-m", "codellama_lsp", "lsp"]),
           "CODELLAMA_MODEL": str(tiny_model), "CODELLAMA_FILE": str(source)}
    done = subprocess.run([emacs, "--batch", "-l", str(DRIVER)], env=env, capture_output=True,
                          text=True, timeout=400)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("RESULT: ")]
    items = json.loads(line.removeprefix("RESULT: "))
    assert items, output
    assert all(item["detail"] == "Code Llama" and item["text"].strip() for item in items), items
