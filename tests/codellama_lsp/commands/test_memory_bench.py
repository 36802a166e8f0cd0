"""`codellama bench memory` runs end to end, its edits are ones the server applies as the client
means them, and growth beyond the limit fails the command."""

from __future__ import annotations

import json
import random

import pytest

from codellama_lsp.benchmarks.memory import edit, new_buffer, source_files, verdict
from codellama_lsp.lsp.documents import Change, Document
from codellama_lsp.syntax.positions import Encoding
from tests.support.cli import run_cli

pytestmark = pytest.mark.server


@pytest.mark.slow
def test_bench_memory_json(tiny_model):
    result = run_cli("bench", "memory", "--json", "--model", str(tiny_model),
                     "--documents", "12", "--edits", "120", "--complete-every", "20",
                     "--baseline-edits", "40", "--checkpoint-every", "40",
                     "--max-growth-mb", "1000", timeout=300)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["documents"] == figures["closed"] == 12
    assert figures["edits"] == 120 and figures["completions"] == 6
    assert [edits for edits, _ in figures["checkpoints"]] == [40, 80, 120]
    rss = figures["rss_mb"]
    assert rss["model_loaded"] > 0 and rss["growth"] == round(rss["end"] - rss["baseline"], 1)


@pytest.mark.slow
def test_bench_memory_tracemalloc_names_where_memory_is_held(tiny_model):
    result = run_cli("bench", "memory", "--json", "--model", str(tiny_model),
                     "--documents", "3", "--edits", "40", "--complete-every", "10",
                     "--baseline-edits", "20", "--max-growth-mb", "1000", "--tracemalloc",
                     timeout=300)
    assert result.returncode == 0, result.stderr
    sites = json.loads(result.stdout)["grew_most"]
    assert sites and all(site["where"] and ".py:" in site["where"][0] for site in sites)


def test_edits_land_in_the_server_as_the_client_holds_them():
    rng = random.Random(3)
    buffer = new_buffer(0, source_files(), rng)
    server = Document(buffer.uri, "python", 1, buffer.text)
    for _ in range(500):
        if rng.random() < 0.05:
            buffer.jump(rng)
        start, end, text = edit(buffer, rng)
        server.apply(Change(text, start, end), Encoding.UTF16)
        assert server.text == buffer.text


def test_growth_beyond_the_limit_exits_1_with_one_line(capsys):
    figures = {"rss_mb": {"growth": 61.0}, "max_growth_mb": 50.0, "baseline_edits": 1000}
    assert verdict(figures) == 1
    assert capsys.readouterr().err.count("\n") == 1
    assert verdict({**figures, "rss_mb": {"growth": 49.0}}) == 0
