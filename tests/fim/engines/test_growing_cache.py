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


def test_stacked_caches_are_padded_with_zeros_and_grow_without_a_copy(tiny_causal_lm):
    import torch

    from fim.engines.growing_cache import stacked_cache

    model = tiny_causal_lm
    forward = Forward(model)
    short, long = new_growing_cache(model), new_growing_cache(model)
    with torch.no_grad():
        forward([[5, 6, 7]], short)
        forward([[5, 6, 7, 8, 9, 10]], long)
        layers = [[(s.keys, s.values), (g.keys, g.values)]
                  for s, g in zip(short.layers, long.layers)]
        stacked = stacked_cache(model, layers, 6)
        layer = stacked.layers[0]
        assert layer.keys.shape[0] == 2 and stacked.get_seq_length() == 6
        # The short row: three zero columns (masked by the batch), then its own positions.
        assert not layer.keys[0, :, :3].any()
        assert torch.equal(layer.keys[0, :, 3:], short.layers[0].keys[0])
        assert torch.equal(layer.keys[1], long.layers[0].keys[0])
        buffer = layer._buffer_keys
        forward([[11], [11]], stacked, mask=torch.tensor([[0, 0, 0, 1, 1, 1, 1],
                                                          [1, 1, 1, 1, 1, 1, 1]]),
                positions=torch.tensor([[3], [6]]))
        assert layer._buffer_keys is buffer  # written into the room it was built with
        assert stacked.get_seq_length() == 7
