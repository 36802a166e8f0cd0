# ruff: noqa: E501 - golden cases read best one to a line
"""Golden tests for every clean-up rule, in Python, TypeScript, Java and Go: a document with a
cursor (`█`), what the model answered, and what the user is shown (None: nothing)."""

from __future__ import annotations

from functools import partial

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codellama_lsp.completion import cleanup as pp
from codellama_lsp.completion.policy import Mode, decide
from codellama_lsp.syntax.parsed import ParsedDocument
from tests.codellama_lsp.completion.test_policy import split_cursor

pytestmark = pytest.mark.unit


def shown(language: str, source: str, answer: str) -> str | None:
    """What the policy and clean-up make of `answer` at the cursor, as the completion path."""
    text, offset = split_cursor(source)
    document = ParsedDocument(text, language)
    mode = decide(text, offset, document).mode
    return pp.clean(answer, pp.document_cleanup_context(mode, document, offset))


GOLDEN = {
    # A control character ends the answer: no code holds one (eglot refuses a reply with NUL).
    "control_character_ends_the_answer": [
        ("python", "x = █\n", "compute(1)\x00\x00garbage", "compute(1)"),
        ("typescript", "const x = █\n", "f(1);\x1b[0m", "f(1);"),
        ("java", "class A {\n  int x = █\n}\n", "\x00", None),
        ("go", "package a\n\nvar x = █\n", "g(1)\x7f", "g(1)"),
    ],
    # A one-line suggestion stops at the newline.
    "line_stops_at_newline": [
        ("python", 'print("hello █")\n', 'world")\nprint("again")', "world"),
        ("typescript", "const total = compute(█\n", "a, b);\nconsole.log(total);",
         "a, b);"),
        ("java", "class A {\n  int x = █\n}\n", "41 + 1;\n  int y = 2;", "41 + 1;"),
        ("go", "package a\n\nvar x = █\n", "compute(1)\nvar y = 2", "compute(1)"),
    ],
    # A block stops where the enclosing scope ends, by the tree.
    "block_stops_at_scope_end_by_tree": [
        ("python", "def f(a):\n    █\n\nprint(f(1))\n",
         "b = a + 1\n    return b\n\n\ndef other():\n    return 2\n", "b = a + 1\n    return b"),
        ("typescript", "function f(a: number) {\n  █\n  log(a);\n}\n",
         "const b = a + 1;\n}\n\nfunction other() {\n  return 2;\n}\n", "const b = a + 1;"),
        ("java", "class A {\n  int f(int a) {\n    █\n    log(a);\n  }\n}\n",
         "int b = a + 1;\n  }\n\n  int other() {\n    return 2;\n  }\n", "int b = a + 1;"),
        ("go", "package a\n\nfunc f(a int) {\n\t█\n\tlog(a)\n}\n",
         "b := a + 1\n}\n\nfunc other() int {\n\treturn 2\n}\n", "b := a + 1"),
        # the closing brace the document already has (same indentation) is not repeated
        ("typescript", "function f(a: number) {█\n}\n",
         "\n  return a * 2;\n}\n\nfunction g() {}\n", "\n  return a * 2;"),
        ("java", "class A {\n  int f(int a) {█\n  }\n}\n",
         "\n    return a * 2;\n  }\n\n  int g() { return 1; }\n", "\n    return a * 2;"),
        ("go", "package a\n\nfunc f(a int) int {█\n}\n",
         "\n\treturn a * 2\n}\n\nfunc g() {}\n", "\n\treturn a * 2"),
    ],
    # ... and where the body a line opened ends (its closer kept when the document lacks one).
    "block_after_opener_keeps_its_own_body": [
        ("python", "def f(a):█\n", "\n    return a * 2\n\nprint(f(2))\n",
         "\n    return a * 2"),
        ("typescript", "function f(a: number) {█", "\n  return a * 2;\n}\n\nf(2);\n",
         "\n  return a * 2;\n}"),
        ("java", "class A {\n  int f(int a) {█", "\n    return a * 2;\n  }\n}\n",
         "\n    return a * 2;\n  }"),
        ("go", "package a\n\nfunc f(a int) int {█", "\n\treturn a * 2\n}\n\nvar x = f(2)\n",
         "\n\treturn a * 2\n}"),
    ],
    # A literal the line opens (`= {`, `= [`) ends where it closes, with the `;`/`,` after it.
    "block_in_an_opened_literal_stops_at_its_end": [
        ("python", "CONFIG = {\n    █\n}\n", "'port': 80,\n}\n\ndef other():\n    pass\n",
         "'port': 80,"),
        ("typescript", "const config = {█\n", "\n  port: 80,\n};\n\nfunction other() {}\n",
         "\n  port: 80,\n};"),
        ("java", "class A {\n  void f() {\n    int[] xs = {█\n  }\n}\n",
         "\n      1, 2,\n    };\n    int y = 3;\n", "\n      1, 2,\n    };"),
        ("go", "package a\n\nvar cfg = Config{█\n", "\n\tPort: 80,\n}\n\nfunc other() {}\n",
         "\n\tPort: 80,\n}"),
    ],
    # Between statements, one statement: a compound one with its body and its clauses.
    "statement_stops_where_it_ends": [
        ("python", "x = 1\n█\ny = 2\n", "z = 3\nw = 4\nv = 5", "z = 3"),
        ("python", "def f(xs):\n    t = 0\n    █\n    return t\n",
         "for x in xs:\n        t += x\n    print(t)\n    t += 1", "for x in xs:\n        t += x"),
        ("python", "def f(a):\n    █\n    return a\n",
         "if a:\n        b()\n    else:\n        c()\n    d()", "if a:\n        b()\n    else:\n        c()"),
        ("python", "class A:\n    x = 1\n    █\n    y = 2\n",
         "@property\n    def g(self):\n        return 1\n    z = 3", "@property\n    def g(self):\n        return 1"),
        ("python", "x = 1\n█\ny = 2\n", "# the total\ntotal = f(1,\n          2)  # two\nw = 4",
         "# the total\ntotal = f(1,\n          2)  # two"),
        ("typescript", "function f() {\n  a();\n  █\n  b();\n}\n",
         "if (x) {\n    c();\n  } else {\n    d();\n  }\n  e();", "if (x) {\n    c();\n  } else {\n    d();\n  }"),
        ("java", "class A {\n  void f() {\n    a();\n    █\n    b();\n  }\n}\n",
         "for (int i = 0; i < 3; i++) {\n      c(i);\n    }\n    d();", "for (int i = 0; i < 3; i++) {\n      c(i);\n    }"),
        ("go", "package a\n\nfunc f() {\n\ta()\n\t█\n\tb()\n}\n",
         "if x {\n\t\tc()\n\t}\n\td()", "if x {\n\t\tc()\n\t}"),
    ],
    # Lines that repeat the suffix's next lines are dropped.
    "suffix_repeats_are_dropped": [
        ("python", "def f(a):\n    █\n    return b\n",
         "b = a * 2\n    return b\n", "b = a * 2"),
        ("typescript", "function f(a: number) {\n  █\n  return b;\n}\n",
         "const b = a * 2;\n  return b;\n}\n", "const b = a * 2;"),
        ("java", "class A {\n  int f(int a) {\n    █\n    return b;\n  }\n}\n",
         "int b = a * 2;\n    return b;\n  }\n}\n", "int b = a * 2;"),
        ("go", "package a\n\nfunc f(a int) int {\n\t█\n\treturn b\n}\n",
         "b := a * 2\n\treturn b\n}\n", "b := a * 2"),
        # What is left after the cut to the scope repeats the next line: nothing to show.
        ("python", "class A:\n    def f(self, a):█\n        self.a = a\n\n    def g(self):\n"
         "        return 1\n", "\n        self.a = a\n\n    def h(self):\n        pass\n",
         None),
    ],
    # The part overlapping the rest of the cursor's line is not inserted twice.
    "line_overlap_is_not_repeated": [
        ("python", "def f(a, b):\n    return max(█)\n", "a, b)", "a, b"),
        ("python", "if check(█):\n    pass\n", "x, y):", "x, y"),
        ("python", "if check(█):\n    pass\n", "x, y)", "x, y"),
        ("typescript", "function f(a: number) {\n  return g(a, █);\n}\n", "b);", "b"),
        ("java", "class A {\n  void f(int x) {\n    if (x > █) {\n    }\n  }\n}\n", "0) {",
         "0"),
        ("go", "package a\n\nfunc f(a int) int {\n\treturn g(█)\n}\n", "a, 2)", "a, 2"),
    ],
    # A completion's own brackets are kept.
    "own_brackets_are_kept": [
        ("python", "def f(a, b):\n    return max(█)\n", "g(a), b", "g(a), b"),
        ("typescript", "const x = f(█);\n", "g(1)", "g(1)"),
        ("java", "class A {\n  int x = f(█);\n}\n", "g(1)", "g(1)"),
        ("go", "package a\n\nvar x = f(█)\n", "g(1)", "g(1)"),
    ],
    # Repetitive lines and blocks are kept once.
    "repetition_is_kept_once": [
        ("python", "def f(a):\n    █\n", "a += 1\n    a += 1\n    a += 1\n    a += 1",
         "a += 1"),
        ("python", "def f(a):\n    █\n",
         "a += 1\n    b -= 1\n    a += 1\n    b -= 1\n    a += 1\n    b -= 1",
         "a += 1\n    b -= 1"),
        ("typescript", "function f(a: number) {\n  █\n}\n",
         "a++;\n  a++;\n  a++;\n  a++;", "a++;"),
        ("java", "class A {\n  void f() {\n    █\n  }\n}\n",
         "log(1);\n    log(1);\n    log(1);", "log(1);"),
        ("go", "package a\n\nfunc f() {\n\t█\n}\n", "g()\n\tg()\n\tg()\n\tg()", "g()"),
        # A loop that ends with a newline, or part-way through a copy, is kept once too.
        ("python", "def main(argv):\n    █\n",
         "if not argv:\n        return 1\n    if not argv:\n        return 1\n    if not argv:\n"
         "        return 1\n", "if not argv:\n        return 1"),
        ("python", "def f(n):\n    █\n",
         "x = 1\n    if n is None:\n        return []\n    if n is None:\n        return []\n"
         "    if n is None:", "x = 1\n    if n is None:\n        return []"),
        ("typescript", "function f(a: number) {\n  █\n}\n",
         "if (a) {\n    g();\n  }\n  if (a) {\n    g();\n  }\n  if (a) {\n",
         "if (a) {\n    g();\n  }"),
    ],
    # Trailing whitespace is trimmed.
    "trailing_whitespace_is_trimmed": [
        ("python", "def f(a):\n    █\n", "b = a   \n    return b  \n\n\n",
         "b = a\n    return b"),
        ("typescript", "let x = █\n", "1;   ", "1;"),
        ("java", "class A {\n  void f() {\n    █\n  }\n}\n", "g();\t\n    h();  \n",
         "g();\n    h();"),
        ("go", "package a\n\nvar x = █\n", "1 \t ", "1"),
    ],
    # An empty result is no result.
    "empty_is_no_result": [
        ("python", "def f(a):\n    █\n    return a\n", "return a\n", None),
        ("python", "x = █\n", "\n\ny = 2", None),
        ("typescript", "function f() {\n  █\n}\n", "   \n\n  ", None),
        ("java", "class A {\n  int f() {\n    █\n  }\n}\n", "}\n}\n", None),
        ("go", "package a\n\nfunc f() {\n\t█\n}\n", "}\n", None),
    ],
    # No suggestion where the policy says none, whatever the model said.
    "policy_none_shows_nothing": [
        ("python", "x = va█lue\n", "lue", None),
        ("typescript", "let x = va█lue;\n", "lue", None),
        ("java", "class A {\n  int x = va█lue;\n}\n", "lue", None),
        ("go", "package a\n\nvar x = va█lue\n", "lue", None),
    ],
}

