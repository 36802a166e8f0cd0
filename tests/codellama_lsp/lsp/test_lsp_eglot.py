"""Real eglot (Emacs 28 in batch mode, eglot 1.9) against the server: a completion item is
inserted whole, and its acceptance is counted though eglot never runs the item's command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.engines import FakeServingEngine
from tests.support.paths import ROOT

EMACS = shutil.which("emacs")
ELPA = Path("/usr/share/emacs/site-lisp/elpa")
SCRIPT = Path(__file__).with_name("eglot_completion.el")
pytestmark = pytest.mark.skipif(
    EMACS is None or not any(ELPA.glob("eglot-*")),
    reason="no emacs with eglot (apt-get install emacs-nox elpa-eglot)")


def test_eglot_inserts_the_whole_suggestion_and_its_acceptance_is_counted(tiny_model,
                                                                          tmp_path):
    answer = {"generated_text": "al + b  # the sum", "details": {
        "finish_reason": "eos_token", "generated_tokens": 5}}
    engine = FakeServingEngine({("POST", "/generate"): lambda body: (200, answer, {})})
    source = tmp_path / "calc.py"
    source.write_text("def add(a, b):\n    return tot\n")
    options = {"engine": "tgi+" + engine.url, "model": str(tiny_model), "debounceMs": 0}
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "EGLOT_FILE": str(source),
           "EGLOT_PYTHON": sys.executable, "EGLOT_OPTIONS": json.dumps(options),
           "HOME": str(tmp_path)}
    try:
        done = subprocess.run([EMACS, "--batch", "-Q", "-l", str(SCRIPT)], env=env,
                              capture_output=True, text=True, timeout=300)
    finally:
        engine.close()
    results = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    assert "model" in results, done.stderr[-3000:]
    assert json.loads(results["model"]) == "ready"
    assert json.loads(results["line"]) == "    return total + b  # the sum"
    stats = json.loads(results["stats"])
    assert stats["accepted"] == 1 and stats["accepted_from_changes"] == 1
