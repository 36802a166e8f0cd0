"""Golden tests of the text right of the cursor that an item replaces."""

from __future__ import annotations

import pytest

from codellama_lsp.completion.item_range import replaced_length, rest_of_line


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
