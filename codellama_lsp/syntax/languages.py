"""The languages we know: LSP language ids, file extensions, Markdown fence tags, and for those we
parse, their tree-sitter grammar. The one table behind syntax, cross-file context, the edit
prompt's fence tag and the edit reply's parser.

Grammars come from the per-language wheels (`tree_sitter_python`, ...), which ship compiled
parsers and their tag queries; nothing is downloaded at run time. A file of a language without a
grammar still gets completions and edits, only without syntax (`detect` returns None for it).
"""

from __future__ import annotations

import importlib
import importlib.resources
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePath

from tree_sitter import Language, Query

PLAIN_TEXT = "plaintext"


@dataclass(frozen=True)
class LanguageSpec:
    name: str  # our name, e.g. "typescript"; also its Markdown fence tag
    lsp_ids: tuple[str, ...]  # the first is the id of a file with one of `extensions`
    extensions: tuple[str, ...]
    line_comment: str = "#"  # comment syntax for cross-file snippets
    module: str | None = None  # the grammar wheel's import name; None: not parsed
    function: str = "language"  # its function returning the language pointer
    # Tag queries of other grammars to prepend (TypeScript's tags extend JavaScript's).
    extra_tags: tuple[str, ...] = ()
    family: str = ""  # languages that use each other's definitions ("" : its own name)
    aliases: tuple[str, ...] = ()  # other fence tags models write for it

    @property
    def parsed(self) -> bool:
        return self.module is not None

    @property
    def language_id(self) -> str:
        return self.lsp_ids[0]


LANGUAGES: tuple[LanguageSpec, ...] = (
    LanguageSpec("python", ("python",), (".py", ".pyi", ".pyw"), "#", "tree_sitter_python",
                 aliases=("py", "python3")),
    LanguageSpec("javascript", ("javascript",), (".js", ".mjs", ".cjs"), "//",
                 "tree_sitter_javascript", family="js", aliases=("js", "node")),
    LanguageSpec("jsx", ("javascriptreact",), (".jsx",), "//", "tree_sitter_javascript",
                 family="js"),
    LanguageSpec("typescript", ("typescript",), (".ts", ".mts", ".cts"), "//",
                 "tree_sitter_typescript", "language_typescript",
                 extra_tags=("tree_sitter_javascript",), family="js", aliases=("ts",)),
    LanguageSpec("tsx", ("typescriptreact",), (".tsx",), "//", "tree_sitter_typescript",
                 "language_tsx", extra_tags=("tree_sitter_javascript",), family="js"),
    LanguageSpec("java", ("java",), (".java",), "//", "tree_sitter_java"),
    LanguageSpec("c", ("c",), (".c", ".h"), "//", "tree_sitter_c", family="c"),
    LanguageSpec("cpp", ("cpp", "cuda-cpp"),
                 (".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++", ".cu"), "//",
                 "tree_sitter_cpp", family="c", aliases=("c++", "cxx")),
    LanguageSpec("csharp", ("csharp",), (".cs",), "//", "tree_sitter_c_sharp",
                 aliases=("cs", "c#")),
    LanguageSpec("php", ("php",), (".php", ".phtml"), "//", "tree_sitter_php", "language_php"),
    LanguageSpec("bash", ("shellscript", "bash", "sh", "zsh"), (".sh", ".bash", ".zsh"), "#",
                 "tree_sitter_bash", aliases=("shell", "console")),
    LanguageSpec("go", ("go",), (".go",), "//", "tree_sitter_go", aliases=("golang",)),
    LanguageSpec("rust", ("rust",), (".rs",), "//", "tree_sitter_rust", aliases=("rs",)),
    # Known for edits (the fence tag a model expects), not parsed: no grammar wheel here.
    LanguageSpec("ruby", ("ruby",), (".rb",), "#", aliases=("rb",)),
    LanguageSpec("kotlin", ("kotlin",), (".kt", ".kts"), "//", aliases=("kt",)),
    LanguageSpec("swift", ("swift",), (".swift",), "//"),
    LanguageSpec("scala", ("scala",), (".scala",), "//"),
    LanguageSpec("lua", ("lua",), (".lua",), "--"),
    LanguageSpec("sql", ("sql",), (".sql",), "--"),
    LanguageSpec("html", ("html",), (".html", ".htm"), ""),
    LanguageSpec("css", ("css",), (".css",), ""),
    LanguageSpec("json", ("json", "jsonc"), (".json",), ""),
    LanguageSpec("yaml", ("yaml",), (".yaml", ".yml"), "#", aliases=("yml",)),
    LanguageSpec("toml", ("toml",), (".toml",), "#"),
    LanguageSpec("markdown", ("markdown",), (".md",), "", aliases=("md",)),
)

