"""Run an untrusted Python program: its own process, a temporary working directory, a time
limit and a memory limit. Good enough for benchmark solutions; not a security boundary."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

MEMORY_LIMIT_BYTES = 1 << 30  # address space: an unbounded allocation fails fast


def run_program(source: str, timeout: float) -> str:
    """"passed" if `source` exits with status 0 within `timeout` seconds; else why not."""
    with tempfile.TemporaryDirectory(prefix="codellama-eval-") as directory:
        path = os.path.join(directory, "program.py")
        with open(path, "w", encoding="utf-8") as file:
            file.write(source)
        try:
            done = subprocess.run([sys.executable, "-I", "program.py"], cwd=directory,
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=timeout, preexec_fn=_limit_memory,
                                  env={"PATH": os.environ.get("PATH", "")})
        except subprocess.TimeoutExpired:
            return "timed out"
    if done.returncode == 0:
        return "passed"
    lines = done.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit status {done.returncode}"


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
