"""The demo model's shape: a small `LlamaForCausalLM` (RMSNorm, SwiGLU, RoPE, grouped-query
attention), about 4M parameters, under 10 MB in float16."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shape:
    vocab_size: int
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    context: int


DEMO = Shape(vocab_size=4096, hidden=256, intermediate=704, layers=4, heads=4, kv_heads=2,
             context=512)
# For smoke tests: trains in seconds.
SMOKE = Shape(vocab_size=512, hidden=64, intermediate=128, layers=2, heads=4, kv_heads=2,
              context=128)
# Candidates of the shape sweep (`codellama train-demo OUT --sweep ...`): the demo's vocabulary
# and context, so that their held-out losses compare; head width 64 throughout. Parameters
# (float16 size): demo 4.0 M (8 MB), 8x256 7.0 M (14 MB), 4x384 7.9 M (16 MB), 8x384 14.2 M
# (28 MB), 6x512 19.0 M (38 MB, near the 40 MB the bundled model may take).
SWEEP = {
    "8x256": Shape(4096, hidden=256, intermediate=704, layers=8, heads=4, kv_heads=2,
                   context=512),
    "4x384": Shape(4096, hidden=384, intermediate=1024, layers=4, heads=6, kv_heads=2,
                   context=512),
    "8x384": Shape(4096, hidden=384, intermediate=1024, layers=8, heads=6, kv_heads=2,
                   context=512),
    "6x512": Shape(4096, hidden=512, intermediate=1408, layers=6, heads=8, kv_heads=2,
                   context=512),
    # A second smoke shape, so that a sweep can be tested in seconds.
    "smoke-3x64": Shape(512, hidden=64, intermediate=128, layers=3, heads=4, kv_heads=2,
                        context=128),
}
SHAPES = {"demo": DEMO, "smoke": SMOKE, **SWEEP}


def llama_config(shape: Shape, vocab_size: int):
    """The transformers config of `shape` over a tokenizer of `vocab_size` pieces."""
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=vocab_size, hidden_size=shape.hidden,
                       intermediate_size=shape.intermediate, num_hidden_layers=shape.layers,
                       num_attention_heads=shape.heads, num_key_value_heads=shape.kv_heads,
                       max_position_embeddings=shape.context, rms_norm_eps=1e-5,
                       hidden_act="silu", bos_token_id=1, eos_token_id=2,
                       tie_word_embeddings=True)
