"""oneDNN's kernel caches, bounded.

On a CPU, torch runs bfloat16 matrix products through oneDNN, which builds a kernel for each
shape it meets and keeps it, up to 1,024 in torch's cache (ideep's, `LRU_CACHE_CAPACITY`) and
1,024 in oneDNN's own (`ONEDNN_PRIMITIVE_CACHE_CAPACITY`). Prompts come in every length, so a
language server meets new shapes at nearly every completion, and each kept kernel holds memory:
with the tiny model, forward passes over 400 prompt lengths grew the process by 900 MB. Decoding
repeats one shape per kind of layer, and pre-warming one more (its chunks), so a few dozen
entries keep every kernel that is used again.
"""

from __future__ import annotations

import os

from fim.engines.base import EngineError

CAPACITY = 64
TORCH_CACHE = "LRU_CACHE_CAPACITY"
CACHES = (TORCH_CACHE, "ONEDNN_PRIMITIVE_CACHE_CAPACITY")


def bound_kernel_caches() -> None:
    """Bound both caches to CAPACITY entries, unless the environment sets them. Each is read once,
    when the first product needs it: this must run before a model's first forward pass. Raises
    EngineError for a value torch cannot take (oneDNN ignores one it cannot read)."""
    for name in CACHES:
        os.environ.setdefault(name, str(CAPACITY))
    value = os.environ[TORCH_CACHE]
    if not (value.strip().isascii() and value.strip().isdigit() and int(value) > 0):
        # torch's cache would take it as 0 and end the process at the first product (SIGSEGV).
        raise EngineError(f"{TORCH_CACHE}={value!r} in the environment: it must be a whole "
                          "number of cached kernels, 1 or more")
