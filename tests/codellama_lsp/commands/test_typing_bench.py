"""`codellama bench typing` types through the real server, with KV reuse on and off, and with
next edits asked and not, or token healing on and off, in interleaved rounds."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import run_cli

pytestmark = pytest.mark.server

SOURCE = '''import math


def area(radius):
    """The area of a circle."""
    return math.pi * radius ** 2


def circumference(radius):
    total = 2 * math.pi * radius
    return total
'''


def bench_typing(tiny_model, tmp_path, *options: str, timeout: float = 400):
    """`codellama bench typing` on SOURCE (written to tmp_path) with the tiny model."""
    source = tmp_path / "shapes.py"
    source.write_text(SOURCE, encoding="utf-8")
    return run_cli("bench", "typing", str(source), "--model", str(tiny_model), *options,
                   timeout=timeout)



@pytest.mark.slow
def test_typing_reuses_the_prompt_and_suggests_the_same(tiny_model, tmp_path):
    result = bench_typing(tiny_model, tmp_path, "--chars", "6", "--line", "10",
                          "--max-new-tokens", "4", "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    on, off = figures["runs"]["reuse_on"], figures["runs"]["reuse_off"]
    assert on["keystrokes"] == off["keystrokes"] == 6
    assert on["model_calls_per_keystroke"] <= 1
    assert on["prompt_tokens"] == off["prompt_tokens"] > 0
    assert on["generated_tokens"] == off["generated_tokens"] > 0  # the same answers
    assert off["prompt_tokens_reused"] == 0
    assert on["prompt_tokens_reused"] > on["prompt_tokens"] // 2
    assert figures["same_suggestions"] is True
    along = on["typing_along_suggestion"]  # typing what the ghost text shows: the cache answers
    assert along["keystrokes"] > 0
    assert along["answered_from_cache"] == along["keystrokes"]


def test_a_blank_line_to_type_is_refused(tiny_model, tmp_path):
    result = bench_typing(tiny_model, tmp_path, "--line", "2")
    assert result.returncode == 2
    assert "line 2 is blank" in result.stderr


@pytest.mark.slow
def test_next_edits_are_measured_interleaved_in_one_server_and_show_nothing_while_typing(
        tiny_model, tmp_path):
    result = bench_typing(tiny_model, tmp_path, "--chars", "6", "--line", "10",
                          "--max-new-tokens", "4", "--reuse", "on", "--next-edits", "rules",
                          "--rounds", "4", "--pauses", "2", "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert set(figures["runs"]) == {"reuse_on", "next_edits", "next_edits_off"}
    assert "next_edits" not in figures["runs"]["reuse_on"]  # the run with them off
    on, off = figures["runs"]["next_edits"], figures["runs"]["next_edits_off"]
    # ABBA: two rounds of 6 keys each way, each round with the same prompts as the others:
    # the suggestion cache is emptied between rounds, so every round runs the model alike.
    assert on["rounds"] == off["rounds"] == 2
    assert on["keystrokes"] == off["keystrokes"] == 12
    assert on["prompt_tokens"] == off["prompt_tokens"] > 0
    assert on["generated_tokens"] == off["generated_tokens"] > 0
    assert figures["next_edits_rounds"] == 4
    assert figures["next_edits_same_suggestions"] is True
    asked = on["next_edits"]
    assert asked["asked_while_typing"] == 12 and asked["shown_while_typing"] == 0
    assert "next_edits" not in off
    assert asked["pauses"] == 2 and asked["server_latency_ms"]["count"] == 2
    assert asked["pause_to_suggestion_ms"]["p50"] is not None
    assert figures["next_edits_ratio"] == round(
        on["time_to_suggestion_ms"]["p50"] / off["time_to_suggestion_ms"]["p50"], 3)
    assert figures["next_edits_control"] is False


@pytest.mark.slow
def test_the_control_run_asks_for_next_edits_in_both_arms(tiny_model, tmp_path):
    result = bench_typing(tiny_model, tmp_path, "--chars", "4", "--line", "10",
                          "--max-new-tokens", "4", "--reuse", "on", "--next-edits", "rules",
                          "--control", "--rounds", "2", "--pauses", "1")
    assert result.returncode == 0, result.stderr
    # Both rounds of 4 keys asked (A and B), and the report says it is the A/A control.
    assert "next edits: 8 asked while typing" in result.stdout
    assert "asked in both arms (A/A control)" in result.stdout


def test_the_control_run_needs_next_edits(tiny_model, tmp_path):
    result = bench_typing(tiny_model, tmp_path, "--line", "10", "--control", "--reuse", "on")
    assert result.returncode == 2
    assert "--control needs --next-edits" in result.stderr


@pytest.mark.slow
def test_token_healing_is_measured_interleaved_in_one_server(tiny_model, tmp_path):
    result = bench_typing(tiny_model, tmp_path, "--chars", "6", "--line", "10",
                          "--max-new-tokens", "4", "--reuse", "on", "--compare-healing",
                          "--rounds", "4", "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert set(figures["runs"]) == {"reuse_on", "healing", "healing_off"}
    on, off = figures["runs"]["healing"], figures["runs"]["healing_off"]
    # ABBA over 4 rounds: two rounds of the 6 keys of "total " each way, the suggestion cache
    # emptied before each, so the model runs alike in every round of an arm.
    assert on["rounds"] == off["rounds"] == 2
    assert on["keystrokes"] == off["keystrokes"] == 12
    assert figures["healing_rounds"] == 4 and figures["healing_same_suggestions"] is True
    # Typing "total", the cursor stands inside a word: the setting switches healing per round.
    assert on["healed"] > 0 and off["healed"] == 0
    for arm in (on, off):
        assert arm["generated_tokens"] > 0 and arm["model_ms_per_token"] > 0
        assert 0 < arm["first_token_ms"]["p50"] < arm["model_ms"]["p95"]
    assert figures["healing_ratio"] == round(
        on["time_to_suggestion_ms"]["p50"] / off["time_to_suggestion_ms"]["p50"], 3)
    assert figures["healing_model_ratio"] == round(
        on["model_ms"]["p50"] / off["model_ms"]["p50"], 3)
    assert figures["healing_ratio_per_token"] == round(
        on["model_ms_per_token"] / off["model_ms_per_token"], 3)
    assert figures["healing_first_token_ratio"] == round(
        on["first_token_ms"]["p50"] / off["first_token_ms"]["p50"], 3)
    assert figures["runs"]["reuse_on"]["healed"] > 0  # the server's default: healing on
    paired = on["paired_first_token"]
    assert paired["keystrokes"] == off["paired_first_token"]["keystrokes"]
    assert 0 < paired["keystrokes"] <= 6
    assert figures["healing_paired_first_token_ratio"] == round(
        paired["p50"] / off["paired_first_token"]["p50"], 3)


@pytest.mark.parametrize("interleaved", [("--next-edits", "rules"), ("--compare-healing",)])
def test_interleaved_runs_need_two_rounds(tiny_model, tmp_path, interleaved):
    result = bench_typing(tiny_model, tmp_path, "--line", "10", *interleaved, "--rounds", "1",
                          "--reuse", "on")
    assert result.returncode == 2
    assert "--rounds must be at least 2" in result.stderr