_BY_ID = {key: spec for spec in LANGUAGES for key in (spec.name, *spec.lsp_ids)}
_BY_EXTENSION = {ext: spec for spec in LANGUAGES for ext in spec.extensions}
_BY_TAG = {key: spec for spec in LANGUAGES
           for key in (spec.name, *spec.lsp_ids, *spec.aliases)}

# Bash's wheel ships no tag query; the definitions we want from it are functions.
_OWN_TAGS = {"bash": "(function_definition name: (word) @name) @definition.function"}
# C#'s wheel installs its queries beside the package under a hyphenated name.
_QUERY_DIRS = {"tree_sitter_c_sharp": "tree_sitter_c-sharp"}


def find(language_id_or_path: str | None) -> LanguageSpec | None:
    """Any language we know, by LSP language id ("python") or path ("src/app.ts")."""
    if not language_id_or_path:
        return None
    key = language_id_or_path.strip()
    spec = _BY_ID.get(key.lower())
    if spec is not None:
        return spec
    return _BY_EXTENSION.get(PurePath(key).suffix.lower())


def detect(language_id_or_path: str | None) -> LanguageSpec | None:
    """The parsed language for an LSP language id or a path; None: unknown or not parsed."""
    spec = find(language_id_or_path)
    return spec if spec is not None and spec.parsed else None


def is_source_path(path: str | PurePath) -> bool:
    """Whether a file's extension names one of the languages we parse."""
    spec = _BY_EXTENSION.get(PurePath(path).suffix.lower())
    return spec is not None and spec.parsed


def source_glob() -> str:
    """A glob for the files of the languages we parse (`**/*.{py,js,...}`)."""
    extensions = sorted({ext[1:] for spec in LANGUAGES if spec.parsed for ext in spec.extensions})
    return "**/*.{" + ",".join(extensions) + "}"


def language_id_for_path(path: str | PurePath) -> str:
    """The LSP language id of a file, from its extension ("plaintext" where unknown)."""
    spec = _BY_EXTENSION.get(PurePath(path).suffix.lower())
    return spec.language_id if spec is not None else PLAIN_TEXT


def fence_tag(language_id: str) -> str:
    """The Markdown fence tag for an LSP language id ("" for plain text; an unknown id is its
    own tag)."""
    if language_id == PLAIN_TEXT:
        return ""
    spec = _BY_ID.get(language_id.lower())
    return spec.name if spec is not None else language_id


def normal_fence_tag(tag: str) -> str:
    """The fence tag a model wrote, as `fence_tag` writes it ("py" -> "python")."""
    tag = tag.strip().lower()
    spec = _BY_TAG.get(tag)
    return spec.name if spec is not None else tag


def family(spec: LanguageSpec | None) -> str:
    """Languages whose files use each other's definitions (TypeScript calls JavaScript, C++
    calls C) share a family; "" for no language."""
    if spec is None:
        return ""
    return spec.family or spec.name


@cache
def grammar(spec: LanguageSpec) -> Language:
    """The tree-sitter Language of `spec` (a parsed language), loaded once."""
    if spec.module is None:
        raise ValueError(f"{spec.name} has no grammar")
    module = importlib.import_module(spec.module)
    return Language(getattr(module, spec.function)())


@cache
def tags_query(spec: LanguageSpec) -> Query | None:
    """The grammar's own tag query (definitions and references), or None if it has none."""
    if spec.module is None:
        return None
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
