"""The vocabulary as bytes: each id's piece as the bytes it spells, and an index that finds at once
the pieces that begin with a text and the pieces that a text begins with (token healing).

A SentencePiece piece spells its text with `▁` for a space; a byte-fallback piece `<0xE2>` spells
that one byte (part of a multi-byte character). Special pieces (BOS, EOS, the FIM pieces and the
partial FIM pieces Code Llama appends, `▁<SU` ... `▁<EOT>▁<EOT>`) spell no text.
"""

from __future__ import annotations

import weakref
from bisect import bisect_left, bisect_right
from collections import defaultdict

from fim.tokenizer import EOT_PIECE, MID_PIECE, PRE_PIECE, SUF_PIECE, Tokenizer

_FIM_PIECES = (PRE_PIECE, SUF_PIECE, MID_PIECE, EOT_PIECE)
_NOT_TEXT = {"<unk>", "<s>", "</s>"}


def piece_bytes(tokenizer: Tokenizer, token_id: int) -> bytes:
    """The bytes that `token_id` spells in generated text (b"" for a special piece)."""
    return _spelling(tokenizer.piece(token_id))


def _spelling(piece: str) -> bytes:
    if len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
        try:
            return bytes([int(piece[3:5], 16)])
        except ValueError:
            pass
    if piece in _NOT_TEXT or _is_fim_piece(piece):
        return b""
    return piece.replace("▁", " ").encode()


def _is_fim_piece(piece: str) -> bool:
    """A FIM piece, one of the partial ones Code Llama appends (`▁<SU`, `▁<M`), or a run of them
    (`▁<EOT>▁<EOT>`); `▁<` alone is ordinary text (`a <b`)."""
    if not piece.startswith("▁<") or len(piece) < 3:
        return False
    return any(name.startswith(piece) or name in piece for name in _FIM_PIECES)


class PieceIndex:
    """The text pieces of a vocabulary sorted by their bytes: the pieces that begin with some
    bytes are one run of that order, and those that the bytes begin with are a few lookups."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.spellings = [piece_bytes(tokenizer, i) for i in range(tokenizer.vocab_size)]
        for special in (tokenizer.bos_id, tokenizer.eos_id, *_fim_ids(tokenizer)):
            self.spellings[special] = b""
        entries = sorted((b, i) for i, b in enumerate(self.spellings) if b)
        self.keys = [b for b, _ in entries]
        self.order = [i for _, i in entries]  # ids in the order of their bytes
        self.longest = max((len(b) for b in self.keys), default=0)
        self._exact: dict[bytes, list[int]] = defaultdict(list)
        for spelling, token_id in entries:
            self._exact[spelling].append(token_id)

    def starting_with(self, text: bytes) -> tuple[int, int]:
        """The run `order[start:end]` of the pieces whose bytes begin with `text`."""
        start = bisect_left(self.keys, text)
        end = bisect_right(self.keys, text + b"\xff" * self.longest)
        return start, end

    def prefixes_of(self, text: bytes) -> list[int]:
        """The ids of the pieces that `text` begins with, shorter than `text` (equal ones are
        in `starting_with`)."""
        found: list[int] = []
        for length in range(1, min(len(text), self.longest + 1)):
            found.extend(self._exact.get(text[:length], ()))
        return found

    def is_text(self, token_id: int) -> bool:
        return 0 <= token_id < len(self.spellings) and bool(self.spellings[token_id])


def _fim_ids(tokenizer: Tokenizer) -> tuple[int, ...]:
    fim = tokenizer.fim
    return () if fim is None else (fim.prefix, fim.suffix, fim.middle, fim.eot)


_INDEXES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def piece_index(tokenizer: Tokenizer) -> PieceIndex:
    """The index of `tokenizer`'s vocabulary, built once per vocabulary (a tokenizer that wraps
    another, as the line tokenizer does, shares it): about 0.1 to 0.3 s for 32,000 pieces."""
    index = _INDEXES.get(tokenizer.backend)
    if index is None:
        index = _INDEXES[tokenizer.backend] = PieceIndex(tokenizer)
    return index
