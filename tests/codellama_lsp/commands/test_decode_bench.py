"""`codellama bench decode` times the eager and the compiled decode step against the floor of
reading the weights once per token (on a GPU for the 7B shape; here a tiny shape on the CPU)."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import run_cli

pytestmark = pytest.mark.server


@pytest.mark.slow
def test_tiny_shape_on_the_cpu_reports_the_floor_and_both_steps():
    result = run_cli("bench", "decode", "--shape", "tiny", "--device", "cpu",
                     "--dtype", "float32", "--prompt-tokens", "100", "--new-tokens", "6", "--json",
                     timeout=600)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["weight_bytes"] == figures["parameters"] * 4  # float32
    assert figures["floor_ms_per_token"] > 0 and figures["bandwidth_measured"] is True
    eager, compiled = figures["runs"]["eager"], figures["runs"]["compiled"]
    assert len(eager["tokens"]) == 6
    assert compiled["same_tokens"] is True  # the compiled step decodes the same ids
    assert eager["vs_floor"] > 0 and compiled["ms_per_token"] > 0


@pytest.mark.parametrize("option, value, says", [
    ("--new-tokens", "1", "must be 2 or more"),
    ("--bandwidth-gbs", "0", "must be a number above 0"),
    ("--bandwidth-gbs", "nan", "must be a number above 0"),
    ("--shape", "70b", "invalid choice"),
    ("--device", "tpu", "auto, cpu, cuda"),
])
def test_bad_values_are_refused_in_one_line(option, value, says):
    result = run_cli("bench", "decode", "--shape", "tiny", option, value)
    assert result.returncode == 2
    assert says in result.stderr and "Traceback" not in result.stderr


def test_a_shape_that_cannot_fit_is_refused_before_it_is_allocated(monkeypatch):
    from codellama_lsp.benchmarks import decode
    from codellama_lsp.errors import UserError

    assert round(decode.parameter_count("7b") / 1e9, 2) == 6.74  # Code Llama 7B's count
    monkeypatch.setattr(decode, "_free_bytes", lambda device: 24 * 10**9)
    with pytest.raises(UserError, match="needs about 29.6 GB on cpu"):
        decode._check_memory("7b", "cpu", 4)
    decode._check_memory("tiny", "cpu", 4)  # 86 MB: fits
