"""Document-level FIM as in the Code Llama paper, into the ids inference builds.

Each document is split at two uniformly random character positions into prefix, middle and
suffix; 90% of documents are transformed, half in PSM and half in SPM order, and `▁<EOT>` follows
the middle. The prompt part comes from `fim.prompt.build_prompt`, so training sees exactly the ids
an editor's completion request sends. The rest are plain `<s> text </s>` documents.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from fim.prompt import FimFormat, build_prompt
from fim.tokenizer import Tokenizer

FIM_RATE = 0.9
SPM_RATE = 0.5


def split_documents(text: str, max_chars: int) -> list[str]:
    """`text` cut at line ends into documents of at most about `max_chars` characters.

    Files are cut so that one FIM example fits the model's short context; a file's lines stay in
    order inside each document.
    """
    documents: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.splitlines(keepends=True):
        if current and size + len(line) > max_chars:
            documents.append("".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line)
    if current:
        documents.append("".join(current))
    return [d for d in documents if d.strip()]


def fim_example(tokenizer: Tokenizer, document: str, rng: random.Random) -> list[int]:
    """The training ids of one document (FIM-transformed with probability `FIM_RATE`)."""
    if tokenizer.fim is None or rng.random() >= FIM_RATE:
        return [tokenizer.bos_id] + tokenizer.encode(document) + [tokenizer.eos_id]
    a, b = sorted(rng.randint(0, len(document)) for _ in range(2))
    prefix, middle, suffix = document[:a], document[a:b], document[b:]
    fmt = FimFormat.SPM if rng.random() < SPM_RATE else FimFormat.PSM
    prompt = build_prompt(tokenizer, prefix, suffix, fmt)
    return prompt.ids + tokenizer.encode_infilling(middle) + [tokenizer.fim.eot]


PAD = -1  # fills a row's end; trained on as nothing


def packed_rows(tokenizer: Tokenizer, documents: list[str], length: int,
                seed: int) -> Iterator[list[int]]:
    """Rows of `length` ids, examples packed whole (padded with `PAD`), epoch after epoch.

    Each epoch shuffles the documents and draws its FIM splits from `seed` + epoch, so a run
    that skips the rows it already trained on sees the same rows as one that never stopped.
    """
    epoch = 0
    while True:
        rng = random.Random(seed + epoch)
        order = list(range(len(documents)))
        rng.shuffle(order)
        row: list[int] = []
        for index in order:
            example = fim_example(tokenizer, documents[index], rng)[:length]
            if len(row) + len(example) > length:
                yield row + [PAD] * (length - len(row))
                row = []
            row += example
        if row:
            yield row + [PAD] * (length - len(row))
        epoch += 1
