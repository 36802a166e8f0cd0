"""Meta's reference construction (llama/tokenizer.py, llama/generation.py), written out plainly
on SentencePiece, to check our prompt ids against."""

from __future__ import annotations

import sentencepiece


class ReferenceTokenizer:
    def __init__(self, path) -> None:
        self.sp = sentencepiece.SentencePieceProcessor(model_file=str(path))
        self.bos_id = self.sp.bos_id()
        self.prefix_id = self.sp.piece_to_id("▁<PRE>")
        self.suffix_id = self.sp.piece_to_id("▁<SUF>")
        self.middle_id = self.sp.piece_to_id("▁<MID>")
        self.eot_id = self.sp.piece_to_id("▁<EOT>")

    def encode(self, s: str) -> list[int]:
        return self.sp.encode(s)

    def encode_infilling(self, s: str) -> list[int]:
        return self.sp.encode("☺" + s)[2:]

    def decode_infilling(self, t: list[int]) -> str:
        return self.sp.decode([self.sp.piece_to_id("☺")] + t)[1:]


def infilling_prompt_tokens(tok: ReferenceTokenizer, pre: str, suf: str,
                            suffix_first: bool = False) -> list[int]:
    if suffix_first:
        return ([tok.bos_id, tok.prefix_id, tok.suffix_id] + tok.encode_infilling(suf)
                + [tok.middle_id] + tok.encode(pre))
    return ([tok.bos_id, tok.prefix_id] + tok.encode(pre) + [tok.suffix_id]
            + tok.encode_infilling(suf) + [tok.middle_id])
