"""A SentencePiece BPE tokenizer with Code Llama's settings, trained on the corpus.

Settings as in Code Llama's `tokenizer.model`: BPE, byte fallback, digits split, no normalisation,
whitespace-only pieces (indentation), the implicit leading space, and the four FIM pieces as
control symbols (never produced from text).
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

from fim.tokenizer import EOT_PIECE, MID_PIECE, PRE_PIECE, SUF_PIECE

FIM_PIECES = [PRE_PIECE, SUF_PIECE, MID_PIECE, EOT_PIECE]
MAX_LINES = 400_000


def train_tokenizer(texts: list[str], path: Path, vocab_size: int, seed: int = 0) -> Path:
    """Train on the non-blank lines of `texts` (a seeded sample if many) and write `path`."""
    lines = [line for text in texts for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_LINES:
        lines = random.Random(seed).sample(lines, MAX_LINES)
    return train_sentencepiece(lines, path, vocab_size)


def train_sentencepiece(lines: list[str], path: Path, vocab_size: int, fim: bool = True,
                        character_coverage: float = 0.9999, threads: int = 2,
                        large: bool = True) -> Path:
    """A BPE with Code Llama's settings (with the FIM pieces if `fim`) trained on `lines`,
    written to `path`: the one place these settings live (the tiny test models use it too)."""
    import sentencepiece

    model = io.BytesIO()
    # A large corpus is read in full and in order (the sample was drawn above, seeded).
    reading: dict[str, Any] = (
        {"input_sentence_size": MAX_LINES, "shuffle_input_sentence": False} if large else {})
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, model_type="bpe",
        vocab_size=vocab_size, byte_fallback=True, split_digits=True,
        allow_whitespace_only_pieces=True, remove_extra_whitespaces=False,
        normalization_rule_name="identity", add_dummy_prefix=True,
        character_coverage=character_coverage,
        control_symbols=FIM_PIECES if fim else [], user_defined_symbols=["☺"],
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, max_sentence_length=16384,
        num_threads=threads, minloglevel=2, **reading)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.getvalue())
    return path
