"""The demo model's training recipe: Code Llama's document-level FIM on Python's standard library.

corpus (which files), fim_transform (training examples), tokenizer_training (SentencePiece BPE),
model (the Llama config), train (the loop, checkpoints, progress and loss curve).
"""
