"""`bench typing`'s interleaved rounds: the arms alternate ABBA..., each round starts from the
emptied line with the arm's settings taken and the suggestion cache emptied."""

from __future__ import annotations

import pytest

from codellama_lsp.benchmarks.typing import _rounds

pytestmark = pytest.mark.unit


class RecordingSession:
    """What `_rounds` sends a server, in order; every key is answered by the model."""

    def __init__(self) -> None:
        self.sent: list[tuple] = []
        self.generations = 0

    def change(self, uri, version, start, end, text) -> None:
        self.sent.append(("reset", start, end, text))

    def insert(self, uri, version, line, character, text) -> None:
        self.sent.append(("key", text))

    async def complete(self, uri, line, character) -> list[str]:
        self.generations += 1
        return [f"answer {self.generations}"]

    async def stats(self) -> dict:
        return {"generations": self.generations, "cache_hits": 0, "generated_tokens": 0}


async def test_rounds_alternate_abba_each_from_the_emptied_line_after_its_arm_is_prepared():
    session = RecordingSession()

    async def prepare(arm: bool) -> None:
        session.sent.append(("prepare", arm))

    arms, rounds, version = await _rounds(session, "file:///x.py", 3, 4, "ab", 8, prepare)
    prepared = [entry[1] for entry in session.sent if entry[0] == "prepare"]
    # A warm-up round first, as the arm B and not counted (a server's first round runs slower,
    # and it would otherwise always fall to the arm A); then ABBA ABBA.
    assert prepared == [False, True, False, False, True, True, False, False, True]
    assert [arm for arm, _ in rounds] == prepared[1:]
    assert arms[True].rounds == arms[False].rounds == 4
    assert len(arms[True].keys) == len(arms[False].keys) == 8
    # Every round but the first starts by emptying the line typed, then prepares, then types.
    assert session.sent[:4] == [("prepare", False), ("key", "a"), ("key", "b"),
                                ("reset", (3, 4), (3, 6), "")]
    assert session.sent[4] == ("prepare", True)
    assert version == 1 + 9 * 2 + 8  # each key and each reset is a new document version
