"""The KV cache that grows in place answers exactly as transformers' DynamicCache: through a
prompt, single tokens past its room, a crop (prefix reuse) and a row selection."""

from __future__ import annotations

import pytest

from fim.engines.decoding import Forward
from fim.engines.growing_cache import ROOM_MIN, new_growing_cache

pytestmark = pytest.mark.unit


def test_growing_in_place_gives_the_dynamic_caches_logits(tiny_causal_lm):
    import torch
    from transformers import DynamicCache

    model = tiny_causal_lm
    torch.manual_seed(0)
    forward = Forward(model)
    prompt = torch.randint(3, 200, (2, 40)).tolist()
    growing, dynamic = new_growing_cache(model), DynamicCache(config=model.config)
    with torch.no_grad():
        for cache in (growing, dynamic):
            forward(prompt, cache)
        buffer = growing.layers[0]._buffer_keys
        for step in range(ROOM_MIN + 10):  # past the first buffer's room: it regrows once
            token = [[5 + step], [7 + step]]
            assert torch.allclose(forward(token, growing), forward(token, dynamic), atol=1e-5)
        assert growing.layers[0]._buffer_keys is not buffer
        for cache in (growing, dynamic):  # prefix reuse: back to 30 positions, then on
            cache.crop(-(cache.get_seq_length() - 30))
        assert torch.allclose(forward([[9], [9]], growing), forward([[9], [9]], dynamic),
                              atol=1e-5)
        for cache in (growing, dynamic):  # a batch keeps one of its rows
            cache.batch_select_indices(torch.tensor([1]))
        assert torch.allclose(forward([[11]], growing), forward([[11]], dynamic), atol=1e-5)
    assert growing.get_seq_length() == dynamic.get_seq_length() == 32
