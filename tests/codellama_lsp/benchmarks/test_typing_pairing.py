"""`bench typing --compare-healing` pairs keystrokes: the time to the first token counts only
at positions of the typed line where the model ran in every round of both arms."""

from __future__ import annotations

import pytest

from codellama_lsp.benchmarks.typing import Key, _paired_first_tokens

pytestmark = pytest.mark.unit


def keys(*rounds: list[tuple[str, float | None]]) -> list[Key]:
    return [Key(1.0, by, first) for round_ in rounds for by, first in round_]


def test_only_keystrokes_where_the_model_ran_in_every_round_of_both_arms_count():
    # Three keys a round, two rounds an arm. Key 0: the model in all four rounds; key 1: a
    # cache hit in one round of the arm B; key 2: the model in every round of A only.
    on = keys([("model", 10.0), ("model", 50.0), ("model", 60.0)],
              [("model", 12.0), ("model", 52.0), ("model", 62.0)])
    off = keys([("model", 20.0), ("model", 70.0), ("cache", None)],
               [("model", 22.0), ("cache", None), ("cache", None)])
    paired_on, paired_off = _paired_first_tokens(on, off, 3)
    # Key 0's times only (nearest-rank percentiles of two values).
    assert paired_on == {"keystrokes": 1, "p50": 10.0, "p95": 12.0}
    assert paired_off == {"keystrokes": 1, "p50": 20.0, "p95": 22.0}


def test_no_common_keystroke_gives_no_figure():
    on = keys([("cache", None), ("model", 5.0)])
    off = keys([("model", 5.0), ("cache", None)])
    assert _paired_first_tokens(on, off, 2) == (
        {"keystrokes": 0, "p50": None, "p95": None},
        {"keystrokes": 0, "p50": None, "p95": None})
