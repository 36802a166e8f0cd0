"""Golden tests: a model's reply turned into the replacement for the selected lines."""

from __future__ import annotations

import pytest

from codellama_lsp.edits.reply import (
    NoUsableCode,
    Selection,
    extract_code,
    fenced_blocks,
    fit_reply,
)

pytestmark = pytest.mark.unit

FUNC = "def add(a, b):\n    return a + b\n"


def sel(code: str, before: str = "", after: str = "", newline: str = "\n") -> Selection:
    return Selection(code, before, after, newline, code.endswith("\n"))


def test_no_fence_takes_the_whole_reply():
    reply = "def add(a: int, b: int) -> int:\n    return a + b\n"
    assert fit_reply(reply, sel(FUNC), "python") == reply


def test_several_fences_take_the_first():
    reply = ("Here is the function with type hints:\n\n```python\n"
             "def add(a: int, b: int) -> int:\n    return a + b\n```\n\n"
             "Example usage:\n\n```python\nprint(add(1, 2))\n```\n")
    assert fit_reply(reply, sel(FUNC), "python") == \
        "def add(a: int, b: int) -> int:\n    return a + b\n"


def test_a_block_in_another_language_is_passed_over_for_the_selections():
    reply = ("First install it:\n```bash\npip install numpy\n```\nThen:\n"
             "```python\nimport numpy as np\n```\n")
    assert fit_reply(reply, sel("import math\n"), "python") == "import numpy as np\n"


@pytest.mark.parametrize("tag", ["py", "Python3", "", "python  title='x'"])
def test_an_alias_or_no_tag_counts_as_the_selections_language(tag):
    reply = f"```{tag}\nimport numpy\n```\n```python\nimport scipy\n```"
    assert fit_reply(reply, sel("import math\n"), "python") == "import numpy\n"


def test_only_a_block_with_another_tag_is_still_taken():
    reply = "```text\nx = 2\n```\nDone."
    assert extract_code(reply, "python").tag == "text"
    assert fit_reply(reply, sel("x = 1\n"), "python") == "x = 2\n"


def test_tilde_fences_and_longer_backtick_fences():
    assert fenced_blocks("~~~js\nf()\n~~~") == [("js", "f()\n")]
    reply = "````markdown\nUse ```code``` here\n```\nx\n```\n````\ntail"
    assert fenced_blocks(reply) == [("markdown", "Use ```code``` here\n```\nx\n```\n")]


def test_an_unclosed_fence_runs_to_the_end():
    reply = "```python\ndef add(a: int, b: int) -> int:\n    return a + b"
    assert fit_reply(reply, sel(FUNC), "python") == \
        "def add(a: int, b: int) -> int:\n    return a + b\n"


def test_indentation_fitted_to_the_selections_base():
    code = "    def add(self, a, b):\n        return a + b\n"
    at_column_0 = "```python\ndef add(self, a: int, b: int) -> int:\n    return a + b\n```"
    too_deep = ("```python\n        def add(self, a: int, b: int) -> int:\n"
                "            return a + b\n```")
    expected = "    def add(self, a: int, b: int) -> int:\n        return a + b\n"
    assert fit_reply(at_column_0, sel(code), "python") == expected
    assert fit_reply(too_deep, sel(code), "python") == expected


def test_tabs_stay_tabs_when_the_reply_uses_spaces():
    code = "\tif err != nil {\n\t\treturn err\n\t}\n"
    reply = ("```go\nif err != nil {\n    log.Println(err)\n    return err\n}\n```")
    assert fit_reply(reply, sel(code), "go") == \
        "\tif err != nil {\n\t\tlog.Println(err)\n\t\treturn err\n\t}\n"


def test_tabs_in_the_reply_are_kept_and_spaces_files_get_spaces():
    tabbed = "```go\n\tif x {\n\t\ty()\n\t}\n```"
    assert fit_reply(tabbed, sel("\tif x {\n\t\tz()\n\t}\n"), "go") == "\tif x {\n\t\ty()\n\t}\n"
    spaced = "    if x:\n        z()\n"
    reply = "```python\nif x:\n\ty()\n```"
    assert fit_reply(reply, sel(spaced), "python") == "    if x:\n        y()\n"


def test_crlf_file_gets_crlf_lines():
    selection = sel("def add(a, b):\n    return a + b\n", newline="\r\n")
    reply = "```python\r\ndef add(a: int, b: int) -> int:\r\n    return a + b\r\n```"
    assert fit_reply(reply, selection, "python") == \
        "def add(a: int, b: int) -> int:\r\n    return a + b\r\n"


def test_repeated_context_lines_are_dropped():
    before = "class Calc:\n    \"\"\"A calculator.\"\"\"\n\n"
    code = "    def add(self, a, b):\n        return a + b\n"
    after = "\n    def sub(self, a, b):\n        return a - b\n"
    reply = ("```python\nclass Calc:\n    \"\"\"A calculator.\"\"\"\n\n"
             "    def add(self, a: int, b: int) -> int:\n        return a + b\n\n"
             "    def sub(self, a, b):\n        return a - b\n```")
    assert fit_reply(reply, sel(code, before, after), "python") == \
        "    def add(self, a: int, b: int) -> int:\n        return a + b\n"


def test_context_repeated_with_other_indentation_is_dropped_too():
    before = "def main():\n"
    code = "    x = 1\n"
    after = "    return x\n"
    reply = "```python\ndef main():\n    x = 2\n    return x\n```"
    assert fit_reply(reply, sel(code, before, after), "python") == "    x = 2\n"


def test_a_line_the_selection_itself_starts_with_is_kept():
    before = "}\n"
    code = "}\nint f() {\n  return 1;\n"
    reply = "```c\n}\nint f(void) {\n  return 1;\n```"
    assert fit_reply(reply, sel(code, before), "c") == "}\nint f(void) {\n  return 1;\n"


def test_selection_without_final_newline_gets_none():
    assert fit_reply("```python\nx = 2\n```", sel("x = 1"), "python") == "x = 2"


def test_blank_lines_lose_trailing_whitespace():
    reply = "```python\nx = 1\n    \ny = 2\n```"
    assert fit_reply(reply, sel("    x = 1\n    y = 2\n"), "python") == "    x = 1\n\n    y = 2\n"


@pytest.mark.parametrize("reply", ["", "   \n\n", "```python\n```", "```python\n\n\n```"])
def test_a_reply_without_code_is_refused(reply):
    with pytest.raises(NoUsableCode, match="no usable code"):
        fit_reply(reply, sel(FUNC), "python")


def test_a_reply_that_only_repeats_context_is_refused():
    with pytest.raises(NoUsableCode):
        fit_reply("```python\nimport os\n```", sel("x = 1\n", before="import os\n"), "python")
