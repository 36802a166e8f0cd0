"""The VS Code extension's own tests (`npm test` in editors/vscode), run from pytest so that
`.ci/run` runs them: `tsc --noEmit`, unit tests on a stubbed `vscode` module, the wire-level test
that drives this repository's server with a tiny model through vscode-jsonrpc, and the `.vsix`
packaging. Skipped, with the reason, where Node.js 20+ or npm is missing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.support.paths import ROOT

pytestmark = pytest.mark.editors

EXTENSION = ROOT / "editors" / "vscode"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not found: the VS Code extension's tests need Node.js 20+ and npm")
    return path


def _node_major(node: str) -> int:
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
    match = re.match(r"v(\d+)\.", version.strip())
    return int(match.group(1)) if match else 0


def _run(command: list[str], timeout_s: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "CODELLAMA_PYTHON": sys.executable, "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run(command, cwd=EXTENSION, env=env, capture_output=True, text=True,
                          timeout=timeout_s)


@pytest.mark.slow
def test_vscode_extension_npm_test() -> None:
    node, npm = _tool("node"), _tool("npm")
    if _node_major(node) < 20:
        pytest.skip(f"Node.js 20+ needed for the VS Code extension's tests; found {node}")
    if not (EXTENSION / "node_modules").is_dir():
        installed = _run([npm, "ci", "--no-audit", "--no-fund"], timeout_s=600)
        assert installed.returncode == 0, f"npm ci failed:\n{installed.stdout}{installed.stderr}"
    result = _run([npm, "test"], timeout_s=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"npm test failed:\n{output[-6000:]}"
    # node's test runner's summary: every test ran and passed, none skipped.
    tests = re.search(r"^(?:#|ℹ) tests (\d+)$", output, re.M)
    passed = re.search(r"^(?:#|ℹ) pass (\d+)$", output, re.M)
    assert tests and passed and int(tests.group(1)) > 0, output[-3000:]
    assert passed.group(1) == tests.group(1), output[-3000:]
    assert re.search(r"^(?:#|ℹ) skipped 0$", output, re.M), output[-3000:]
