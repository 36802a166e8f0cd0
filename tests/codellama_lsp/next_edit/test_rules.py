"""The model-free rules: rename propagation and repeated edits, on real syntax trees."""

from __future__ import annotations

import pytest

from codellama_lsp.next_edit.history import EditHistory
from codellama_lsp.next_edit.mode import Mode
from codellama_lsp.next_edit.predict import Context, predict
from codellama_lsp.next_edit.rename import renaming
from codellama_lsp.syntax.parsed import ParsedDocument

pytestmark = pytest.mark.unit

URI = "file:///a.py"


def suggest(text: str, edits: list[tuple[str, str]], language: str = "python",
            history: EditHistory | None = None) -> tuple[str, str] | None:
    """Make each edit (the first occurrence of `old` becomes `new`, as one change), then ask the
    rules; (the text with the suggestion applied, its source), or None."""
    history = history or EditHistory()
    cursor = 0
    for old, new in edits:
        at = text.index(old)
        history.record(URI, "a.py", text, at, at + len(old), new)
        text = text[:at] + new + text[at + len(old):]
        cursor = at + len(new)
    context = Context(ParsedDocument(text, language), cursor, URI, "a.py", history.recent(URI),
                      language)
    found = predict(context, Mode.RULES)
    if not found:
        return None
    (edit,) = found
    return edit.apply(text), edit.source


FUNCTIONS = ("def total(items):\n"
             "    count = 0\n"
             "    for item in items:\n"
             "        count += item.count\n"
             "    return count\n"
             "\n"
             "def other():\n"
             "    count = 1\n"
             "    return count\n")


def test_a_local_rename_stays_in_its_function_and_spares_attributes():
    result = suggest(FUNCTIONS, [("count = 0", "n = 0")])
    assert result == (FUNCTIONS.replace("count = 0", "n = 0")
                      .replace("count += item", "n += item").replace("return count\n\ndef",
                                                                     "return n\n\ndef"),
                      "rename")


def test_a_parameter_rename_reaches_its_body_and_a_function_rename_its_callers():
    text = "def area(w, h):\n    return w * h\n\nprint(area(2, 3), area(4, 5))\n"
    renamed, _ = suggest(text, [("w, h", "width, h")])
    assert renamed == text.replace("w, h", "width, h").replace("w * h", "width * h")
    renamed, _ = suggest(text, [("def area", "def surface")])
    assert renamed == text.replace("area", "surface")


def test_keyword_arguments_and_other_names_are_left_alone():
    text = "def f(size):\n    g(size=size)\n    return size\n"
    renamed, _ = suggest(text, [("f(size)", "f(n)")])
    assert renamed == "def f(n):\n    g(size=n)\n    return n\n"


def test_switching_to_another_existing_name_is_no_rename():
    text = "a = 1\nb = 2\nprint(a)\nprint(a + 1)\n"
    # print(a) -> print(b): b already names something; no earlier hunk renamed a to b.
    result = suggest(text, [("print(a)", "print(b)")])
    assert result is None or result[1] != "rename"
    # The same after an earlier hunk made the same renaming: the renaming goes on.
    text = "a = 1\nprint(a)\nprint(a + 1)\nprint(a + 2)\n"
    renamed, source = suggest(text, [("a = 1", "b = 1"), ("print(a)", "print(b)")])
    assert (renamed, source) == (text.replace("a", "b").replace("print", "print"), "rename")


def test_javascript_and_go_trees_work_too():
    js = "function f(x) {\n  const y = x + 1;\n  return y * x;\n}\n"
    renamed, _ = suggest(js, [("f(x)", "f(value)")], "javascript")
    assert renamed == js.replace("x", "value")
    go = "package main\n\nfunc f(x int) int {\n\treturn x + x\n}\n"
    renamed, _ = suggest(go, [("f(x int)", "f(v int)")], "go")
    assert renamed == go.replace("x", "v")


def test_no_tree_no_rename():
    assert suggest("count = 0\nprint(count)\n", [("count = 0", "n = 0")], "plaintext") \
        != ("n = 0\nprint(n)\n", "rename")


def test_what_is_a_renaming():
    history = EditHistory()
    history.record(URI, "a.py", "x = f(a, a)\n", 6, 10, "b, b")
    assert renaming(history.recent(URI)[0]).new == "b"
    history = EditHistory()
    history.record(URI, "a.py", "x = f(a)\n", 6, 7, "a, b")
    assert renaming(history.recent(URI)[0]) is None  # an argument added, not a renaming


CALLS = ("def f():\n"
         "    draw(a, b)\n"
         "    x = 1\n"
         "    draw(c, d)\n"
         "    other(e, g)\n"
         "    draw(h, i, color)\n"
         "    draw(j, k)\n")


def test_an_argument_added_to_one_call_is_suggested_for_the_next_call():
    result = suggest(CALLS, [("draw(a, b)", "draw(a, b, color)")])
    assert result == (CALLS.replace("draw(a, b)", "draw(a, b, color)")
                      .replace("draw(c, d)", "draw(c, d, color)"), "repeat")


def test_calls_that_have_it_already_are_skipped():
    text = CALLS.replace("draw(c, d)", "draw(c, d, color)")
    renamed, _ = suggest(text, [("draw(a, b)", "draw(a, b, color)")])
    assert renamed.endswith("    draw(j, k, color)\n")


def test_a_change_on_one_line_is_suggested_where_it_stands_next():
    text = "if x == None:\n    pass\nif y == None:\n    pass\n"
    changed, source = suggest(text, [("x == None", "x is None")])
    assert (changed, source) == (text.replace("==", "is"), "repeat")
    # A method renamed at one call is a renaming of that member, wherever it is called.
    text = "self.assertEquals(a, 1)\nprint(x)\nself.assertEquals(b, 2)\n"
    renamed, _ = suggest(text, [("assertEquals(a", "assertEqual(a")])
    assert renamed == text.replace("assertEquals", "assertEqual")


def test_nothing_to_repeat_nothing_suggested():
    assert suggest(CALLS, [("    x = 1\n", "    x = 1\n    y = 2\n")]) is None
    assert suggest(CALLS, []) is None
