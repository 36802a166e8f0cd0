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

from tests.support.paths import ROOT
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
    postinstalled = install_dir() / "node_modules" / "code-server" / "lib" / "vscode" \
        / "node_modules"
    if not launcher().exists() or not (node_bin() / "node").exists() or not postinstalled.is_dir():
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


def package_extension(out: Path) -> Path:
    """The extension's .vsix from this checkout (`npm run package`), as a user would get it."""
    extension = ROOT / "editors" / "vscode"
    npm = shutil.which("npm") or "npm"
    if not (extension / "node_modules").is_dir():
        installed = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=extension,
                                   capture_output=True, text=True, timeout=600)
        assert installed.returncode == 0, installed.stdout + installed.stderr
    vsix = out / "codellama.vsix"
    done = subprocess.run([npm, "run", "package", "--", "--out", str(vsix)], cwd=extension,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and vsix.is_file(), done.stdout + done.stderr
    return vsix


def extension_log(user_data: Path) -> str:
    """The "Code Llama" output channel as VS Code keeps it on disk (all windows, in order)."""
    logs = sorted(user_data.glob("logs/*/exthost*/codellama-lsp.codellama-vscode/Code Llama.log"))
    return "".join(path.read_text() for path in logs)


# Records every text the Code Llama status item shows (its aria-label: "... Code Llama: state"),
# from page load on, so that a test can say which states a start or restart went through.
RECORD_STATUS = """
window.__codellamaStates = [];
new MutationObserver(() => {
  const item = document.getElementById('ITEM_ID');
  const label = item && item.getAttribute('aria-label');
  const states = window.__codellamaStates;
  if (label && states[states.length - 1] !== label) { states.push(label); }
}).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
""".replace("ITEM_ID", STATUS_ITEM_ID)


# The id of the quick pick's row labelled exactly `label`, or null.
_ROW_LABELLED = """label => {
  for (const row of document.querySelectorAll('.quick-input-list .monaco-list-row')) {
    const name = row.querySelector('.label-name');
    if (name && name.textContent.replace(/\\u00a0/g, ' ').trim() === label) { return row.id; }
  }
  return null;
}"""


class Workbench:
    """A VS Code window in a playwright page: keys, commands, what the editor and the status
    item show, and screenshots kept under `shots`."""

    def __init__(self, page: Any, shots: Path) -> None:
        self.page = page
        self.shots = shots
        self.shots.mkdir(parents=True, exist_ok=True)

    def screenshot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def wait_ready(self, timeout_s: float = 120) -> None:
        """The workbench is up and its editor area can take keys."""
        self.page.wait_for_selector(".monaco-workbench .part.editor", timeout=timeout_s * 1000)

    def command(self, title: str) -> None:
        """Run a command by its title from the command palette (F1)."""
        self.page.keyboard.press("F1")
        box = self.page.locator(".quick-input-widget input")
        box.wait_for(state="visible")
        box.fill(f">{title}")
        self._pick(title)

    def _pick(self, label: str) -> None:
        """Click the row of the open quick pick whose label is `label` (not merely contains
        it: "File: Save" is not "File: Save All"). The list re-renders as results come in: the
        row is looked up and clicked in one short try, retried."""
        def clicked() -> bool:
            row = self.page.evaluate(_ROW_LABELLED, label)
            if not row:
                return False
            self.page.locator(f'[id="{row}"]').click(timeout=2000)
            return True
        until(clicked, f"{label!r} picked in the quick pick", ignore=(Exception,))

    def open_file(self, name: str) -> None:
        """Quick Open (Ctrl+P) a file of the folder; waits until its editor has focus."""
        self.page.keyboard.press("Control+P")
        box = self.page.locator(".quick-input-widget input")
        box.wait_for(state="visible")
        box.fill(name)
        self._pick(name)
        self.page.locator(f'.tab.active[aria-label^="{name}"]').wait_for()
        self.page.locator(".monaco-editor textarea.inputarea, .monaco-editor .native-edit-context"
                          ).first.wait_for(state="attached")
        until(lambda: self.page.evaluate(
            "() => !!document.activeElement?.closest('.monaco-editor')"), "the editor has focus")

    def status(self) -> str:
        """The Code Llama status item's state line ("Code Llama: ready", ...)."""
        label = self.page.locator(f'[id="{STATUS_ITEM_ID}"]').get_attribute("aria-label") or ""
        match = re.search(r"Code Llama: [^\n]*", label)
        return match.group(0) if match else label

    def status_history(self) -> list[str]:
        """Every label the status item showed since the page loaded (RECORD_STATUS)."""
        return list(self.page.evaluate("() => window.__codellamaStates || []"))

    def ghost_text(self) -> str:
        """The inline suggestion's text shown in the editor ("" when none)."""
        parts = self.page.locator(".monaco-editor .ghost-text-decoration, "
                                  ".monaco-editor .ghost-text-decoration-preview")
        return "".join(parts.all_inner_texts()).replace("\u00a0", " ")

    def notifications(self) -> list[str]:
        """The notification toasts shown now."""
        return [text.replace("\u00a0", " ") for text in
                self.page.locator(".notification-toast .notification-list-item-message"
                                  ).all_inner_texts()]


@contextmanager
def open_workbench(workdir: Path, extensions: Path, user_data: Path, folder: Path,
                   shots: Path) -> Iterator[Workbench]:
    """code-server on `folder` with this checkout's server, in headless chromium: the workbench
    once the extension's status item says the server is ready."""
    from playwright.sync_api import sync_playwright

    env = {"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with code_server(workdir, extensions, user_data, folder, env) as url, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(60_000)
            page.add_init_script(RECORD_STATUS)
            page.goto(url)
            bench = Workbench(page, shots)
            bench.wait_ready()
            until(lambda: bench.status() == "Code Llama: ready", "the server ready (status item)",
                  timeout_s=120)
            yield bench
        finally:
            browser.close()
