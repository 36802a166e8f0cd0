"""Meta's Code Llama - Instruct prompt construction (llama/generation.py, `chat_completion`),
written out plainly on SentencePiece and plain dicts, to check `fim.instruct` against."""

from __future__ import annotations

from tests.support.reference import ReferenceTokenizer

B_INST, E_INST = "[INST]", "[/INST]"
B_SYS, E_SYS = "<<SYS>>\n", "\n<</SYS>>\n\n"


def encode(tok: ReferenceTokenizer, s: str, bos: bool, eos: bool) -> list[int]:
    t = tok.sp.encode(s)
    if bos:
        t = [tok.bos_id] + t
    if eos:
        t = t + [tok.sp.eos_id()]
    return t


def chat_prompt_tokens(tok: ReferenceTokenizer, dialog: list[dict]) -> list[int]:
    if dialog[0]["role"] == "system":
        dialog = [
            {
                "role": dialog[1]["role"],
                "content": B_SYS + dialog[0]["content"] + E_SYS + dialog[1]["content"],
            }
        ] + dialog[2:]
    assert all([msg["role"] == "user" for msg in dialog[::2]]) and all(
        [msg["role"] == "assistant" for msg in dialog[1::2]]
    )
    dialog_tokens: list[int] = sum(
        [
            encode(
                tok,
                f"{B_INST} {(prompt['content']).strip()} {E_INST} {(answer['content']).strip()} ",
                bos=True,
                eos=True,
            )
            for prompt, answer in zip(dialog[::2], dialog[1::2])
        ],
        [],
    )
    assert dialog[-1]["role"] == "user"
    dialog_tokens += encode(tok, f"{B_INST} {(dialog[-1]['content']).strip()} {E_INST}",
                            bos=True, eos=False)
    return dialog_tokens
