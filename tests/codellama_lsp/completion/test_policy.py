"""Golden tests: every row of the completion policy table, in Python, TypeScript, Java, Go.

`█` marks the cursor.
"""

from __future__ import annotations

import pytest

from codellama_lsp.completion.policy import Mode, decide
from codellama_lsp.syntax.parsed import ParsedDocument

pytestmark = pytest.mark.unit

CURSOR = "█"

# (language, source with the cursor, expected mode, expected reason)
ROWS = [
    # 1. a word character right of the cursor: no suggestion
    ("python", "def f(value):\n    return val█ue + 1\n", Mode.NONE, "word characters"),
    ("typescript", "function f(value: number) {\n  return █value;\n}\n", Mode.NONE, "word"),
    ("java", "class A {\n  int f(int value) { return val█ue; }\n}\n", Mode.NONE, "word"),
    ("go", "package a\n\nfunc f(value int) int {\n\treturn va█lue\n}\n", Mode.NONE, "word"),
    # 2. inside a string or comment: one line
    ("python", 'print("hello █")\n', Mode.LINE, "string or comment"),
    ("python", "x = 1  # the █\n", Mode.LINE, "string or comment"),
    ("python", "x = 1  # the end█\n", Mode.LINE, "string or comment"),
    ("typescript", "const s = `a █ b`;\n", Mode.LINE, "string or comment"),
    ("typescript", "// explain █\nlet x = 1;\n", Mode.LINE, "string or comment"),
    ("java", 'class A {\n  String s = "a █";\n}\n', Mode.LINE, "string or comment"),
    ("java", "class A {\n  /* a █ */\n}\n", Mode.LINE, "string or comment"),
    ("go", 'package a\n\nvar s = "x █"\n', Mode.LINE, "string or comment"),
    ("go", "package a\n\n// Package a does █\n", Mode.LINE, "string or comment"),
    # 3. mid-line (something other than whitespace right of the cursor): one line
    ("python", "def f(a, b):\n    return max(█)\n", Mode.LINE, "mid-line"),
    ("typescript", "function f(a: number) {\n  return g(a, █);\n}\n", Mode.LINE, "mid-line"),
    ("java", "class A {\n  int f(int a) { return g(█); }\n}\n", Mode.LINE, "mid-line"),
    ("go", "package a\n\nfunc f(a int) int {\n\treturn g(█)\n}\n", Mode.LINE, "mid-line"),
    # 4. an empty line that starts an empty block, or ends the text: a block
    ("python", "def f(a):\n    █\n", Mode.BLOCK, "end of the text"),
    ("python", "def f(a):\n    █\n\nprint(f(1))\n", Mode.BLOCK, "starts an empty block"),
    ("python", "if x:  # why\n    █\ny = 2\n", Mode.BLOCK, "starts an empty block"),
    ("python", "def f(\n    a,\n) -> int:\n    █\n\nx = 1\n", Mode.BLOCK, "starts an empty block"),
    ("typescript", "function f(a: number) {\n  █\n}\n", Mode.BLOCK, "starts an empty block"),
    ("java", "class A {\n  void f() {\n    █\n  }\n}\n", Mode.BLOCK, "starts an empty block"),
    ("go", "package a\n\nfunc f() {\n\t█\n}\n", Mode.BLOCK, "starts an empty block"),
    # 5. an empty line above lines indented deeper than the line above: one line (their header)
    ("python", "def f(xs):\n    t = 0\n    █\n        t += 1\n    return t\n", Mode.LINE, "header"),
    ("typescript", "function f() {\n  let t = 0;\n  █\n    t += 1;\n  }\n}\n", Mode.LINE,
     "header"),
    ("java", "class A {\n  void f() {\n    a();\n    █\n      b();\n    }\n  }\n}\n", Mode.LINE,
     "header"),
    ("go", "package a\n\nfunc f() {\n\ta()\n\t█\n\t\tb()\n\t}\n}\n", Mode.LINE, "header"),
    # 6. any other empty line (between statements): one statement
    ("python", "x = 1\n█\ny = 2\n", Mode.STATEMENT, "between statements"),
    ("python", "def f(a):\n    █\n    return a\n", Mode.STATEMENT, "between statements"),
    ("typescript", "function f() {\n  a();\n  █\n  b();\n}\n", Mode.STATEMENT,
     "between statements"),
    ("java", "class A {\n  void f() {\n    a();\n    █\n    b();\n  }\n}\n", Mode.STATEMENT,
     "between statements"),
    ("go", "package a\n\nfunc f() {\n\ta()\n\t█\n\tb()\n}\n", Mode.STATEMENT,
     "between statements"),
    # 7. the end of a line that opens a block: a block
    ("python", "def f(a):█\n", Mode.BLOCK, "opens a block"),
    ("python", "class A(Base):█\n    pass\n", Mode.BLOCK, "opens a block"),
    ("python", "def f(\n    a,\n    b,\n) -> int:█\n", Mode.BLOCK, "opens a block"),
    ("typescript", "function f(a: number) {█\n}\n", Mode.BLOCK, "opens a block"),
    ("java", "class A {\n  void f() {█\n  }\n}\n", Mode.BLOCK, "opens a block"),
    ("java", "class A {\n  void f(int x) {\n    switch (x) {\n      case 1:█\n    }\n  }\n}\n",
     Mode.BLOCK, "opens a block"),
    ("go", "package a\n\nfunc f() {█\n}\n", Mode.BLOCK, "opens a block"),
    # 8. the end of any other line: one line
    ("python", "def f(a):\n    total = a +█\n", Mode.LINE, "end of a line"),
    ("python", 'd = {"a":█\n', Mode.LINE, "end of a line"),  # a dict's colon opens nothing
    ("typescript", "const total = compute(█\n", Mode.LINE, "end of a line"),
    ("java", "class A {\n  int x = 1;█\n}\n", Mode.LINE, "end of a line"),
    ("go", "package a\n\nvar x = 1█\n", Mode.LINE, "end of a line"),
]


