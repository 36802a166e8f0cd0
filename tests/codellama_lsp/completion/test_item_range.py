"""Golden tests of the text right of the cursor that an item replaces."""

from __future__ import annotations

import pytest

from codellama_lsp.completion.item_range import (
    replaced_length,
    rest_of_line,
    without_closers,
    word_before,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("completion, rest, replaced", [
    ('"hello")', ")", 1),  # print(|) -> print("hello")
    ('"hello")', ")\n", 1),
    ("x):", "):", 2),
    ("x)", "):", 1),  # the `:` stays
    ('hi")', '")', 2),  # auto-closed quote and bracket
    ("a, b]\n", "]", 0),  # a completion that ends its line leaves the closer alone
    ("\n    a,\n    b,\n)", ")", 1),  # a multi-line completion ending with the closer
    ("foo(a", "a + b", 0),  # words right of the cursor are never taken over
    ("1 + 2", ")", 0),  # the completion does not contain the closer
    ("x) ", ")", 1),  # trailing blanks of the completion do not matter
    ("value", "", 0),
    ("x)", " )", 0),
])
def test_replaced_length(completion, rest, replaced):
    assert replaced_length(completion, rest.rstrip("\n")) == replaced


def test_rest_of_line_stops_at_any_line_end():
    assert rest_of_line("f(|)\r\nnext", 2) == "|)"
    assert rest_of_line("ab\rc", 1) == "b"
    assert rest_of_line("abc", 3) == ""


@pytest.mark.parametrize("text, offset, word", [
    ("x = total", 9, "total"), ("x = total(", 10, ""), ("a\nfoo_1", 7, "foo_1"),
    ("ab\r\ncd", 6, "cd"), ("", 0, ""), ("naïve", 5, "naïve"),
])
def test_word_before_the_cursor(text, offset, word):
    assert word_before(text, offset) == word


def test_without_closers_leaves_what_is_right_of_the_cursor_in_place():
    assert without_closers('"hello")', ")") == '"hello"'
    assert without_closers("x) ", ")") == "x"
    assert without_closers("a, b]\n", "]") == "a, b]\n"
