"""A tiny random Code-Llama-shaped model, for tests, benchmarks and trying the tool offline.

The tokenizer is a SentencePiece BPE trained on this Python's standard library with Code Llama's
settings and the four FIM pieces; the model is a random `LlamaForCausalLM`. Its completions are
noise, but every token id, cache and timing path is the real one.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

_CORPUS_FILES = ["textwrap.py", "json/decoder.py", "json/encoder.py", "string.py", "shlex.py",
                 "fnmatch.py", "glob.py", "heapq.py", "bisect.py", "colorsys.py", "base64.py"]


def train_tokenizer(path: Path, vocab_size: int = 1000, fim: bool = True) -> Path:
    """Train a SentencePiece BPE like Code Llama's (with FIM pieces if `fim`) into `path`."""
    from fim.training.tokenizer_training import train_sentencepiece

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    text = "\n".join((stdlib / name).read_text(encoding="utf-8") for name in _CORPUS_FILES)
    lines = [line for line in text.splitlines() if line.strip()]
    return train_sentencepiece(lines, path, vocab_size, fim=fim, character_coverage=1.0,
                               threads=1, large=False)


def make_tiny_model(directory: Path, seed: int = 0, fim: bool = True,
                    max_positions: int = 4096) -> Path:
    """Write a random tiny Llama and its tokenizer to `directory` (a model directory)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    directory = Path(directory)
    tokenizer_path = train_tokenizer(directory / "tokenizer.model", fim=fim)
    import sentencepiece

    vocab = sentencepiece.SentencePieceProcessor(model_file=str(tokenizer_path)).vocab_size()
    config = LlamaConfig(vocab_size=vocab, hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=max_positions, bos_token_id=1, eos_token_id=2,
                         tie_word_embeddings=False)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.save_pretrained(directory)
    _readable_by_all(directory)
    return directory


def _readable_by_all(directory: Path) -> None:
    """0644 for every file, as a model folder is shared (safetensors writes 0600)."""
    for path in directory.iterdir():
        if path.is_file():
            path.chmod(0o644)
