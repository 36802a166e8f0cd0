"""Token ids of a text as the sum of its lines' ids, each line encoded once and remembered.

Prompts at consecutive cursors share almost all their lines, and encoding a 4,000-token window
from scratch costs milliseconds. With a SentencePiece model whose vocabulary has no piece holding
a newline (Code Llama's: a newline is always the byte piece `<0x0A>`), no merge crosses a line
end, so encoding line by line gives exactly the ids of encoding the whole text: the first line
with the implicit leading space (`encode`), the others without (`encode_infilling`). Where that
cannot be shown for a tokenizer, `line_tokenizer` returns the tokenizer itself.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import chain

from fim.tokenizer import Tokenizer

# Lines whose ids are kept: the windows of some 20 documents of 400 lines. Each costs 1 to 1.6 KB
# (the line and its ids), so the cache stays under about 13 MB however long the session; at
# 1 << 17 lines it grew by some 4 MB every 25 files opened, toward 150 MB (`bench memory`).
LINE_CACHE_LINES = 1 << 13

_CHECK_TEXT = ("def f(a, b):\n    \"\"\" Sum. \"\"\"\n\n\treturn a+b  \n  \n}\n\n// x\n"
               "    if (x) {\n        y();\n    }\n\n")


class LineTokenizer(Tokenizer):
    """A tokenizer whose `encode`/`encode_infilling` go line by line through a cache."""

    def __init__(self, tokenizer: Tokenizer, cache_size: int = LINE_CACHE_LINES) -> None:
        super().__init__(tokenizer.backend, tokenizer.source)
        self.inner = tokenizer
        self._line = lru_cache(maxsize=cache_size)(tokenizer.encode_infilling)
        self._first = lru_cache(maxsize=1 << 12)(tokenizer.encode)

    def encode(self, text: str) -> list[int]:
        head, newline, rest = text.partition("\n")
        ids = list(self._first(head + newline))
        return ids + self.encode_infilling(rest) if rest else ids

    def encode_infilling(self, text: str) -> list[int]:
        lines = [line + "\n" for line in text.split("\n")]
        lines[-1] = lines[-1][:-1]  # the text's last line has no newline of its own
        if not lines[-1]:
            lines.pop()
        return list(chain.from_iterable(map(self._line, lines)))


@lru_cache(maxsize=8)
def line_tokenizer(tokenizer: Tokenizer) -> Tokenizer:
    """A `LineTokenizer` over `tokenizer` where line-by-line ids are provably the same."""
    if not tokenizer.is_sentencepiece:
        return tokenizer
    if any("\n" in tokenizer.piece(i) for i in range(tokenizer.vocab_size)):
        return tokenizer
    fast = LineTokenizer(tokenizer)
    if (fast.encode(_CHECK_TEXT) != tokenizer.encode(_CHECK_TEXT)
            or fast.encode_infilling(_CHECK_TEXT) != tokenizer.encode_infilling(_CHECK_TEXT)):
        return tokenizer
    return fast
