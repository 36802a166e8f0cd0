"""`codellama bench dtype` times a cold prompt and a token in float32 and in bfloat16 with the
same weights, and compares the demo model's greedy ids in both."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import run_cli

pytestmark = pytest.mark.server


@pytest.mark.slow
def test_both_dtypes_are_timed_and_their_greedy_ids_compared():
    result = run_cli("bench", "dtype", "--prompt-tokens", "60", "--new-tokens", "4",
                     "--repeats", "1", "--prompts", "3", "--json", timeout=600)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    speed, greedy = figures["speed"], figures["greedy"]
    for dtype in ("float32", "bfloat16"):
        assert speed[dtype]["prefill_ms"] > 0 and speed[dtype]["ms_per_token"] > 0
    assert speed["prefill_ratio"] > 0
    assert greedy["prompts"] == 3 and 0 <= greedy["identical_ids"] <= 1


def test_fim_cuts_are_reproducible_and_cut_real_code():
    from codellama_lsp.benchmarks.dtype import fim_cuts

    cuts = fim_cuts(6)
    assert cuts == fim_cuts(6) and len(cuts) == 6
    assert all(prefix and suffix for prefix, suffix in cuts)
