"""The languages we parse: LSP language id or file extension -> tree-sitter grammar.

Grammars come from the per-language wheels (`tree_sitter_python`, ...), which ship compiled
parsers and their tag queries; nothing is downloaded at run time. A file of any other language
still gets completions, only without syntax (`detect` returns None).
"""

from __future__ import annotations

import importlib
import importlib.resources
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePath

from tree_sitter import Language, Query


@dataclass(frozen=True)
class LanguageSpec:
    name: str  # our name, e.g. "typescript"
    module: str  # the grammar wheel's import name
    function: str  # its function returning the language pointer
    lsp_ids: tuple[str, ...]
    extensions: tuple[str, ...]
    line_comment: str  # comment syntax for cross-file snippets
    # Tag queries of other grammars to prepend (TypeScript's tags extend JavaScript's).
    extra_tags: tuple[str, ...] = ()


LANGUAGES: tuple[LanguageSpec, ...] = (
    LanguageSpec("python", "tree_sitter_python", "language", ("python",), (".py", ".pyi", ".pyw"),
                 "#"),
    LanguageSpec("javascript", "tree_sitter_javascript", "language",
                 ("javascript", "javascriptreact"), (".js", ".mjs", ".cjs", ".jsx"), "//"),
    LanguageSpec("typescript", "tree_sitter_typescript", "language_typescript", ("typescript",),
                 (".ts", ".mts", ".cts"), "//", extra_tags=("tree_sitter_javascript",)),
    LanguageSpec("tsx", "tree_sitter_typescript", "language_tsx", ("typescriptreact",),
                 (".tsx",), "//", extra_tags=("tree_sitter_javascript",)),
    LanguageSpec("java", "tree_sitter_java", "language", ("java",), (".java",), "//"),
    LanguageSpec("c", "tree_sitter_c", "language", ("c",), (".c", ".h"), "//"),
    LanguageSpec("cpp", "tree_sitter_cpp", "language", ("cpp", "cuda-cpp"),
                 (".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++", ".cu"), "//"),
    LanguageSpec("csharp", "tree_sitter_c_sharp", "language", ("csharp",), (".cs",), "//"),
    LanguageSpec("php", "tree_sitter_php", "language_php", ("php",), (".php", ".phtml"), "//"),
    LanguageSpec("bash", "tree_sitter_bash", "language", ("shellscript", "bash", "sh", "zsh"),
                 (".sh", ".bash", ".zsh"), "#"),
    LanguageSpec("go", "tree_sitter_go", "language", ("go",), (".go",), "//"),
    LanguageSpec("rust", "tree_sitter_rust", "language", ("rust",), (".rs",), "//"),
)

_BY_ID = {key: spec for spec in LANGUAGES for key in (spec.name, *spec.lsp_ids)}
_BY_EXTENSION = {ext: spec for spec in LANGUAGES for ext in spec.extensions}

# Bash's wheel ships no tag query; the definitions we want from it are functions.
_OWN_TAGS = {"bash": "(function_definition name: (word) @name) @definition.function"}
# C#'s wheel installs its queries beside the package under a hyphenated name.
_QUERY_DIRS = {"tree_sitter_c_sharp": "tree_sitter_c-sharp"}


def detect(language_id_or_path: str | None) -> LanguageSpec | None:
    """The language for an LSP language id ("python") or a path ("src/app.ts"); None: unknown."""
    if not language_id_or_path:
        return None
    key = language_id_or_path.strip()
    spec = _BY_ID.get(key.lower())
    if spec is not None:
        return spec
    suffix = PurePath(key).suffix.lower()
    return _BY_EXTENSION.get(suffix)


def is_source_path(path: str | PurePath) -> bool:
    """Whether a file's extension names one of our languages."""
    return PurePath(path).suffix.lower() in _BY_EXTENSION


@cache
def grammar(spec: LanguageSpec) -> Language:
    """The tree-sitter Language of `spec`, loaded once."""
    module = importlib.import_module(spec.module)
    return Language(getattr(module, spec.function)())


@cache
def tags_query(spec: LanguageSpec) -> Query | None:
    """The grammar's own tag query (definitions and references), or None if it has none."""
    sources = [_read_tags(name) for name in (*spec.extra_tags, spec.module)]
    source = "\n".join(s for s in sources if s) or _OWN_TAGS.get(spec.name)
    if not source:
        return None
    return Query(grammar(spec), source)


def _read_tags(module: str) -> str | None:
    package_dir = Path(str(importlib.resources.files(module)))
    candidates = [package_dir / "queries" / "tags.scm"]
    if module in _QUERY_DIRS:
        candidates.append(package_dir.parent / _QUERY_DIRS[module] / "queries" / "tags.scm")
    for path in candidates:
        try:
            return path.read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            continue
    return None