def split_cursor(source: str) -> tuple[str, int]:
    offset = source.index(CURSOR)
    return source.replace(CURSOR, ""), offset


@pytest.mark.parametrize("language, source, mode, reason", ROWS,
                         ids=[f"{r[0]}-{r[2].value}-{i}" for i, r in enumerate(ROWS)])
def test_policy_table(language, source, mode, reason):
    text, offset = split_cursor(source)
    decision = decide(text, offset, ParsedDocument(text, language))
    assert (decision.mode, reason in decision.reason) == (mode, True), decision


def test_every_row_is_golden_in_four_languages():
    reasons = ["word characters", "string or comment", "mid-line", "starts an empty block",
               "header", "between statements", "opens a block", "end of a line"]
    for reason in reasons:
        languages = {language for language, _, _, expected in ROWS if reason in expected
                     or expected in reason}
        assert {"python", "typescript", "java", "go"} <= languages, reason


@pytest.mark.parametrize("source, mode", [
    ("notes: the end of it█\n", Mode.LINE),
    ("some wor█ds\n", Mode.NONE),
    ("a list:\n  █\n", Mode.BLOCK),
    ("if ready:\n  █\nthe end\n", Mode.BLOCK),
    ("a\n█\nb\n", Mode.STATEMENT),
    ("a\n█\n    b\n", Mode.LINE),
    ("f(█)\n", Mode.LINE),
])
def test_without_syntax_the_text_decides(source, mode):
    text, offset = split_cursor(source)
    assert decide(text, offset, ParsedDocument(text, "notes.txt")).mode is mode
    assert decide(text, offset).mode is mode


def test_crlf_line_ends_are_not_text_right_of_the_cursor():
    text = "def f(a):\r\n    total = a +\r\n"
    offset = text.index(" +") + 2
    assert decide(text, offset, ParsedDocument(text, "python")).mode is Mode.LINE
