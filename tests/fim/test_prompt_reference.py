"""Prompt ids equal Meta's reference construction on the real-layout Code Llama tokenizer."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codellama_lsp.completion.cursor_prompt import prompt_for_cursor
from fim.prompt import FimFormat, build_prompt
from tests.support.cli import run_cli
from tests.support.reference import infilling_prompt_tokens

pytestmark = pytest.mark.server

PUBLISHED_PSM = [int(i) for i in (
    "1 32007 822 3349 29918 5464 29918 294 18869 29898 29879 29901 851 29897 1599 851 29901 13 "
    "1678 9995 29871 32008 13 1678 736 1121 13 32009").split()]

# (prefix, suffix) pairs covering what editors send.
CASES = {
    "published": ('def remove_non_ascii(s: str) -> str:\n    """ ', "\n    return result\n"),
    "empty_prefix": ("", "    return x\n"),
    "empty_suffix": ("def f(x):\n    return ", ""),
    "both_empty": ("", ""),
    "tabs": ("def f():\n\tif x:\n\t\t", "\n\treturn y\n"),
    "non_ascii": ("# café — naïve 😀\ns = '", "日本語'\n"),
    "suffix_leading_spaces": ("x = [", "    1, 2]\n"),
    "prefix_trailing_spaces": ("if x:\n        ", "  \n"),
    "suffix_starts_newline": ("a = 1", "\n\nb = 2"),
    "whitespace_runs": ('    """ \n\n\n   ', '\t \t  """\n'),
}


def test_fim_ids_are_looked_up_by_piece(ours):
    assert (ours.fim.prefix, ours.fim.suffix, ours.fim.middle, ours.fim.eot) == (
        32007, 32008, 32009, 32010)
    assert (ours.bos_id, ours.eos_id) == (1, 2)


def test_published_reference_vector(ours):
    prefix, suffix = CASES["published"]
    assert build_prompt(ours, prefix, suffix, FimFormat.PSM).ids == PUBLISHED_PSM


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("fmt", [FimFormat.PSM, FimFormat.SPM])
def test_cases_equal_reference(ours, ref, name, fmt):
    prefix, suffix = CASES[name]
    expected = infilling_prompt_tokens(ref, prefix, suffix, suffix_first=fmt is FimFormat.SPM)
    assert build_prompt(ours, prefix, suffix, fmt).ids == expected


def test_empty_sides_keep_every_sentinel(ours):
    ids = build_prompt(ours, "", "", FimFormat.PSM).ids
    assert ids == [1, 32007, 32008, 32009]
    assert build_prompt(ours, "", "", FimFormat.SPM).ids == [1, 32007, 32008, 32009]


def _write(tmp_path, text: str, newline: str = "\n"):
    path = tmp_path / "example.py"
    path.write_bytes(text.replace("\n", newline).encode())
    return path


@pytest.mark.parametrize("spm", [False, True])
def test_cli_prompt_raw_equals_reference(tmp_path, codellama_tokenizer_path, ref, spm):
    text = 'def remove_non_ascii(s: str) -> str:\n    """ \n    return result\n'
    path = _write(tmp_path, text)
    args = ["prompt", f"{path}:2:9", "--tokenizer", str(codellama_tokenizer_path), "--raw",
            "--json", "--fim", "spm" if spm else "psm"]
    out = run_cli(*args)
    assert out.returncode == 0, out.stderr
    ids = json.loads(out.stdout)["ids"]
    prefix, suffix = CASES["published"]
    assert ids == infilling_prompt_tokens(ref, prefix, suffix, suffix_first=spm)
    if not spm:
        assert ids == PUBLISHED_PSM


def test_cli_prompt_crlf_file_is_sent_with_lf(tmp_path, codellama_tokenizer_path, ref):
    path = _write(tmp_path, "def f(a):\n    return a\n\nprint(f(1))\n", newline="\r\n")
    out = run_cli("prompt", f"{path}:2:5", "--tokenizer", str(codellama_tokenizer_path),
                  "--raw", "--json", "--fim", "psm")
    assert out.returncode == 0, out.stderr
    expected = infilling_prompt_tokens(ref, "def f(a):\n    ", "return a\n\nprint(f(1))\n")
    assert json.loads(out.stdout)["ids"] == expected


def test_cli_prompt_column_counts_characters(tmp_path, codellama_tokenizer_path, ref):
    path = _write(tmp_path, "s = '😀é' + x\n")
    out = run_cli("prompt", f"{path}:1:8", "--tokenizer", str(codellama_tokenizer_path),
                  "--raw", "--json", "--fim", "psm")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["ids"] == infilling_prompt_tokens(ref, "s = '😀é", "' + x\n")


code_text = st.text(alphabet=st.sampled_from(list("abcXYZ_019 \t\n\r()[]{}:;,.'\"#=+-*/<>!éü😀日")),
                    max_size=80)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=code_text, suffix=code_text, spm=st.booleans())
def test_unseen_cases_equal_reference(ours, ref, prefix, suffix, spm):
    """Texts nobody listed: the whole cursor path (LF normalisation, budget) matches Meta's."""
    fmt = FimFormat.SPM if spm else FimFormat.PSM
    prompt = prompt_for_cursor(ours, prefix, suffix, fmt, 4096, 128)
    lf = lambda s: s.replace("\r\n", "\n").replace("\r", "\n")  # noqa: E731
    assert prompt.ids == infilling_prompt_tokens(ref, lf(prefix), lf(suffix), suffix_first=spm)


@settings(max_examples=200, deadline=None)
@given(text=code_text)
def test_decode_infilling_keeps_leading_space(ours, ref, text):
    text = text.replace("\r", "")
    ids = ref.encode_infilling(text)
    assert ours.decode_infilling(ids) == ref.decode_infilling(ids)
