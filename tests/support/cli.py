"""Run the real `codellama` command line from this checkout, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.paths import ROOT


def run_cli(*args: str, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `codellama ARGS...` as a user would, from this checkout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "codellama_lsp", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=timeout)
