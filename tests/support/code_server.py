"""A real VS Code for tests: code-server 4.139.1 (VS Code 1.139 served to a browser) with the
extension's .vsix installed, shown in Debian's chromium and driven with PyPI playwright.

`.ci/install_code_server.sh` installs code-server and its Node.js 24 into
~/.cache/codellama-ci/code-server-4.139.1 (CODELLAMA_CODE_SERVER_DIR names another install);
`missing()` says what is absent, for a skip. User settings go in `<user-data-dir>/User/
settings.json` before start. With workspace trust on (VS Code's default) a new folder opens in
Restricted Mode, where an extension that does not declare untrusted-workspace support is not
activated and machine settings (the server's interpreter) are ignored: the settings turn trust off.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.waiting import until

VERSION = "4.139.1"
CHROMIUM = Path("/usr/bin/chromium")
STATUS_ITEM_ID = "codellama-lsp.codellama-vscode"  # the extension's id: its status item's


def install_dir() -> Path:
    named = os.environ.get("CODELLAMA_CODE_SERVER_DIR")
    if named:
        return Path(named)
    cache = os.environ.get("CODELLAMA_CI_CACHE", str(Path.home() / ".cache" / "codellama-ci"))
    return Path(cache) / f"code-server-{VERSION}"


def launcher() -> Path:
    return install_dir() / "node_modules" / ".bin" / "code-server"


def node_bin() -> Path:
    return install_dir() / "node24" / "node_modules" / "node" / "bin"


def missing() -> str | None:
    """Why a real VS Code cannot run here (None: everything is there)."""
    if not launcher().exists() or not (node_bin() / "node").exists():
        return (f"code-server {VERSION} with Node.js 24 is not installed in {install_dir()}: "
                "run .ci/install_code_server.sh")
    if not CHROMIUM.exists():
        return f"no browser: {CHROMIUM} is missing (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "PyPI playwright is not installed (pip install -e '.[test]')"
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node and npm (Node.js 20+) are needed to package the extension"
    return None


def install_extension(vsix: Path, extensions: Path, user_data: Path) -> None:
    """`code-server --install-extension`, as a user installs the .vsix."""
    done = subprocess.run([str(launcher()), "--extensions-dir", str(extensions),
                           "--user-data-dir", str(user_data), "--install-extension", str(vsix)],
                          env=_env({}), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "successfully installed" in done.stdout, \
        done.stdout + done.stderr


def write_user_settings(user_data: Path, settings: dict[str, Any]) -> Path:
    path = user_data / "User" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2))
    return path


def quiet_settings() -> dict[str, Any]:
    """VS Code settings for a test: trusted folder, nothing opening by itself, no other
    suggestions (the completion menu would take Tab), and the inline suggestions' toolbar (its
    "1/3") always shown."""
    return {
        "security.workspace.trust.enabled": False,
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": False,
        "chat.disableAIFeatures": True,
        "workbench.secondarySideBar.defaultVisibility": "hidden",
        "extensions.autoCheckUpdates": False,
        "extensions.autoUpdate": False,
        "update.mode": "none",
        "telemetry.telemetryLevel": "off",
        "editor.quickSuggestions": {"other": "off", "comments": "off", "strings": "off"},
        "editor.suggestOnTriggerCharacters": False,
        "editor.wordBasedSuggestions": "off",
        "editor.autoClosingBrackets": "never",
        "editor.autoClosingQuotes": "never",
        "editor.inlineSuggest.showToolbar": "always",
        "files.autoSave": "off",
    }


def _env(extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, "PATH": f"{node_bin()}{os.pathsep}{os.environ.get('PATH', '')}",
            **extra}


@contextmanager
def code_server(workdir: Path, extensions: Path, user_data: Path, folder: Path,
                env: dict[str, str]) -> Iterator[str]:
    """code-server on a free port, serving `folder`; yields the URL that opens it."""
    config = workdir / "code-server.yaml"  # not the user's ~/.config/code-server
    config.write_text("")
    process = subprocess.Popen(
        [str(launcher()), "--config", str(config), "--auth", "none",
         "--bind-addr", "127.0.0.1:0", "--user-data-dir", str(user_data),
         "--extensions-dir", str(extensions), "--disable-telemetry", str(folder)],
        env=_env(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.extend(stdout), daemon=True).start()
    try:
        port = until(lambda: next((m.group(1) for line in list(lines) if (
            m := re.search(r"HTTP server listening on http://127\.0\.0\.1:(\d+)", line))), None),
            "code-server listening", timeout_s=60)
        yield f"http://127.0.0.1:{port}/?folder={folder}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
