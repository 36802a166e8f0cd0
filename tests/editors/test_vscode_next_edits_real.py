"""Next-edit suggestions in a real VS Code: code-server 4.139.1 (VS Code 1.139 in a browser) with
the .vsix packaged from this checkout, in Debian's chromium driven by playwright with the keys a
user presses. The server runs `nextEdits: "rules"`: renaming one `count` suggests the others,
model-free, so what is shown is deterministic.

Uses the harness tests/support/code_server.py; skipped, with the reason, where it or
code-server, Node.js 24, chromium or playwright is missing.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import ROOT
from tests.support.waiting import until

pytestmark = [pytest.mark.editors, pytest.mark.slow]

SOURCE = ("def total(items):\n"
          "    count = 0\n"
          "    for item in items:\n"
          "        count += item.count\n"
          "    print(count)\n"
          "    return count\n"
          "\n"
          "count = 3\n")
RENAMED_FIRST = SOURCE.replace("count = 0", "n = 0", 1)
RENAMED = RENAMED_FIRST.replace("count +=", "n +=").replace("print(count)", "print(n)") \
    .replace("return count", "return n")

# The editor's struck-through text (the deleted parts) and the text after lines (the new lines).
DRAWN = """() => {
  const lines = [...document.querySelectorAll('.monaco-editor .view-lines .view-line')];
  const struck = [], after = [];
  for (const line of lines) {
    for (const span of line.querySelectorAll('span')) {
      if (getComputedStyle(span).textDecorationLine.includes('line-through')
          && !span.querySelector('span')) { struck.push(span.textContent); }
      // Monaco draws an `after` decoration as injected text, or as ::after content.
      const content = getComputedStyle(span, '::after').content;
      if (content && content !== 'none' && content !== 'normal') { after.push(content); }
      else if (!span.querySelector('span') && span.textContent.startsWith('→')) {
        after.push(span.textContent);
      }
    }
  }
  return {struck, after};
}"""


def harness() -> Any:
    """tests/support/code_server.py, or a skip saying why it cannot run."""
    if importlib.util.find_spec("tests.support.code_server") is None:
        pytest.skip("the real-VS-Code harness tests/support/code_server.py is not in this "
                    "checkout (it comes with issue 19's branch)")
    from tests.support import code_server
    reason = code_server.missing()
    if reason:
        pytest.skip(reason)
    return code_server


@pytest.fixture(scope="module")
def workbench(tiny_model, tmp_path_factory) -> Iterator[tuple[Any, Path]]:
    """VS Code with the extension and next edits from the rules, the server ready; yields the
    workbench and the folder."""
    code_server = harness()
    work = tmp_path_factory.mktemp("vscode-next-edits")
    shots = tmp_path_factory.mktemp("vscode-next-edit-shots")
    print(f"\nVS Code screenshots: {shots}", file=sys.stderr)
    extensions, user_data, folder = work / "extensions", work / "user-data", work / "folder"
    folder.mkdir()
    for name in ("apply.py", "dismiss.py"):
        (folder / name).write_text(SOURCE)
    code_server.install_extension(code_server.package_extension(work), extensions, user_data)
    code_server.write_user_settings(user_data, {
        **code_server.quiet_settings(),
        # No ghost text: Tab is the next edit's, and nothing else is drawn.
        "editor.inlineSuggest.enabled": False,
        "codellama.server.python": sys.executable,
        "codellama.model": str(tiny_model),
        "codellama.nextEdits": "rules",
        "codellama.nextEditDelayMs": 100,
    })
    with code_server.open_workbench(work, extensions, user_data, folder, shots) as bench:
        yield bench, folder


@pytest.fixture(autouse=True)
def screenshot_at_the_end(request, workbench):
    """Each test's last screen, also (above all) where it failed."""
    yield
    workbench[0].screenshot(f"{request.node.name}-end")


def drawn(bench: Any) -> dict:
    return bench.page.evaluate(DRAWN)


def cursor_line(bench: Any) -> int:
    """The cursor's line (1-based) from the status bar's "Ln 4, Col 9"."""
    text = bench.page.locator('[id="status.editor.selection"]').inner_text()
    match = re.search(r"Ln (\d+)", text)
    return int(match.group(1)) if match else 0


def saved(bench: Any, path: Path) -> str:
    """Save the active editor (Ctrl+S) and read the file back."""
    bench.page.keyboard.press("Control+S")
    until(lambda: not bench.page.locator(".tab.active.dirty").count(), "the file saved")
    return path.read_text()


def rename_first(bench: Any, name: str) -> dict:
    """Open `name`, rename the first `count` to `n` with the keyboard; what is drawn then."""
    bench.open_file(name)
    for key in ("Control+Home", "ArrowDown", "Home", "Shift+Control+ArrowRight"):
        bench.page.keyboard.press(key)
    bench.page.keyboard.type("n")
    return until(lambda: (shown := drawn(bench))["struck"] and shown, "the next edit drawn")


def test_a_rename_shows_the_next_edit_and_tab_tab_applies_it_as_one_undo(workbench):
    bench, folder = workbench
    shown = rename_first(bench, "apply.py")
    bench.screenshot("next-edit-shown")
    assert shown["struck"] == ["count"] * 3, shown
    assert any("n += item.count" in text for text in shown["after"]), shown
    assert any("return n" in text for text in shown["after"]), shown
    assert cursor_line(bench) == 2
    bench.page.keyboard.press("Tab")
    until(lambda: cursor_line(bench) == 4, "Tab jumped to the edit")
    bench.screenshot("jumped")
    bench.page.keyboard.press("Tab")
    until(lambda: not drawn(bench)["struck"], "the edit applied")
    assert saved(bench, folder / "apply.py") == RENAMED
    bench.page.keyboard.press("Control+Z")
    assert until(lambda: (text := saved(bench, folder / "apply.py")) != RENAMED and text,
                 "undone") == RENAMED_FIRST


def test_escape_dismisses_the_next_edit(workbench):
    bench, folder = workbench
    rename_first(bench, "dismiss.py")
    bench.page.keyboard.press("Escape")
    until(lambda: not drawn(bench)["struck"] and not drawn(bench)["after"], "dismissed")
    assert saved(bench, folder / "dismiss.py") == RENAMED_FIRST
    assert cursor_line(bench) == 2
