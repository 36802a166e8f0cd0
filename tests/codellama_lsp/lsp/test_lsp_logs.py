"""What the server writes to stderr, which editors show as their log (VS Code every line of it
as an error): nothing for a request cancelled after its answer, and no traceback for a request
answered with an error on purpose (a failed edit), which is one line of the log instead."""

from __future__ import annotations

import pytest

from tests.support.raw_lsp import RawServer

pytestmark = pytest.mark.server

URI = "file:///never-opened.py"


def test_a_late_cancel_and_a_failed_edit_leave_stderr_quiet():
    raw = RawServer()
    try:
        raw.initialize()
        # Answered, then cancelled: what a client does when the user types on meanwhile.
        answered = raw.request("codellama/stats", {})
        assert "result" in raw.answer(answered)
        raw.notify("$/cancelRequest", {"id": answered})
        edit = raw.request("codellama/edit", {
            "textDocument": {"uri": URI}, "instruction": "add type hints",
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}}})
        error = raw.error(edit)
        assert URI in error["message"]
        raw.answer(raw.request("shutdown"))
        raw.notify("exit")
        assert raw.exit_code() == 0
        logged = [m["params"]["message"] for m in raw.seen
                  if m.get("method") == "window/logMessage" and "codellama/edit" in
                  m["params"]["message"]]
        assert len(logged) == 1 and "no edit" in logged[0] and URI in logged[0], logged
        stderr = raw.stderr()
        for noise in ("Cancel notification", "Traceback", "Exception occurred"):
            assert noise not in stderr, stderr
    finally:
        raw.close()
