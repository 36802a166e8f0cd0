"""Cross-file context: definitions used near the cursor and recent edits, as path-headed comment
blocks before the prefix, within a quarter of the budget, not repeating the window."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codellama_lsp.completion.cursor_prompt import SNIPPET_SHARE, document_prompt, prompt_budget
from codellama_lsp.completion.snippets import SnippetSource, names_near
from codellama_lsp.syntax.parsed import ParsedDocument
from fim.prompt import FimFormat
from fim.tokenizer import load_tokenizer
from tests.support.cli import run_cli

pytestmark = pytest.mark.server

LONG_CLASS = "class Store:\n" + "".join(
    f"    def method_{i}(self, item):\n        return item + {i}\n\n" for i in range(8))

WORKSPACES = {
    "python": {
        "pkg/util.py": 'def parse_item(line: str) -> dict:\n'
                       '    name, _, price = line.partition(",")'
                       '\n    return {"name": name, "price": float(price)}\n\n\n' + LONG_CLASS,
        "main.py": "from pkg.util import parse_item, Store\n\n\ndef load(lines):\n"
                   "    store = Store()\n    for line in lines:\n        item = parse_item(line)\n"
                   "        \n",
    },
    "typescript": {
        "src/shapes.ts": "export interface Shape {\n  area(): number;\n}\n\n"
                         "export function circleArea(radius: number): number {\n"
                         "  return Math.PI * radius * radius;\n}\n",
        "src/app.ts": 'import { circleArea, Shape } from "./shapes";\n\n'
                      "export function total(radii: number[]): number {\n"
                      "  let sum = 0;\n  for (const r of radii) {\n    sum += circleArea(r);\n"
                      "    \n  }\n  return sum;\n}\n",
    },
    "java": {
        "src/Geometry.java": "public final class Geometry {\n"
                             "  public static double circleArea(double radius) {\n"
                             "    return Math.PI * radius * radius;\n  }\n}\n",
        "src/App.java": "public class App {\n  double total(double[] radii) {\n"
                        "    double sum = 0;\n    for (double r : radii) {\n"
                        "      sum += Geometry.circleArea(r);\n      \n    }\n"
                        "    return sum;\n  }\n}\n",
    },
    "go": {
        "geo/geometry.go": "package geo\n\nimport \"math\"\n\n// CircleArea is pi r squared.\n"
                           "func CircleArea(radius float64) float64 {\n"
                           "\treturn math.Pi * radius * radius\n}\n",
        "main.go": "package main\n\nfunc total(radii []float64) float64 {\n\tsum := 0.0\n"
                   "\tfor _, r := range radii {\n\t\tsum += geo.CircleArea(r)\n\t\t\n\t}\n"
                   "\treturn sum\n}\n",
    },
}

EXPECTED = {
    "python": ("main.py", "# Path: pkg/util.py\n# def parse_item(line: str) -> dict:\n"),
    "typescript": ("src/app.ts", "// Path: src/shapes.ts\n// export function circleArea("),
    "java": ("src/App.java", "// Path: src/Geometry.java\n// public static double circleArea("),
    "go": ("main.go", "// Path: geo/geometry.go\n// func CircleArea(radius float64) float64 {"),
}


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    return load_tokenizer(tiny_model)


def make_workspace(root: Path, language: str) -> Path:
    for name, text in WORKSPACES[language].items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def open_at_blank_line(root: Path, name: str) -> tuple[ParsedDocument, int]:
    path = root / name
    text = path.read_text()
    return ParsedDocument(text, path=str(path)), _blank_line_end(text)


def _blank_line_end(text: str) -> int:
    """The end of the first line holding only indentation."""
    position = 0
    for line in text.split("\n"):
        if line and not line.strip():
            return position + len(line)
        position += len(line) + 1
    raise AssertionError("no indented blank line")


@pytest.mark.parametrize("language", sorted(WORKSPACES))
def test_definitions_from_other_files_come_first_as_path_comments(tmp_path, tokenizer,
                                                                  language):
    root = make_workspace(tmp_path, language)
    name, expected = EXPECTED[language]
    document, offset = open_at_blank_line(root, name)
    built = document_prompt(tokenizer, document, offset, FimFormat.PSM, 4096, 64,
                            SnippetSource(root))
    text = built.prompt.text
    assert expected in text
    # before the prefix: the snippet block ends where the document's own text starts
    assert text.index(expected) < text.index(document.text[:offset].split("\n")[0])
    assert built.snippets[0].source == "definition"


def test_a_long_class_shows_its_header_and_member_headers(tmp_path, tokenizer):
    root = make_workspace(tmp_path, "python")
    document, offset = open_at_blank_line(root, "main.py")
    snippets = SnippetSource(root).snippets_for(document, offset)
    store = next(s for s in snippets if s.text.startswith("class Store"))
    assert store.text.split("\n")[:3] == ["class Store:", "    def method_0(self, item):",
                                          "    def method_1(self, item):"]
    assert "return item" not in store.text


def test_snippets_take_at_most_a_quarter_of_the_budget(tmp_path, tokenizer):
    many = "".join(f"def helper_{i}(value):\n    return value * {i} + {i}\n\n"
                   for i in range(60))
    (tmp_path / "helpers.py").write_text(many)
    uses = " + ".join(f"helper_{i}(x)" for i in range(60))
    text = f"def main(x):\n    y = {uses}\n    \n"
    (tmp_path / "main.py").write_text(text)
    document = ParsedDocument(text, path=str(tmp_path / "main.py"))
    window, new = 600, 32
    built = document_prompt(tokenizer, document, len(text) - 1, FimFormat.PSM, window, new,
                            SnippetSource(tmp_path))
    budget = prompt_budget(window, new, FimFormat.PSM)
    assert 0 < built.snippet_tokens <= budget * SNIPPET_SHARE
    assert len(built.snippets) > 1
    assert len(built.prompt.ids) <= window - new


def test_definitions_already_in_the_window_are_not_repeated(tmp_path, tokenizer):
    far = "".join(f"# filler line {i} with some words in it\n" for i in range(400))
    text = ("def far_away(a):\n    return a * 3\n\n" + far +
            "def near_by(a):\n    return a + 1\n\n\ndef main(x):\n"
            "    return far_away(x) + near_by(x)\n    \n")
    path = tmp_path / "main.py"
    path.write_text(text)
    document = ParsedDocument(text, path=str(path))
    built = document_prompt(tokenizer, document, len(text) - 1, FimFormat.PSM, 1024, 32,
                            SnippetSource(tmp_path))
    texts = [s.text for s in built.snippets]
    assert any(t.startswith("def far_away") for t in texts)  # outside the window: shown
    assert not any(t.startswith("def near_by") for t in texts)  # inside it: not repeated
    assert built.prompt.text.count("def near_by") == 1
    assert "# Path: main.py\n# def far_away(a):" in built.prompt.text


def test_recent_edits_and_open_documents(tmp_path, tokenizer):
    root = make_workspace(tmp_path, "python")
    source = SnippetSource(root)
    # an open document's text wins over the file on disk
    util = str(root / "pkg/util.py")
    source.set_document(util, "def parse_item(line):\n    return line.split()  # edited\n")
    notes = "first line\nsecond line\nedited here: rates = compute()\nfourth\n"
    source.record_edit("notes.md", notes.index("edited"), notes)
    document, offset = open_at_blank_line(root, "main.py")
    snippets = source.snippets_for(document, offset)
    parse = next(s for s in snippets if s.text.startswith("def parse_item"))
    assert "# edited" in parse.text
    recent = [s for s in snippets if s.source == "recent"]
    assert recent and "edited here: rates = compute()" in recent[0].text
    assert recent[0].path == "notes.md"


def test_names_near_weigh_nearer_lines_more():
    text = "alpha = 1\n" + "x = 0\n" * 10 + "beta = alpha\nresult = beta(\n"
    weights = names_near(text, len(text) - 1)
    assert weights["beta"] > weights["alpha"]


def test_cli_prompt_has_context_unless_no_context_or_raw(tmp_path, tiny_model):
    root = make_workspace(tmp_path, "python")
    location = f"{root / 'main.py'}:8"
    results = {}
    for flag in ([], ["--no-context"], ["--raw"]):
        out = run_cli("prompt", location, "--tokenizer", str(tiny_model), "--json", *flag)
        assert out.returncode == 0, out.stderr
        results[tuple(flag)] = json.loads(out.stdout)
    assert "# Path: pkg/util.py" in results[()]["text"]
    assert "Path:" not in results[("--no-context",)]["text"]
    assert results[("--no-context",)]["ids"] == results[("--raw",)]["ids"]


def test_definitions_come_from_the_same_language_family(tmp_path):
    (tmp_path / "shapes.js").write_text("function circleArea(r) {\n  return 3.14 * r * r;\n}\n")
    (tmp_path / "shapes.go").write_text("package shapes\n\nfunc circleArea(r float64) float64 "
                                        "{\n\treturn 3.14 * r * r\n}\n")
    text = "const total = circleArea(2) + circleArea(3);\n\n"
    document = ParsedDocument(text, path=str(tmp_path / "app.ts"))
    snippets = SnippetSource(tmp_path).snippets_for(document, len(text) - 1)
    assert [s.path for s in snippets] == ["shapes.js"]  # TypeScript calls JavaScript, not Go


def test_the_newest_edit_ranks_like_a_name_on_the_cursor_line(tmp_path):
    (tmp_path / "util.py").write_text("def rarely(x):\n    return x\n")
    text = "def main():\n    rarely(1)\n" + "    pass\n" * 6 + "    \n"
    source = SnippetSource(tmp_path)
    other = "a = 1\nimportant = compute_total(a)\nb = 2\n"
    source.record_edit(str(tmp_path / "other.py"), other.index("important"), other)
    document = ParsedDocument(text, path=str(tmp_path / "main.py"))
    snippets = source.snippets_for(document, len(text) - 1)
    others = [s for s in snippets if s.path != "main.py"]  # main() itself: the window's
    assert [(s.source, s.path) for s in others] == [("recent", "other.py"),
                                                    ("definition", "util.py")]
    assert "important = compute_total(a)" in others[0].text


def test_cli_missing_root_is_a_clear_error(tmp_path, tiny_model):
    root = make_workspace(tmp_path, "python")
    out = run_cli("prompt", f"{root / 'main.py'}:8", "--tokenizer", str(tiny_model),
                  "--root", str(tmp_path / "nowhere"))
    assert out.returncode == 2 and "no such folder (--root)" in out.stderr


def test_members_keep_their_shape_and_locals_are_not_offered(tmp_path):
    (tmp_path / "point.js").write_text(
        "class Point {\n  norm(scale) {\n    if (scale) {\n      return 2;\n    }\n"
        "    return 1;\n  }\n}\n\nfunction run() {\n  const next = () => 1;\n  return next();\n}\n")
    text = "const p = new Point();\nconst n = p.norm(2) + next();\n\n"
    document = ParsedDocument(text, path=str(tmp_path / "app.js"))
    snippets = SnippetSource(tmp_path).snippets_for(document, len(text) - 1)
    norm = next(s for s in snippets if s.text.startswith("norm("))
    assert norm.text == ("norm(scale) {\n  if (scale) {\n    return 2;\n  }\n  return 1;\n}")
    assert not any(s.text.startswith("const next") for s in snippets)
