"""Languages: chosen from an LSP language id or a file's extension, parsed by the wheels."""

from __future__ import annotations

import pytest

from codellama_lsp.syntax import languages
from codellama_lsp.syntax.parsed import ParsedDocument

pytestmark = pytest.mark.unit

SAMPLES = {
    "python": ("app.py", "def f(x):\n    return x + 1\n"),
    "javascript": ("app.js", "function f(x) {\n  return x + 1;\n}\n"),
    "typescript": ("app.ts", "function f(x: number): number {\n  return x + 1;\n}\n"),
    "tsx": ("app.tsx", "const A = (p: {n: number}) => <div>{p.n}</div>;\n"),
    "java": ("App.java", "class App {\n  int f(int x) { return x + 1; }\n}\n"),
    "c": ("app.c", "int f(int x) {\n  return x + 1;\n}\n"),
    "cpp": ("app.cpp", "template <class T> T f(T x) {\n  return x + 1;\n}\n"),
    "csharp": ("App.cs", "class App {\n  int F(int x) { return x + 1; }\n}\n"),
    "php": ("app.php", "<?php\nfunction f($x) {\n  return $x + 1;\n}\n"),
    "bash": ("app.sh", "f() {\n  echo $(( $1 + 1 ))\n}\n"),
    "go": ("app.go", "package app\n\nfunc f(x int) int {\n\treturn x + 1\n}\n"),
    "rust": ("app.rs", "fn f(x: i32) -> i32 {\n    x + 1\n}\n"),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_language_parses_by_extension_and_has_a_tag_query(name):
    path, text = SAMPLES[name]
    document = ParsedDocument(text, path=path)
    assert document.language is not None and document.language.name == name
    assert document.tree is not None and not document.tree.root_node.has_error
    assert languages.tags_query(document.language) is not None


@pytest.mark.parametrize("lsp_id, name", [
    ("python", "python"), ("javascript", "javascript"), ("javascriptreact", "jsx"),
    ("typescript", "typescript"), ("typescriptreact", "tsx"), ("java", "java"), ("c", "c"),
    ("cpp", "cpp"), ("csharp", "csharp"), ("php", "php"), ("shellscript", "bash"),
    ("go", "go"), ("rust", "rust"),
])
def test_lsp_language_ids(lsp_id, name):
    assert languages.detect(lsp_id).name == name


def test_language_id_wins_over_the_path():
    document = ParsedDocument("x = 1\n", "python", path="notes.txt")
    assert document.language.name == "python"


@pytest.mark.parametrize("key", [None, "", "markdown", "README.md", "Makefile", "data.csv"])
def test_unknown_languages_have_no_syntax(key):
    assert languages.detect(key) is None
    document = ParsedDocument("some text\n", key)
    assert document.language is None and document.tree is None
    document.apply_edit(0, 4, "other")  # still editable
    assert document.text == "other text\n"


def test_grammars_come_from_the_wheels_not_a_download():
    parsed = [spec for spec in languages.LANGUAGES if spec.parsed]
    assert len(parsed) == 13
    for spec in parsed:
        assert spec.module is not None
        assert not spec.module.startswith("tree_sitter_language_pack")
        languages.grammar(spec)  # loads offline


@pytest.mark.parametrize("path, language_id, tag", [
    ("a/b.py", "python", "python"), ("x.TSX", "typescriptreact", "tsx"),
    ("x.jsx", "javascriptreact", "jsx"), ("run.sh", "shellscript", "bash"),
    ("Gemfile.rb", "ruby", "ruby"), ("conf.yml", "yaml", "yaml"),
    ("Makefile", "plaintext", ""),
])
def test_one_table_gives_the_edit_language_and_fence_tag(path, language_id, tag):
    assert languages.language_id_for_path(path) == language_id
    assert languages.fence_tag(language_id) == tag


@pytest.mark.parametrize("written, tag", [
    ("py", "python"), ("Python3", "python"), ("js", "javascript"), ("sh", "bash"),
    ("shellscript", "bash"), ("c++", "cpp"), ("C#", "csharp"), ("golang", "go"),
    ("typescriptreact", "tsx"), ("javascriptreact", "jsx"), ("yml", "yaml"), ("fortran", "fortran"),
])
def test_fence_tags_models_write_are_normalised(written, tag):
    assert languages.normal_fence_tag(written) == tag


def test_languages_known_for_edits_only_are_not_parsed():
    assert languages.find("notes.rb").name == "ruby" and languages.detect("notes.rb") is None
    assert not languages.is_source_path("notes.rb")
    document = ParsedDocument("puts 1\n", "ruby")
    assert document.language is None and document.tree is None


def test_the_file_watcher_glob_names_the_parsed_extensions():
    glob = languages.source_glob()
    assert glob.startswith("**/*.{") and ",py," in glob and ",tsx," in glob
    assert ",rb," not in glob  # not parsed: not indexed, not watched
