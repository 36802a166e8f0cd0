"""A document's prompt without cross-file context has exactly the raw prompt's ids (the line by
line encoding changes nothing), checked against Meta's reference construction."""

from __future__ import annotations

import random
import sysconfig
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codellama_lsp.completion.cursor_prompt import document_prompt, prompt_for_cursor
from codellama_lsp.completion.line_tokens import LineTokenizer, line_tokenizer
from codellama_lsp.syntax.parsed import ParsedDocument
from fim.prompt import FimFormat
from fim.tokenizer import load_tokenizer
from tests.support.reference import ReferenceTokenizer, infilling_prompt_tokens

pytestmark = pytest.mark.unit

code_text = st.text(alphabet=st.sampled_from(list("abcXYZ_019 \t\n\r()[]{}:;,.'\"#=+-*/<>!éü😀日")),
                    max_size=120)


@pytest.fixture(scope="module")
def real(codellama_tokenizer_path):
    return load_tokenizer(codellama_tokenizer_path), ReferenceTokenizer(codellama_tokenizer_path)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=code_text, suffix=code_text, spm=st.booleans())
def test_document_prompt_equals_reference(real, prefix, suffix, spm):
    ours, ref = real
    fmt = FimFormat.SPM if spm else FimFormat.PSM
    document = ParsedDocument(prefix + suffix, "python")
    built = document_prompt(ours, document, len(prefix), fmt, 4096, 128, snippets=None)
    lf = lambda s: s.replace("\r\n", "\n").replace("\r", "\n")  # noqa: E731
    assert built.prompt.ids == infilling_prompt_tokens(ref, lf(prefix), lf(suffix),
                                                       suffix_first=spm)


@pytest.mark.parametrize("window", [4096, 700, 300])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_document_prompt_equals_raw_prompt_on_real_files(real, window, newline):
    """Only the lines that can fit are read; the window is still the one the budget gives."""
    ours, _ = real
    text = (Path(sysconfig.get_paths()["stdlib"]) / "argparse.py").read_text()
    text = text.replace("\n", newline)
    rng = random.Random(0)
    document = ParsedDocument(text, "python")
    for _ in range(10):
        offset = rng.randrange(len(text))
        for fmt in FimFormat:
            raw = prompt_for_cursor(ours, text[:offset], text[offset:], fmt, window, 64)
            assert document_prompt(ours, document, offset, fmt, window, 64).prompt.ids \
                == raw.ids


def test_line_tokenizer_is_used_only_where_exact(tiny_model):
    tiny = load_tokenizer(tiny_model)
    fast = line_tokenizer(tiny)
    assert isinstance(fast, LineTokenizer)
    text = (Path(sysconfig.get_paths()["stdlib"]) / "textwrap.py").read_text()
    rng = random.Random(1)
    for _ in range(50):
        a = rng.randrange(len(text))
        piece = text[a:a + rng.randrange(3000)]
        assert fast.encode(piece) == tiny.encode(piece)
        assert fast.encode_infilling(piece) == tiny.encode_infilling(piece)


def test_line_tokenizer_memory_is_bounded_however_many_lines_it_sees(tiny_model):
    """A long session shows the cache ever new lines: what it keeps stays bounded (about 1 KB
    a line here), not every line it ever saw."""
    fast = LineTokenizer(load_tokenizer(tiny_model))
    tracemalloc.start()
    try:
        for i in range(40_000):
            fast.encode_infilling(f"    total_{i} = compute(values[{i}], scale={i * 7})\n")
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert held < 32 * 1024 * 1024  # 62 MB when it kept 1 << 17 lines


def _recomputed_keys(tokenizer, text: str, offset: int, typed: str, fmt: FimFormat) -> int:
    """Keystrokes (typing `typed` at `offset`) after which the prompt changed before its last
    line: the ids a KV cache kept from the previous prompt stop being of use there."""
    changed, previous = 0, None
    for n in range(len(typed) + 1):
        document = ParsedDocument(text[:offset] + typed[:n] + text[offset:], "python")
        ids = document_prompt(tokenizer, document, offset + n, fmt, 4096, 64).prompt.ids
        if previous is not None:
            same = next((i for i, (a, b) in enumerate(zip(previous, ids)) if a != b),
                        min(len(ids), len(previous)))
            changed += same < len(previous) - 40  # more than the cursor's line changed
        previous = ids
    return changed


def test_typing_keeps_the_windows_far_edges_in_place(real):
    """In SPM order only the prompt's tail changes while typing in a file larger than the
    window, also across a new line (without fixed edges, 4 keys of these 64 moved them)."""
    tokenizer = real[0]
    text = Path(sysconfig.get_paths()["stdlib"], "textwrap.py").read_text(encoding="utf-8")
    offset = text.index("\n", len(text) // 2) + 1
    typed = "        total = compute(values, scale)\n        if total > limit:"
    assert _recomputed_keys(tokenizer, text, offset, typed, FimFormat.SPM) <= 1
