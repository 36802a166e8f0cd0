"""Cross-file context: code from elsewhere that the model should see before the prefix.

Two kinds of snippet, ranked and given at most a share of the prompt budget:
- definitions (signatures, short bodies) of the symbols used near the cursor, found with the
  grammars' tag queries (`syntax/tags.py`) over the open documents and the workspace's files
  (and over the current document, for definitions outside the prompt's window);
- regions edited recently in other places.

Each is rendered as a comment block in the current file's comment syntax whose first line is
`Path: <relative path>`, as in:

    # Path: pkg/util.py
    # def parse(line: str) -> Item:

`source.py` keeps what the editor has open and edited, `index.py` the workspace's definitions,
`ranking.py` orders the candidates and `render.py` writes them as comments.
"""

from codellama_lsp.completion.snippets.ranking import Snippet, names_near
from codellama_lsp.completion.snippets.render import render
from codellama_lsp.completion.snippets.source import SnippetSource
from codellama_lsp.syntax.tags import Definition

__all__ = ["Definition", "Snippet", "SnippetSource", "names_near", "render"]
