"""Document-level FIM examples: the ids inference builds, in the paper's proportions."""

from __future__ import annotations

import itertools
import random

import pytest

from fim.prompt import FimFormat, build_prompt
from fim.tokenizer import load_tokenizer
from fim.training.fim_transform import PAD, fim_example, packed_rows, split_documents

pytestmark = pytest.mark.unit

SOURCE = '''import os


def join(*parts):
    """Join path parts."""
    return os.path.join(*parts)


class Box:
    def __init__(self, value):
        self.value = value
'''


def test_documents_keep_the_text_in_order_and_fit():
    documents = split_documents(SOURCE * 20, max_chars=300)
    assert "".join(documents) == SOURCE * 20
    assert all(len(d) <= 300 for d in documents)


def test_fim_examples_are_the_inference_prompt_then_the_middle_and_eot(tiny_model):
    tokenizer = load_tokenizer(tiny_model)
    fim = tokenizer.fim
    assert fim is not None
    seen = {"psm": 0, "spm": 0, "plain": 0}
    for seed in range(400):
        ids = fim_example(tokenizer, SOURCE, random.Random(seed))
        if ids[-1] == tokenizer.eos_id:
            assert ids == [tokenizer.bos_id] + tokenizer.encode(SOURCE) + [tokenizer.eos_id]
            seen["plain"] += 1
            continue
        assert ids[-1] == fim.eot and ids.count(fim.middle) == 1
        fmt = FimFormat.SPM if ids[2] == fim.suffix else FimFormat.PSM
        seen[fmt.value] += 1
        # Recover the split from the same draws and rebuild what inference would send.
        rng = random.Random(seed)
        rng.random()
        a, b = sorted(rng.randint(0, len(SOURCE)) for _ in range(2))
        prompt = build_prompt(tokenizer, SOURCE[:a], SOURCE[b:], fmt)
        assert ids[:len(prompt.ids)] == prompt.ids
        assert tokenizer.decode_infilling(ids[len(prompt.ids):-1]) == SOURCE[a:b]
    assert 0.85 <= (seen["psm"] + seen["spm"]) / 400 <= 0.95
    assert 0.4 <= seen["psm"] / (seen["psm"] + seen["spm"]) <= 0.6


def test_rows_pack_whole_examples_and_repeat_by_seed(tiny_model):
    tokenizer = load_tokenizer(tiny_model)
    documents = split_documents(SOURCE * 10, max_chars=200)
    rows = list(itertools.islice(packed_rows(tokenizer, documents, 96, seed=3), 12))
    assert all(len(row) == 96 for row in rows)
    assert all(row[0] == tokenizer.bos_id for row in rows)
    assert any(PAD in row for row in rows)
    again = list(itertools.islice(packed_rows(tokenizer, documents, 96, seed=3), 12))
    assert rows == again
    assert rows != list(itertools.islice(packed_rows(tokenizer, documents, 96, seed=4), 12))
