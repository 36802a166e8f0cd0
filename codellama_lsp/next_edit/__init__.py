"""Next-edit suggestions: the change the user will make next, anywhere near the cursor.

- `history`: what the user changed (from the editor's changes), as line hunks per document and
  across documents, serialized as unified diffs, newest first, within a token budget;
- `edit`: one suggested edit (character offsets into a document) and the minimal form of a
  rewritten region;
- `rename` and `repeat`: the model-free rules (an identifier renamed at one occurrence; the
  transformation just applied to one line, for the next similar one);
- `fill`: the base model's "jump then fill" (FIM) at a target the rules or the syntax tree
  point to; `instruct`: Code Llama - Instruct rewriting the region around the cursor;
- `predict`: the one entry point (rules first, then the model where the mode asks for it),
  shared by the language server and `codellama eval next-edit`.

No pygls or lsprotocol here: only `codellama_lsp.lsp` knows the protocol.
"""
