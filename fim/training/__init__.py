"""The demo model's training recipe: Code Llama's document-level FIM on Python's standard library
(and, optionally, pinned PyPI packages).

corpus (which files), fim_transform (training examples), tokenizer_training (SentencePiece BPE),
model (the Llama config and the sweep's shapes), step (one optimizer step: bfloat16, compiled),
train (the loop, checkpoints, progress and loss curve), sweep (shapes at equal time), speed (the
step before and after, interleaved).
"""
