"""`codellama bench lsp` runs end to end and its typing figures keep their promises."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import run_cli

pytestmark = pytest.mark.server


@pytest.mark.slow
def test_bench_lsp_json(tiny_model):
    result = run_cli("bench", "lsp", "--json", "--model", str(tiny_model), "--requests", "2",
                     "--max-new-tokens", "2", "--keystroke-ms", "5", "--lines", "40",
                     timeout=300)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    latency = figures["latency"]
    assert latency["requests"] == 2
    assert latency["client_ms"]["p50"] > 0 and latency["ratio"]["of_medians"] > 0
    assert latency["same_text_as_engine_alone"] == "2/2"
    for typing in figures["typing"].values():
        assert typing["keystrokes"] == typing["requests"] == 50
        assert typing["generations_started"] <= 50
    assert figures["max_running_per_document"] == 1
