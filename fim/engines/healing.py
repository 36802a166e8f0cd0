"""Token healing in the decoding loop: the first generated pieces must spell again the text that
the prompt was backed off by (`fim.healing`).

At each step while some of that text is left, only pieces consistent with it may be picked: one
that starts with all of what is left (it completes the text and goes on), or one that what is
left starts with (it spells part of it; the rest waits for the next step). Greedy and sampling
pick among those; end pieces (EOT, EOS) are not among them. Once the text is spelled, decoding
goes on unconstrained. The index of the vocabulary is built once per tokenizer, so a step's mask
costs one slice of it and a few lookups.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fim.pieces import PieceIndex, piece_index
from fim.tokenizer import Tokenizer


class HealingConstraint:
    """What is left of the removed text to spell, and the mask of the pieces that may come next."""

    def __init__(self, index: PieceIndex, removed: str) -> None:
        self.index = index
        self.left = removed.encode()

    @property
    def pending(self) -> bool:
        return bool(self.left)

    def allowed(self) -> list[int]:
        """The ids that may come next (the order of their bytes; for tests and logs)."""
        start, end = self.index.starting_with(self.left)
        return self.index.order[start:end] + self.index.prefixes_of(self.left)

    def mask(self, logits: Any) -> Any:
        """`logits` [vocab] with every piece inconsistent with what is left at -inf."""
        import torch

        start, end = self.index.starting_with(self.left)
        ids = torch.cat([_order(self.index)[start:end],
                         torch.tensor(self.index.prefixes_of(self.left), dtype=torch.long)])
        ids = ids[ids < logits.shape[-1]].to(logits.device)
        if ids.numel() == 0:  # nothing can spell it (a vocabulary without byte pieces)
            self.left = b""
            return logits
        masked = torch.full_like(logits, float("-inf"))
        masked[ids] = logits[ids]
        return masked

    def advance(self, token: int) -> None:
        """Take the picked `token`: what is left shrinks by the bytes it spells."""
        spelled = self.index.spellings[token] if 0 <= token < len(self.index.spellings) else b""
        if spelled and self.left.startswith(spelled):
            self.left = self.left[len(spelled):]
        else:  # it spelled all that was left, and more (or broke the constraint: give up)
            self.left = b""


def start_healing(tokenizer: Tokenizer, removed: str) -> HealingConstraint | None:
    """The constraint of one generation (None where nothing was removed)."""
    return HealingConstraint(piece_index(tokenizer), removed) if removed else None


@lru_cache(maxsize=8)
def _order(index: PieceIndex) -> Any:
    """`index.order` as a tensor, made once per index."""
    import torch

    return torch.tensor(index.order, dtype=torch.long)
