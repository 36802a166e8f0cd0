"""A batch's forward pass with its new ids packed: the rows' new ids one after another, with no
padding, through the norms, projections, MLPs and output layer. Only attention sees them padded,
row by row, against each row's cache.

Why: a prompt that joins a running batch brings many new ids where each decoding row brings
one. transformers' forward pads every row to the longest, so a 12-id prompt beside 15 decoding
rows ran 192 positions through every linear layer: the step took as long as the step and a
separate prefill pass (12.9 ms against 6.8 + 6.7 on the bench model). Packed, it runs 27, and
the output layer runs once per row instead of once per distinct last offset. llama.cpp batches
prompts and decode tokens the same way.

The pass reuses the model's own modules (norms, projections, rotary embedding, MLP), so it
holds for models built as Llama is, Code Llama among them (`supports`).
"""

from __future__ import annotations

from typing import Any


def supports(model: Any) -> bool:
    """Whether `model` is built as Llama is, so that `packed_forward` can run its modules."""
    inner = getattr(model, "model", None)
    layers = getattr(inner, "layers", None)
    return (getattr(model.config, "model_type", None) == "llama" and layers is not None
            and hasattr(inner, "rotary_emb") and hasattr(model, "lm_head"))


def packed_forward(model: Any, cache: Any, cached: Any, ids: list[list[int]]) -> tuple[Any, Any]:
    """Run each row's `ids` after its cached positions (the columns where `cached` [rows, width]
    is true) and append them to `cache` [rows, ..., width, ...] (left-aligned in as many new
    columns as the longest row has ids, padding after). Returns the logits after each row's last
    id [rows, vocab] and the new columns' mask [rows, longest]."""
    import torch
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    device = model.device
    rows, longest = len(ids), max(map(len, ids))
    counts = torch.tensor([len(row) for row in ids], device=device)
    offsets = torch.arange(longest, device=device)
    added = offsets[None, :] < counts[:, None]  # [rows, longest]
    row_of, offset_of = added.nonzero(as_tuple=True)  # the packed ids, row by row
    slots = row_of * longest + offset_of  # where each packed id sits in the padded layout
    positions = (cached.sum(dim=1)[row_of] + offset_of)[None, :]
    mask = _attention_mask(cached, added, counts, offsets)
    singles = next((index for index, row in enumerate(ids) if len(row) > 1), rows)

    inner = model.model
    hidden = inner.embed_tokens(torch.tensor([i for row in ids for i in row], device=device)[None])
    cos, sin = inner.rotary_emb(hidden, position_ids=positions)
    for index, layer in enumerate(inner.layers):
        attention = layer.self_attn
        x = layer.input_layernorm(hidden)
        shape = (1, x.shape[1], -1, attention.head_dim)
        query = attention.q_proj(x).view(shape).transpose(1, 2)
        key = attention.k_proj(x).view(shape).transpose(1, 2)
        value = attention.v_proj(x).view(shape).transpose(1, 2)
        query, key = apply_rotary_pos_emb(query, key, cos, sin)
        keys, values = cache.layers[index].update(_padded(key, slots, rows, longest),
                                                  _padded(value, slots, rows, longest))
        out = _attend(_padded(query, slots, rows, longest), keys, values, mask, singles,
                      attention.scaling)
        out = out.transpose(1, 2).reshape(rows * longest, -1).index_select(0, slots)
        hidden = hidden + attention.o_proj(out[None])
        hidden = hidden + layer.mlp(layer.post_attention_layernorm(hidden))
    last = torch.cumsum(counts, dim=0) - 1
    return _output_layer(model.lm_head, inner.norm(hidden)[0].index_select(0, last)), added


def _output_layer(head: Any, hidden: Any) -> Any:
    """`head(hidden)` [rows, vocab] as the transpose of weight @ hidden^T: on this project's
    CPUs (oneDNN, bfloat16) 0.64x the time of `linear` for 4 to 27 rows over Code Llama's
    32,016-wide vocabulary (0.82 against 1.28 ms at 16 rows), the same sums. The result is a
    transposed view: copying it back would cost what was saved."""
    logits = (head.weight @ hidden.t()).t()
    return logits if head.bias is None else logits + head.bias


def _attend(query: Any, keys: Any, values: Any, mask: Any, singles: int, scale: float) -> Any:
    """Attention of padded `query` [rows, heads, longest, dim], in two parts where the first
    `singles` rows have one new id each (decoding rows, a running batch's first): theirs is
    one query each, not `longest` (padded queries made a step with a 40-id prompt riding
    along spend 4.5 of its 20 ms in attention)."""
    import torch

    sdpa = torch.nn.functional.scaled_dot_product_attention
    gqa = keys.shape[1] != query.shape[1]
    if singles == 0 or query.shape[2] == 1:
        return sdpa(query, keys, values, attn_mask=mask, scale=scale, enable_gqa=gqa)
    out = query.new_zeros(query.shape)
    out[:singles, :, :1] = sdpa(query[:singles, :, :1], keys[:singles], values[:singles],
                                attn_mask=mask[:singles, :, :1], scale=scale, enable_gqa=gqa)
    if singles < query.shape[0]:
        out[singles:] = sdpa(query[singles:], keys[singles:], values[singles:],
                             attn_mask=mask[singles:], scale=scale, enable_gqa=gqa)
    return out


def _padded(states: Any, slots: Any, rows: int, longest: int) -> Any:
    """Packed `states` [1, heads, ids, dim] laid out per row [rows, heads, longest, dim], zeros
    in the padding (never garbage: a masked position still enters attention's sums, times 0)."""
    packed = states[0].transpose(0, 1)  # [ids, heads, dim]
    if packed.shape[0] == rows * longest:  # no padding (every row has as many ids)
        out = packed
    else:
        out = packed.new_zeros((rows * longest, *packed.shape[1:]))
        out.index_copy_(0, slots, packed)
    return out.view(rows, longest, *packed.shape[1:]).transpose(1, 2)


def _attention_mask(cached: Any, added: Any, counts: Any, offsets: Any) -> Any:
    """[rows, 1, longest, width + longest] (bool): each new id sees its row's cached positions
    and its row's new ids up to itself. A padding query sees what its row's last id sees (its
    output is dropped; it only must not be a row of no keys, which gives NaN)."""
    import torch

    rows, longest = added.shape
    seen_as = torch.minimum(offsets[None, :], (counts - 1)[:, None])  # [rows, longest]
    causal = (offsets[None, None, :] <= seen_as[:, :, None]) & added[:, None, :]
    return torch.cat([cached[:, None, :].expand(rows, longest, cached.shape[1]), causal],
                     dim=2)[:, None]