CASES = [(rule, *case) for rule, cases in GOLDEN.items() for case in cases]


@pytest.mark.parametrize("rule, language, source, answer, expected", CASES,
                         ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_golden(rule, language, source, answer, expected):
    assert shown(language, source, answer) == expected


def test_every_rule_is_golden_in_four_languages():
    for rule, cases in GOLDEN.items():
        assert {"python", "typescript", "java", "go"} <= {case[0] for case in cases}, rule


# The rules one by one, as pure functions.

def test_stop_at_newline():
    assert pp.stop_at_newline("a)\nb") == "a)"
    assert pp.stop_at_newline("\nb") == ""


def test_drop_suffix_repeats_matches_indentation_and_several_lines():
    suffix = "\n    return b\n}\n"
    assert pp.drop_suffix_repeats("x\n    return b\n}", "    ", suffix) == "x"
    # the same text at another indentation is not a repeat
    assert pp.drop_suffix_repeats("x\n  return b", "    ", suffix) == "x\n  return b"
    # nothing after the cursor's line: nothing to repeat
    assert pp.drop_suffix_repeats("x\ny", "", "") == "x\ny"


def test_limit_by_indentation_on_an_empty_line_and_after_an_opener():
    assert pp.limit_by_indentation("a = 1\n    b = 2\nc = 3", "    ") == "a = 1\n    b = 2"
    assert pp.limit_by_indentation("\n  a();\n}\nb();", "f() {") == "\n  a();\n}"
    assert pp.limit_by_indentation("\n    a = 1\nb = 2", "def f():") == "\n    a = 1"
    assert pp.limit_by_indentation("x\n\ty\nz", "\t") == "x\n\ty"


def test_a_block_cut_short_by_the_token_limit_loses_its_unfinished_line():
    text, offset = split_cursor("def f(xs):\n    t = 0\n    █\n    return t\n")
    document = ParsedDocument(text, "python")
    context = pp.document_cleanup_context(Mode.STATEMENT, document, offset)
    answer = "for x in xs:\n        t += x\n        if t > 10:\n            t -= comp"
    # `if t > 10:` goes too: its body was what the limit cut.
    assert pp.clean(answer, context, cut_short=True) == "for x in xs:\n        t += x"
    assert pp.clean(answer, context) == answer  # the model stopped there itself
    assert pp.drop_unfinished_line("\n    return a + b") == "\n    return a + b"  # one line stays
    assert pp.drop_unfinished_line("a = 1\nb = 2\n") == "a = 1\nb = 2\n"  # it was finished
    assert pp.drop_unfinished_line("a = 1\nif a:\n") == "a = 1"  # finished, but a header
    assert pp.drop_unfinished_line("if (a) {\n  g();\n  h(\n    1") == "if (a) {\n  g();"
    assert pp.drop_unfinished_line("\nif a:\n    b") == "\nif a:"  # the header alone stays
    assert pp.drop_unfinished_line("a = 1\nb = {\n") == "a = 1"
    line = pp.document_cleanup_context(Mode.LINE, document, offset)
    assert pp.clean("t = compute(1, 2,", line, cut_short=True) == "t = compute(1, 2,"


def test_statement_end_by_the_tree_in_a_crlf_document():
    from codellama_lsp.syntax.statement_end import first_statement_end

    text = "x = 1\r\n\r\ny = 2\r\n"
    document = ParsedDocument(text, "python")
    answer = "if a:\n    b()  # é\nz = 3"
    assert first_statement_end(document, 7, answer) == len("if a:\n    b()  # é")
    mode = decide(text, 7, document).mode
    assert pp.clean(answer, pp.document_cleanup_context(mode, document, 7)) == "if a:\n    b()  # é"


def test_statement_by_indentation_and_brackets():
    assert pp.statement_by_indentation("a = 1\nb = 2", "") == "a = 1"
    assert pp.statement_by_indentation("a = f(1,\n2)\nb = 2", "") == "a = f(1,\n2)"
    assert pp.statement_by_indentation("if a:\n    b\n\nelse:\n    c\nd", "") == \
        "if a:\n    b\n\nelse:\n    c"
    assert pp.statement_by_indentation("@cache\ndef f():\n    pass\nx = 1", "") == \
        "@cache\ndef f():\n    pass"
    assert pp.statement_by_indentation("try {\n  a();\n} catch (e) {\n}\nb();", "  ") == \
        "try {\n  a();\n} catch (e) {\n}"
    assert pp.statement_by_indentation("a = 1", "") == "a = 1"


def test_without_syntax_or_with_errors_the_statement_ends_by_indentation():
    text, offset = split_cursor("x = 1\n█\ny = 2\n")
    for document in (ParsedDocument(text, "notes.unknown"), ParsedDocument(text, "python")):
        context = pp.document_cleanup_context(Mode.STATEMENT, document, offset)
        # with the tree, `= =` is a parse error in the statement
        assert pp.clean("if a:\n    b = = 1\nz = 3", context) == "if a:\n    b = = 1"


def test_without_syntax_indentation_bounds_the_block():
    source = "def f(a):\n    █\n\nprint(f(1))\n"
    text, offset = split_cursor(source)
    document = ParsedDocument(text, "notes.unknown")
    context = pp.CleanupContext(Mode.BLOCK, text[:offset], text[offset:],
                                scope_end=partial(pp.tree_scope_end, document, offset))
    assert pp.clean("b = a\n    return b\n\ndef other():\n    pass", context) == \
        "b = a\n    return b"


def test_drop_line_overlap():
    assert pp.drop_line_overlap("a, b)", ")") == "a, b"
    assert pp.drop_line_overlap("g(a)", ")") == "g(a)"
    assert pp.drop_line_overlap("x = 1  # note", "  # note") == "x = 1"
    assert pp.drop_line_overlap("a + 1", " + 1") == "a"
    assert pp.drop_line_overlap("abc", "") == "abc"


def test_drop_repetition_leaves_two_equal_lines_alone():
    assert pp.drop_repetition("a\na") == "a\na"
    assert pp.drop_repetition("a\na\na") == "a"
    assert pp.drop_repetition("x\nb\nc\nb\nc") == "x\nb\nc"
    assert pp.drop_repetition("}\n  }\n}", "    ") == "}\n  }\n}"  # closers at other depths
    assert pp.drop_repetition("a\n  a\n  a", "  ") == "a"
    assert pp.drop_repetition("x\na\nb\na") == "x\na\nb\na"  # one copy and a half: kept
    assert pp.drop_repetition("x\na\nb\na\nb\na\n\n") == "x\na\nb"
    assert pp.drop_repetition("a\na\na\n", "") == "a"
    assert pp.drop_repetition("\n\n", "  ") == ""


def test_trim_and_crlf_answer():
    assert pp.trim_trailing_whitespace("a  \nb\t\n\n") == "a\nb"
    context = pp.CleanupContext(Mode.LINE, "x = ", "\n")
    assert pp.clean("1\r\ny = 2", context) == "1"


@pytest.mark.parametrize("language, source, completion, kept", [
    # a body the document closes at the opener's indentation: its `}` is left out
    ("typescript", "function f(a: number) {█\n}\n", "\n  return a;\n}\n\nfunction g() {}\n",
     "\n  return a;\n"),
    # a `}` further down at another indentation belongs to an outer scope: the literal's is kept
    ("java", "class A {\n  void f() {\n    int[] xs = {█\n  }\n}\n", "1, 2};\n    g();\n",
     "1, 2};"),
    ("go", "package a\n\nfunc f() {\n\tx := 1\n\t█\n}\n", "g()\n}\n\nfunc h() {}\n", "g()\n"),
    ("python", "def f(a):\n    █\n\nx = 1\n", "b = a\n    return b\nprint(b)\n",
     "b = a\n    return b"),
    # Python: a dedented comment ends the body, though tree-sitter keeps it inside
    ("python", "def f(a):\n    x = 1\n    █\n    return x\n", "y = x\n# note\n", "y = x"),
    # ... but a dedented line inside a string does not
    ("python", "def f(a):\n    █\n", 'a = """\n# not a comment\n"""', 'a = """\n# not a comment\n"""'),
    # a comment on the last statement's line stays with it
    ("python", "def f(a):\n    █\n\nprint(1)\n", "return a  # done\n\nprint(2)\n",
     "return a  # done"),
    # CRLF documents: the cut is an index into the (LF) completion
    ("typescript", "function f(a: number) {\r\n  █\r\n  log(a);\r\n}\r\n",
     "const b = a;\n}\n\nfunction g() {}\n", "const b = a;\n"),
    ("python", "def f(a):\r\n    x = 1\r\n    █\r\n    return x\r\n", "y = x\n# note\n",
     "y = x"),
    # the scope runs past the completion: nothing to cut
    ("python", "def f(a):\n    █\n", "b = a\n    return b", "b = a\n    return b"),
])
def test_tree_scope_end(language, source, completion, kept):
    text, offset = split_cursor(source)
    document = ParsedDocument(text, language)
    cut = pp.tree_scope_end(document, offset, completion)
    assert completion[:cut] == kept


def test_tree_scope_end_defers_to_indentation_without_a_tree_or_with_errors():
    assert pp.tree_scope_end(ParsedDocument("a\n", "notes.txt"), 2, "b\nc") is None
    text = "def f(a):\n    \n"
    assert pp.tree_scope_end(ParsedDocument(text, "python"), 14, "x = (((\ny = 2") is None


code = st.text(alphabet=st.sampled_from(list("ab_1 \t\n\r(){}[]:;,.'\"#/*=+é😀")), max_size=60)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(language=st.sampled_from(["python", "typescript", "java", "go", "notes.txt"]),
       text=code, answer=code, where=st.floats(0, 1))
def test_any_document_and_answer_give_a_clean_result_or_none(language, text, answer, where):
    """Whatever the editor holds and the model says: no exception, and the result is either
    nothing or text without trailing whitespace."""
    offset = int(where * len(text))
    document = ParsedDocument(text, language)
    mode = decide(text, offset, document).mode
    context = pp.cleanup_context(mode, text, offset, partial(pp.tree_scope_end, document, offset))
    shown = pp.clean(answer, context)
    assert shown is None or (shown and shown == shown.rstrip() and "\r" not in shown)
