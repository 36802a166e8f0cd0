"""RowBatch: rows of different lengths in one cache, padding where rows were prefilled beside
longer ones, and compaction that leaves every row's next logits as they were."""

from __future__ import annotations

import pytest

from fim.engines.decoding import Forward
from fim.worker.row_batch import PAD_ID, RowBatch

pytestmark = pytest.mark.unit


def _batch_with_padding(model):
    """Three rows prefilled together (5, 30 and 12 ids), then two steps."""
    import torch

    torch.manual_seed(0)
    forward = Forward(model)
    prompts = [torch.randint(3, 200, (n,)).tolist() for n in (5, 30, 12)]
    batch = RowBatch.of_caches(model, [None] * 3, [0] * 3)
    width = max(map(len, prompts))
    batch.forward(forward, [p + [PAD_ID] * (width - len(p)) for p in prompts],
                  [len(p) for p in prompts])
    for token in (7, 8):
        batch.forward(forward, [[token]] * 3)
    return forward, prompts, batch


def test_rows_with_padding_answer_as_each_alone(tiny_causal_lm):
    import torch

    model = tiny_causal_lm
    with torch.no_grad():
        forward, prompts, batch = _batch_with_padding(model)
        together = batch.forward(forward, [[9]] * 3)
        for row, prompt in enumerate(prompts):
            alone = forward([prompt + [7, 8, 9]], None, keep=1)[0, -1]
            assert torch.allclose(together[row], alone, atol=1e-4)


def test_compaction_keeps_every_rows_next_logits(tiny_causal_lm):
    import torch

    model = tiny_causal_lm
    with torch.no_grad():
        forward, _, batch = _batch_with_padding(model)
        _, _, compacted = _batch_with_padding(model)
        compacted.compact()
        assert compacted.mask.shape[1] == 32  # the longest row: 30 ids and 2 steps
        assert compacted.mask.sum(dim=1).tolist() == batch.mask.sum(dim=1).tolist()
        expected = batch.forward(forward, [[9]] * 3)
        assert torch.allclose(compacted.forward(forward, [[9]] * 3), expected, atol=1e-4)
        for row in range(3):  # a kept cache holds the row's positions only
            assert compacted.row_cache(row).get_seq_length() == batch.row_cache(row) \
                .get_seq_length()


def test_rows_of_no_positions_yet_join_as_rows(tiny_causal_lm):
    """Two fresh rows stacked (no kept cache: width 0) take a third, then run their prompts."""
    import torch

    model = tiny_causal_lm
    forward = Forward(model)
    batch = RowBatch.of_caches(model, [None, None], [0, 0])
    batch.add(RowBatch.of_caches(model, [None], [0]))
    with torch.no_grad():
        logits = batch.forward(forward, [[5, 6], [7, PAD_ID], [8, 9]], [2, 1, 2])
        alone = forward([[7]], None, keep=1)[0, -1]
    assert batch.rows == 3 and logits.shape[0] == 3
    assert torch.allclose(logits[1], alone, atol=1e-4)


def test_keeping_rows_out_of_order_keeps_their_next_logits(tiny_causal_lm):
    """`keep` copies runs of neighbouring rows into one new buffer: rows kept in another order,
    and a gap between them, still give the logits they gave before."""
    import torch

    model = tiny_causal_lm
    with torch.no_grad():
        forward, _, batch = _batch_with_padding(model)
        _, _, kept = _batch_with_padding(model)
        expected = batch.forward(forward, [[9]] * 3)
        kept.keep([2, 0])
        assert kept.rows == 2
        assert torch.allclose(kept.forward(forward, [[9]] * 2), expected[[2, 0]], atol=1e-4)
        again = kept.forward(forward, [[4]] * 2)  # the next write lands in the buffer's room
        assert again.shape[0] == 2 and torch.isfinite(again).all()
