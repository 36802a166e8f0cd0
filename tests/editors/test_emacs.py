"""Real eglot (Debian's emacs-nox 28 with elpa-eglot 1.9, in batch mode) against the real server.

eglot has no inline completion: it gets the suggestion from the plain `textDocument/completion`
fallback, inserts the item whole, and never runs the item's accept command, so the server counts
the acceptance from the document's change. The driver is tests/editors/eglot_completion.el;
`.ci/run` installs Emacs where apt-get can, else this test skips and says why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.engines import FakeServingEngine, tgi_reply
from tests.support.paths import ROOT

pytestmark = pytest.mark.editors

DRIVER = Path(__file__).parent / "eglot_completion.el"
NEXT_EDIT_DRIVER = Path(__file__).parent / "eglot_next_edit.el"


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


def test_eglot_inserts_the_whole_suggestion_and_its_acceptance_is_counted(emacs, tiny_model,
                                                                          tmp_path):
    engine = FakeServingEngine({("POST", "/generate"):
                                lambda body: tgi_reply(body, "al + b  # the sum", 5)})
    source = tmp_path / "calc.py"
    source.write_text("def add(a, b):\n    return tot\n")
    options = {"engine": "tgi+" + engine.url, "model": str(tiny_model), "debounceMs": 0,
               "invokedItems": 1}
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "HOME": str(tmp_path),
           "CODELLAMA_SERVER": "\t".join([sys.executable, "-m", "codellama_lsp", "lsp"]),
           "CODELLAMA_OPTIONS": json.dumps(options), "CODELLAMA_FILE": str(source),
           "CODELLAMA_LINE": "2"}
    try:
        done = subprocess.run([emacs, "--batch", "-l", str(DRIVER)], env=env,
                              capture_output=True, text=True, timeout=400)
    finally:
        engine.close()
    output = done.stdout + done.stderr[-3000:]
    assert done.returncode == 0, output
    results = {key: json.loads(value) for key, value in
               (line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)}
    assert results["model"] == "ready", output
    assert [item["detail"] for item in results["items"]] == ["Code Llama"], output
    assert results["line"] == "    return total + b  # the sum"
    assert results["stats"]["accepted"] == 1 and results["stats"]["accepted_from_changes"] == 1


def test_eglot_applies_the_next_edit_code_action_and_a_stale_one_is_refused(emacs, tiny_model,
                                                                             tmp_path):
    source = tmp_path / "total.py"
    text = ("def total(items):\n"
            "    count = 0\n"
            "    for item in items:\n"
            "        count += item\n"
            "    return count\n")
    source.write_text(text)
    options = {"model": str(tiny_model), "nextEdits": "rules"}
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "HOME": str(tmp_path),
           "CODELLAMA_SERVER": "\t".join([sys.executable, "-m", "codellama_lsp", "lsp"]),
           "CODELLAMA_OPTIONS": json.dumps(options), "CODELLAMA_FILE": str(source)}
    done = subprocess.run([emacs, "--batch", "-l", str(NEXT_EDIT_DRIVER)], env=env,
                          capture_output=True, text=True, timeout=400)
    output = done.stdout + done.stderr[-3000:]
    assert done.returncode == 0, output
    results: dict = {}
    for line in done.stdout.splitlines():
        if " " in line:
            key, value = line.split(" ", 1)
            results.setdefault(key, []).append(json.loads(value))
    assert results["model"] == ["ready"], output
    assert all("Apply next edit" in titles for titles in results["titles"]), output
    renamed_one = text.replace("count = 0", "n = 0")
    assert results["stale"] == [renamed_one], output  # refused: nothing else changed
    assert results["text"] == [text.replace("count", "n")], output  # one workspace edit
    (stats,) = results["stats"]
    assert stats["applied"] == 1 and stats["refused_stale"] == 1, output
