"""Code Llama - Instruct dialog prompts, exactly as Meta's `chat_completion` builds them.

Reference: meta-llama/codellama `llama/generation.py`, `Llama.chat_completion`:

- a leading system message is folded into the first user turn as
  `B_SYS + system + E_SYS + user` (the system text itself is not stripped there);
- the dialog must then read user, assistant, user, ..., user;
- each finished (user, answer) pair is encoded as
  `f"{B_INST} {user.strip()} {E_INST} {answer.strip()} "` with BOS and EOS;
- the last user turn as `f"{B_INST} {user.strip()} {E_INST}"` with BOS only;
- the answer is generated up to EOS and decoded with plain `decode` (see `answer_text`).
"""

from __future__ import annotations

from dataclasses import dataclass

from fim.tokenizer import Tokenizer

B_INST, E_INST = "[INST]", "[/INST]"
B_SYS, E_SYS = "<<SYS>>\n", "\n<</SYS>>\n\n"
# Meta answers a dialog holding any of these with an error instead of a generation.
SPECIAL_TAGS = (B_INST, E_INST, "<<SYS>>", "<</SYS>>")
ROLES = ("system", "user", "assistant")
DEFAULT_INSTRUCT_MODEL = "codellama/CodeLlama-7b-Instruct-hf"


class DialogError(ValueError):
    """A dialog that Code Llama - Instruct's format cannot express."""


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True)
class InstructPrompt:
    ids: list[int]
    text: str  # a readable rendering with <s> and </s>, for logs and `codellama prompt`


def parse_dialog(data: object) -> list[Message]:
    """A dialog from decoded JSON: a list of {"role": ..., "content": ...} objects."""
    if not isinstance(data, list):
        raise DialogError("a dialog is a JSON list of {\"role\": ..., \"content\": ...} objects")
    dialog = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise DialogError(f"message {index} is not an object")
        role, content = item.get("role"), item.get("content")
        if role not in ROLES:
            raise DialogError(f"message {index}: role must be one of {', '.join(ROLES)}, "
                              f"got {role!r}")
        if not isinstance(content, str):
            raise DialogError(f"message {index}: content must be a string")
        dialog.append(Message(role, content))
    return dialog


def fold_system(dialog: list[Message]) -> list[Message]:
    """The dialog with a leading system message folded into the next message (Meta's way)."""
    if not dialog or dialog[0].role != "system":
        return list(dialog)
    if len(dialog) < 2:
        raise DialogError("a system message must be followed by a user message")
    first = dialog[1]
    return [Message(first.role, B_SYS + dialog[0].content + E_SYS + first.content), *dialog[2:]]


def check_roles(dialog: list[Message]) -> None:
    """Raise unless a folded dialog reads user, assistant, user, ..., user."""
    if not dialog:
        raise DialogError("the dialog is empty")
    for index, message in enumerate(dialog):
        expected = "user" if index % 2 == 0 else "assistant"
        if message.role != expected:
            raise DialogError("roles must be 'system' (optional, first), then 'user' and "
                              f"'assistant' alternating, ending with 'user'; message {index} "
                              f"after folding the system message is {message.role!r}")
    if dialog[-1].role != "user":
        raise DialogError(f"the last message must be from the user, got {dialog[-1].role!r}")


def has_special_tags(dialog: list[Message]) -> bool:
    """Whether any message holds [INST], [/INST], <<SYS>> or <</SYS>> (Meta refuses those)."""
    return any(tag in message.content for message in dialog for tag in SPECIAL_TAGS)


def build_instruct_prompt(tokenizer: Tokenizer, dialog: list[Message]) -> InstructPrompt:
    """Prompt ids for `dialog`, equal to Meta's `chat_completion` construction."""
    turns = fold_system(dialog)
    check_roles(turns)
    ids: list[int] = []
    text = ""
    for prompt, answer in zip(turns[::2], turns[1::2]):
        turn = f"{B_INST} {prompt.content.strip()} {E_INST} {answer.content.strip()} "
        ids += [tokenizer.bos_id] + tokenizer.encode(turn) + [tokenizer.eos_id]
        text += f"<s>{turn}</s>"
    last = f"{B_INST} {turns[-1].content.strip()} {E_INST}"
    ids += [tokenizer.bos_id] + tokenizer.encode(last)
    text += f"<s>{last}"
    return InstructPrompt(ids, text)


def answer_text(generated: str) -> str:
    """The answer as Meta's `chat_completion` returns it, from text decoded by an Engine.

    Engines decode generated ids with `decode_infilling`, which keeps the first token's leading
    space (right for FIM, where the middle may start with a space). The reference decodes an
    instruct answer with plain `decode`, where SentencePiece drops that one leading space; the
    two differ in exactly that single space, so it is removed here. (The one exception is an
    answer opening with the byte-fallback piece `<0x20>`, which `decode` keeps; SentencePiece
    never encodes a space that way, so the model is not trained to emit it.)
    """
    return generated[1:] if generated.startswith(" ") else generated
