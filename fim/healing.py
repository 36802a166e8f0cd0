"""Token healing, the prompt's side: where the cursor stands inside a word, the prompt ends before
the pieces that spell the word's typed part, and the answer must spell them again.

Code Llama learned SPM with the prefix and the middle encoded together, so a prefix cut inside a
word (`ret|`) ends on a split it never saw (`▁ret` where it saw `▁return`). The prompt backs off
those pieces (at most `MAX_HEAL_TOKENS`); the decoding loop lets the first generated pieces be
only those consistent with the removed text (`fim.engines.healing`), and the engine returns what
follows it, so callers insert at the cursor as before.

Servers that run the model elsewhere take the same constraint as a regular expression (vLLM, TGI,
our worker) or a GBNF grammar (llama.cpp): the answer is the removed text, then anything.
"""

from __future__ import annotations

from fim.pieces import piece_bytes, piece_index
from fim.tokenizer import Tokenizer

MAX_HEAL_TOKENS = 4  # pieces backed off at most: a long word keeps its start in the prompt
ANY_TEXT = "[\\s\\S]*"  # a regular expression for any text, line ends included
_REGEX_SPECIAL = set("\\.^$*+?{}[]|()")


def is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def partial_word(prefix: str) -> str:
    """The word characters that end `prefix` (the part of a word typed before the cursor)."""
    start = len(prefix)
    while start > 0 and is_word_char(prefix[start - 1]):
        start -= 1
    return prefix[start:]


def back_off(tokenizer: Tokenizer, prefix: str, ids: list[int],
             most: int = MAX_HEAL_TOKENS) -> tuple[int, str]:
    """How many of `ids` (`encode(prefix)`) to take off their end, and the text they spell: the
    pieces that cover the partial word before the cursor, at most `most` of them; (0, "") where
    the prefix does not end inside a word. What is removed is whole characters of plain text
    that the prefix ends with (SentencePiece's implicit leading space included where the
    whole prefix goes), never a line end."""
    word = partial_word(prefix).encode()
    if not word:
        return 0, ""
    count, covered = 0, 0
    while count < min(most, len(ids)) and covered < len(word):
        count += 1
        covered += len(piece_bytes(tokenizer, ids[-count]))
    index = piece_index(tokenizer)
    typed = (" " + prefix).encode()
    while count:
        removed = b"".join(index.spellings[i] for i in ids[-count:])
        if (all(index.is_text(i) for i in ids[-count:]) and typed.endswith(removed)
                and b"\n" not in removed and _whole_characters(removed)):
            return count, removed.decode()
        count -= 1  # keep the first of them: it starts inside a character or is not text
    return 0, ""


def _whole_characters(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def answer_after(text: str, removed: str) -> str:
    """The answer to insert at the cursor: `text` (what the model generated) after the removed
    text it starts with; "" where it does not start with it (an engine that ignored the
    constraint, or one stopped before it spelled the removed text again)."""
    if not removed:
        return text
    length = spelled_length(text, removed)
    return "" if length is None else text[length:]


def spelled_length(text: str, removed: str) -> int | None:
    """How much of `text` spells `removed` again (None: it does not start with it). A server
    that drops the first piece's leading space is read alike."""
    if text.startswith(removed):
        return len(removed)
    if removed.startswith(" ") and text.startswith(removed[1:]):
        return len(removed) - 1
    return None


def prefix_regex(removed: str) -> str:
    """A regular expression for an answer that starts with `removed`: the dialect every server's
    regex engine reads (only the classic special characters escaped)."""
    return "".join("\\" + c if c in _REGEX_SPECIAL else c for c in removed) + ANY_TEXT


def regex_prefix(regex: str) -> str | None:
    """The text that `regex` asks an answer to start with, where it is `prefix_regex`'s form (a
    literal text, then any text); None for any other regular expression."""
    if not regex.endswith(ANY_TEXT):
        return None
    literal: list[str] = []
    chars = iter(regex[: -len(ANY_TEXT)])
    for char in chars:
        if char == "\\":
            char = next(chars, "")
            if char not in _REGEX_SPECIAL:
                return None
        elif char in _REGEX_SPECIAL:
            return None
        literal.append(char)
    return "".join(literal)


def prefix_grammar(removed: str) -> str:
    """A GBNF grammar (llama.cpp) for an answer that starts with `removed`."""
    literal = removed.replace("\\", "\\\\").replace('"', '\\"')
    return f'root ::= "{literal}" [^\\x00]*'
