"""A KV cache that grows in place: each layer writes new positions into a buffer with room to
spare, where transformers' DynamicCache concatenates (copies) the whole cache at every token.

On a CPU that copy is the largest cost of a batched decode step after the matrix products (the
batch's whole cache, every step), and for a single long prompt it grows with the prompt (7B,
2,000 positions: about 1 GB copied per token). The buffer grows by a quarter when full, so a
cache holds at most a quarter more than it uses. Cropping (`reuse_prefix`) only shortens the
view; anything that replaces a layer's tensors (a batch's row selection) is noticed and copied
into a new buffer at the next write.
"""

from __future__ import annotations

import functools
from typing import Any

ROOM_MIN = 64  # positions of room at least, so that a short prompt does not regrow every token


def new_growing_cache(model: Any) -> Any:
    """An empty cache for `model` whose full-attention layers grow in place."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    cache = DynamicCache(config=model.config)
    cache.layers = [_growing_layer() if type(layer) is DynamicLayer else layer
                    for layer in cache.layers]
    return cache


def cache_from_tensors(model: Any, layers: list[tuple[Any, Any]]) -> Any:
    """A growing cache holding `layers`' (keys, values), [rows, heads, positions, dim] each."""
    cache = new_growing_cache(model)
    for layer, (keys, values) in zip(cache.layers, layers):
        layer.lazy_initialization(keys, values)
        layer.keys, layer.values = keys, values
    return cache


def stacked_cache(model: Any, layers: list[list[tuple[Any, Any]]], width: int) -> Any:
    """A growing cache whose rows are those of each layer's parts ((keys, values), [rows, heads,
    positions, dim] each) stacked in order, each part's positions right-aligned in `width`
    columns after zeros (padding the caller masks), with room to grow: one copy of each part,
    where padding it, concatenating and regrowing at the next write took three."""
    cache = new_growing_cache(model)
    growing = _layer_class()
    for layer, parts in zip(cache.layers, layers):
        capacity = width + max(ROOM_MIN, width // 4) if isinstance(layer, growing) else width
        keys = _stacked([k for k, _ in parts], width, capacity)
        values = _stacked([v for _, v in parts], width, capacity)
        layer.lazy_initialization(keys, values)
        layer.keys, layer.values = keys[:, :, :width], values[:, :, :width]
        if isinstance(layer, growing):
            layer._buffer_keys, layer._buffer_values = keys, values
    return cache


def _stacked(parts: list[Any], width: int, capacity: int) -> Any:
    """`parts` [rows, heads, n, dim] stacked by rows in one new buffer [.., capacity, ..]:
    each right-aligned in the first `width` columns, zeros before it (never garbage: a masked
    position still enters the attention's sums, multiplied by zero)."""
    first = parts[0]
    rows = sum(part.shape[0] for part in parts)
    out = first.new_empty((rows, first.shape[1], capacity, first.shape[3]))
    row = 0
    for part in parts:
        count, start = part.shape[0], width - part.shape[2]
        out[row:row + count, :, :start].zero_()
        out[row:row + count, :, start:width].copy_(part)
        row += count
    return out


def _growing_layer() -> Any:
    return _layer_class()()


@functools.cache
def _layer_class() -> Any:
    """The layer class, defined on first use (this module imports transformers lazily)."""
    from transformers.cache_utils import DynamicLayer

    class GrowingLayer(DynamicLayer):
        """`keys`/`values` are views of the first positions of `_buffer_keys`/`_buffer_values`."""

        _buffer_keys: Any = None
        _buffer_values: Any = None

        def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any
                   ) -> tuple[Any, Any]:
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            length = self.get_seq_length()
            end = length + key_states.shape[-2]
            if not self._backed(key_states.shape[0], end):
                self._regrow(key_states, value_states, length, end)
            self._buffer_keys[:, :, length:end].copy_(key_states)
            self._buffer_values[:, :, length:end].copy_(value_states)
            self.keys = self._buffer_keys[:, :, :end]
            self.values = self._buffer_values[:, :, :end]
            return self.keys, self.values

        def _backed(self, rows: int, end: int) -> bool:
            """Whether `keys`/`values` still lie at the start of the buffers, which have room
            up to `end` (a crop keeps them there; a row selection or an assignment does not)."""
            buffer, keys, values = self._buffer_keys, self.keys, self.values
            if buffer is None or keys is None or values is None or end > buffer.shape[2] \
                    or buffer.shape[0] != rows:
                return False
            return (keys.data_ptr() == buffer.data_ptr()
                    and values.data_ptr() == self._buffer_values.data_ptr())

        def _regrow(self, key_states: Any, value_states: Any, length: int, end: int) -> None:
            capacity = end + max(ROOM_MIN, end // 4)
            rows, heads = key_states.shape[:2]
            keys = key_states.new_empty((rows, heads, capacity, key_states.shape[-1]))
            values = value_states.new_empty((rows, heads, capacity, value_states.shape[-1]))
            if length:
                keys[:, :, :length].copy_(self.keys)
                values[:, :, :length].copy_(self.values)
            self._buffer_keys, self._buffer_values = keys, values

        def reset(self) -> None:
            self._buffer_keys = self._buffer_values = None
            super().reset()

    return GrowingLayer
