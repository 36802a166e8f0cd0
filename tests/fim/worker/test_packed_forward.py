"""The packed forward pass: rows with different numbers of new ids (decoding rows and a prompt
riding along) give each row the logits it would get alone, through transformers' own forward;
grouped-query attention too; a model not built as Llama keeps transformers' padded pass."""

from __future__ import annotations

import pytest

from fim.engines.decoding import Forward
from fim.worker.packed_forward import supports
from fim.worker.row_batch import PAD_ID, RowBatch

pytestmark = pytest.mark.unit


def _random_llama(kv_heads: int):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=300, hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=kv_heads, max_position_embeddings=512)
    return LlamaForCausalLM(config).eval()


def _check_rows_answer_as_alone(model) -> None:
    """Three rows prefilled together (5, 30, 12 ids), a step, then a step in which two decode
    and a fourth row's 9-id prompt rides along: each row's logits as its ids alone give."""
    import torch

    torch.manual_seed(1)
    forward = Forward(model)
    prompts = [torch.randint(3, 250, (n,)).tolist() for n in (5, 30, 12)]
    rider = torch.randint(3, 250, (9,)).tolist()
    with torch.no_grad():
        batch = RowBatch.of_caches(model, [None] * 3, [0] * 3)
        width = max(map(len, prompts))
        batch.forward(forward, [p + [PAD_ID] * (width - len(p)) for p in prompts],
                      [len(p) for p in prompts])
        batch.forward(forward, [[7]] * 3)
        batch.add(RowBatch.of_caches(model, [None], [0]))
        together = batch.forward(forward, [[8] + [PAD_ID] * 8] * 3 + [rider], [1, 1, 1, 9])
        for row, ids in enumerate([p + [7, 8] for p in prompts] + [rider]):
            alone = forward([ids], None, keep=1)[0, -1]
            assert torch.allclose(together[row], alone, atol=1e-4), row
        # The rider's cache holds its prompt: its next step still matches.
        after = batch.forward(forward, [[9]] * 4)
        assert torch.allclose(after[3], forward([rider + [9]], None, keep=1)[0, -1], atol=1e-4)


def test_a_prompt_riding_along_decoding_rows_changes_no_rows_logits(tiny_causal_lm):
    assert supports(tiny_causal_lm)
    _check_rows_answer_as_alone(tiny_causal_lm)


def test_grouped_query_attention_runs_packed_as_alone():
    model = _random_llama(kv_heads=2)
    assert supports(model) and RowBatch.of_caches(model, [None], [0]).packed
    _check_rows_answer_as_alone(model)


def test_a_model_not_built_as_llama_keeps_the_padded_pass():
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=300, n_embd=32, n_layer=2, n_head=2,
                                       n_positions=128)).eval()
    assert not supports(model)
    forward = Forward(model)
    with torch.no_grad():
        batch = RowBatch.of_caches(model, [None, None], [0, 0])
        assert not batch.packed
        logits = batch.forward(forward, [[5, 6, 7], [9, PAD_ID, PAD_ID]], [3, 1])
        assert torch.allclose(logits[0], forward([[5, 6, 7]], None, keep=1)[0, -1], atol=1e-4)
        assert torch.allclose(logits[1], forward([[9]], None, keep=1)[0, -1], atol=1e-4)
