"""Rows' KV caches stacked into one, and the forward passes that run on them.

A row's positions are the columns where its mask is true, in order; the other columns are
padding, never attended to: on the left of a row shorter than the batch, and after a row's
prompt where it was prefilled beside longer ones. Rows join (padded on the left to the batch's
width and appended) and leave (the others selected, columns left with only padding dropped)
without the rest of the batch being taken apart, so a step's cost does not depend on how often
requests come and go.
"""

from __future__ import annotations

from typing import Any

from fim.engines.decoding import Forward, new_cache
from fim.engines.growing_cache import cache_from_tensors, stacked_cache
from fim.worker.packed_forward import packed_forward, supports

PAD_ID = 0  # fed where a row has no id; never attended to, so any id does


class RowBatch:
    def __init__(self, model: Any, cache: Any, mask: Any) -> None:
        """`cache` [rows, ..., width, ...] whose real positions per row `mask` [rows, width]
        (bool) marks."""
        self.model = model
        self.cache = cache
        self.mask = mask
        self._padded = not bool(mask.all())
        self.packed = supports(model)  # new ids run packed, without padding (Llama models)

    @classmethod
    def of_caches(cls, model: Any, caches: list[Any], lengths: list[int]) -> RowBatch:
        """Stack single-row `caches` holding `lengths` positions (None or 0: an empty one)."""
        import torch

        device = model.device
        if len(caches) == 1:  # the common single-user case: the user's own cache, no copy
            cache = caches[0] if caches[0] is not None and lengths[0] else new_cache(model)
            return cls(model, cache, torch.ones((1, lengths[0]), dtype=torch.bool, device=device))
        width = max(lengths)
        layers = [[_layer(model, cache, index) for cache in caches]
                  for index in range(model.config.num_hidden_layers)]
        columns = torch.arange(width, device=device)
        starts = width - torch.tensor(lengths, device=device)
        return cls(model, stacked_cache(model, layers, width), columns >= starts[:, None])

    @property
    def rows(self) -> int:
        return int(self.mask.shape[0])

    def add(self, other: RowBatch) -> None:
        """Append `other`'s rows; the narrower batch is padded on the left."""
        import torch

        width = max(self.mask.shape[1], other.mask.shape[1])
        layers = [[_layer(self.model, self.cache, index), _layer(self.model, other.cache, index)]
                  for index in range(self.model.config.num_hidden_layers)]
        self.cache = stacked_cache(self.model, layers, width)
        self.mask = torch.cat([_left_pad_mask(self.mask, width), _left_pad_mask(other.mask, width)])
        self._padded = not bool(self.mask.all())

    def keep(self, indices: list[int]) -> None:
        """Keep only the rows at `indices` (in that order), dropping the columns on the left
        that then hold only padding."""
        import torch

        select = torch.tensor(indices, device=self.mask.device)
        mask = self.mask.index_select(0, select)
        used = mask.any(dim=0).nonzero()
        cut = int(used[0]) if len(used) else mask.shape[1]
        # Runs of neighbouring rows copied straight into a buffer with room to grow: one copy,
        # where selecting the rows and regrowing at the next step's write took two.
        runs = _runs(indices)
        layers = [[(layer.keys[start:stop, :, cut:], layer.values[start:stop, :, cut:])
                   for start, stop in runs] for layer in self.cache.layers]
        self.cache = stacked_cache(self.model, layers, mask.shape[1] - cut)
        self.mask = mask[:, cut:]
        self._padded = not bool(self.mask.all())

    def compact_if_sparse(self) -> None:
        """Compact where padding fills more than half the batch (prompts that joined a step
        leave padding in every running row)."""
        cells = self.mask.numel()
        if cells > 2 * int(self.mask.sum()) + 64 * self.rows:
            self.compact()

    def compact(self) -> None:
        """Copy each row's real positions together again, right-aligned."""
        import torch

        lengths = self.mask.sum(dim=1)
        width = self.mask.shape[1]
        longest = int(lengths.max())
        # Each row's real columns, then its padding columns: a stable sort puts them in order.
        order = torch.sort((~self.mask).to(torch.int8), dim=1, stable=True).indices
        shift = longest - lengths  # the row's padding goes in front of its positions
        keep = torch.arange(longest, device=self.mask.device)
        columns = torch.gather(order, 1, (keep[None, :] - shift[:, None]) % width)
        layers = []
        for layer in self.cache.layers:
            index = columns[:, None, :, None].expand(-1, layer.keys.shape[1], -1,
                                                     layer.keys.shape[3])
            layers.append((torch.gather(layer.keys, 2, index),
                           torch.gather(layer.values, 2, index)))
        self.cache = cache_from_tensors(self.model, layers)
        self.mask = keep[None, :] >= shift[:, None]
        self._padded = not bool(self.mask.all())

    def row_cache(self, index: int) -> Any:
        """A cache of the row at `index` alone (a copy, its real positions only)."""
        columns = self.mask[index].nonzero().squeeze(1)
        return cache_from_tensors(self.model, [
            (layer.keys[index:index + 1].index_select(2, columns),
             layer.values[index:index + 1].index_select(2, columns))
            for layer in self.cache.layers])

    def forward(self, forward: Forward, ids: list[list[int]], counts: list[int] | None = None
                ) -> Any:
        """Run `ids` (the same number per row; of row i only its first `counts[i]` are real,
        the rest padding) after each row's cached positions; the logits [rows, vocab] after
        each row's last real id. A Llama model runs only the real ids (`packed_forward`);
        others run transformers' forward on the padded rows."""
        import torch

        new = len(ids[0])
        if self.packed:
            ragged = ids if counts is None else [row[:count] for row, count in zip(ids, counts)]
            logits, added = packed_forward(self.model, self.cache, self.mask, ragged)
            self.mask = torch.cat([self.mask, added], dim=1)
            self._padded = self._padded or not bool(added.all())
            return logits
        if counts is None and not self._padded:  # no padding anywhere: no mask needed
            logits = forward(ids, self.cache)[:, -1]
            self.mask = torch.cat([self.mask, self.mask.new_ones((self.rows, new))], dim=1)
            return logits
        device = self.mask.device
        real = torch.tensor(counts or [new] * self.rows, device=device)
        offsets = torch.arange(new, device=device)
        added = offsets < real[:, None]
        cached = self.mask.sum(dim=1)
        # A padding id's position only has to be valid: it continues its row's.
        positions = cached[:, None] + torch.minimum(offsets, real[:, None] - 1)
        mask = torch.cat([self.mask, added], dim=1)
        last = real - 1
        wanted = torch.unique(last)  # logits at these offsets only, not at every padding id
        logits = forward(ids, self.cache, keep=wanted, mask=mask.long(), positions=positions)
        self.mask = mask
        self._padded = not bool(mask.all())
        return logits[torch.arange(self.rows, device=device), torch.searchsorted(wanted, last)]


def _layer(model: Any, cache: Any, index: int) -> tuple[Any, Any]:
    """Layer `index` of `cache` as (keys, values); empty ones (one row) for no cache or an
    empty one."""
    layer = cache.layers[index] if cache is not None else None
    if layer is not None and layer.is_initialized and layer.keys is not None \
            and layer.keys.dim() == 4:  # rows of no positions yet still count as rows
        return layer.keys, layer.values
    config = model.config
    heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    empty = model.lm_head.weight.new_zeros((1, heads, 0, dim))
    return empty, empty


def _runs(indices: list[int]) -> list[tuple[int, int]]:
    """`indices` as runs of consecutive ones, (start, stop) each, in order."""
    runs: list[list[int]] = []
    for index in indices:
        if runs and runs[-1][1] == index:
            runs[-1][1] = index + 1
        else:
            runs.append([index, index + 1])
    return [(start, stop) for start, stop in runs]


def _left_pad_mask(mask: Any, width: int) -> Any:
    import torch

    missing = width - mask.shape[1]
    if missing <= 0:
        return mask
    return torch.cat([mask.new_zeros((mask.shape[0], missing)), mask], dim=1)
