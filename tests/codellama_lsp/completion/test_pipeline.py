"""`complete_in_document`: policy, context, model, clean-up; and bad input never crashes."""

from __future__ import annotations

import json

import pytest

from codellama_lsp.completion.pipeline import CompletionOptions, complete_in_document
from codellama_lsp.completion.policy import Mode
from codellama_lsp.completion.snippets import SnippetSource
from codellama_lsp.errors import UserError
from codellama_lsp.syntax.parsed import ParsedDocument
from tests.support.cli import run_cli
from tests.support.engines import ScriptedEngine

pytestmark = pytest.mark.server


def test_block_completion_is_cleaned_and_keeps_crlf(tiny_engine):
    text = "def f(a):\r\n    \r\n\r\nprint(f(1))\r\n"  # an empty block: a block is wanted
    engine = ScriptedEngine(tiny_engine.tokenizer, "b = a * 2\n    c = b\n\nprint(f(1))\n")
    result = complete_in_document(engine, ParsedDocument(text, "python"), text.index("\r\n    "
                                                                                   "\r\n") + 6,
                                  CompletionOptions())
    assert result.mode is Mode.BLOCK
    assert result.text == "b = a * 2\r\n    c = b"
    assert result.raw == "b = a * 2\n    c = b\n\nprint(f(1))\n"
    assert "\r" not in result.prompt.text  # the model sees LF, as it was trained
    assert "\n" not in engine.requests[0].stop


@pytest.mark.parametrize("ends, newline", [(["\n", "\r\n", "\n", "\n"], "\n"),
                                           (["\r\n", "\n", "\r\n", "\r\n"], "\r\n")])
def test_mixed_line_ends_complete_with_the_most_common_one(tiny_engine, ends, newline):
    lines = ["def f(a):", "    ", "", "", "print(f(1))"]
    text = "".join(line + end for line, end in zip(lines, ends)) + lines[-1] + "\n"
    engine = ScriptedEngine(tiny_engine.tokenizer,
                            "b = a * 2\n    # double it\n    c = b\n# done\nprint(c)\n")
    offset = len(lines[0] + ends[0] + lines[1])
    result = complete_in_document(engine, ParsedDocument(text, "python"), offset,
                                  CompletionOptions())
    assert result.text == f"b = a * 2{newline}    # double it{newline}    c = b"


def test_line_mode_asks_the_engine_to_stop_at_the_newline(tiny_engine):
    text = "const total = compute(\n"
    engine = ScriptedEngine(tiny_engine.tokenizer, "a, b);")
    result = complete_in_document(engine, ParsedDocument(text, "typescript"),
                                  text.index("\n"), CompletionOptions())
    assert (result.mode, result.text) == (Mode.LINE, "a, b);")
    assert "\n" in engine.requests[0].stop


def test_no_suggestion_in_the_middle_of_a_word(tiny_engine):
    text = "value = 1\nprint(val)\n"
    engine = ScriptedEngine(tiny_engine.tokenizer, "ue")
    document = ParsedDocument(text, "python")
    assert complete_in_document(engine, document, text.index("al)"), CompletionOptions()) is None
    assert engine.requests == []  # the model is not even asked


def test_an_answer_that_cleans_to_nothing_is_no_suggestion(tiny_engine):
    text = "def f(a):\n    \n    return a\n"
    engine = ScriptedEngine(tiny_engine.tokenizer, "return a\n")
    assert complete_in_document(engine, ParsedDocument(text, "python"), 14,
                                CompletionOptions()) is None


@pytest.mark.parametrize("offset", [-1, 10_000])
def test_cursor_outside_the_document_is_a_clear_error(tiny_engine, offset):
    engine = ScriptedEngine(tiny_engine.tokenizer, "x")
    with pytest.raises(UserError, match="outside the document"):
        complete_in_document(engine, ParsedDocument("x = 1\n", "python"), offset,
                             CompletionOptions())


def test_unknown_language_gets_a_plain_completion(tiny_engine):
    text = "Shopping list:\n- apples\n- \n"
    engine = ScriptedEngine(tiny_engine.tokenizer, "pears\n- plums")
    document = ParsedDocument(text, "notes.md")
    result = complete_in_document(engine, document, text.index("- \n") + 2, CompletionOptions(),
                                  snippets=SnippetSource(None))
    assert document.tree is None
    assert (result.mode, result.text) == (Mode.LINE, "pears")


def test_a_ten_megabyte_document_completes_without_syntax(tiny_engine):
    line = "value_%d = compute(%d)  # a line of a very large generated file\n"
    text = "".join(line % (i, i) for i in range(150_000))
    assert len(text) > 9_000_000
    document = ParsedDocument(text, "python")
    assert document.tree is None
    engine = ScriptedEngine(tiny_engine.tokenizer, "1)\nmore = 2")
    offset = text.index("compute(77777)") + len("compute(77777")
    result = complete_in_document(engine, document, offset, CompletionOptions(max_new_tokens=16),
                                  snippets=SnippetSource(None))
    assert result.text == "1"  # the `)` after the cursor is not inserted twice
    assert len(engine.requests[0].prompt_ids) <= engine.context_window - 16


def test_real_tiny_model_in_a_document(tiny_engine, tmp_path):
    (tmp_path / "util.py").write_text("def helper(x):\n    return x + 1\n")
    text = "from util import helper\n\ndef f(a):\n    b = helper(a)\n    \n"
    document = ParsedDocument(text, path=str(tmp_path / "main.py"))
    result = complete_in_document(tiny_engine, document, len(text) - 1,
                                  CompletionOptions(max_new_tokens=8, stop=("\n\n",)),
                                  snippets=SnippetSource(tmp_path))
    assert result is None or (result.mode is Mode.BLOCK and result.text == result.text.rstrip())
    assert "# Path: util.py" in (result.prompt.text if result else "# Path: util.py")


def test_cli_complete_reports_mode_and_honours_no_context(tiny_model, tmp_path):
    (tmp_path / "util.py").write_text("def helper(x):\n    return x + 1\n")
    source = tmp_path / "main.py"
    source.write_text("from util import helper\n\ndef f(a):\n    b = helper(a)\n    \n")
    counts = {}
    for flag in ([], ["--no-context"]):
        out = run_cli("complete", f"{source}:5", "--model", str(tiny_model), "--json",
                      "--max-new-tokens", "4", *flag)
        assert out.returncode == 0, out.stderr
        report = json.loads(out.stdout)
        assert report["mode"] == "block" and report["language"] == "python"
        counts[bool(flag)] = report["prompt_tokens"]
    assert counts[False] > counts[True]  # the definition of helper went into the prompt


def test_cli_complete_in_a_word_prints_nothing(tiny_model, tmp_path):
    source = tmp_path / "main.py"
    source.write_text("value = 1\nprint(value)\n")
    out = run_cli("complete", f"{source}:2:9", "--model", str(tiny_model), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"completion": "", "mode": "none", "language": "python",
                                      "model": str(tiny_model)}


def test_cli_bad_files_are_one_line_errors(tmp_path, tiny_model):
    huge = tmp_path / "huge.py"
    huge.write_bytes(b"x = 1\n" * (11 * 1024 * 1024 // 6))
    binary = tmp_path / "blob.ts"
    binary.write_bytes(b"\x00\x01\x02")
    latin = tmp_path / "latin.go"
    latin.write_bytes("var s = \"caf\xe9\"\n".encode("latin-1"))
    cases = [(["complete", f"{huge}:1", "--model", str(tiny_model)], "larger than 10 MB"),
             (["bench", "context", str(huge)], "larger than 10 MB"),
             (["complete", f"{binary}:1", "--model", str(tiny_model)], "binary file"),
             (["prompt", f"{latin}:1", "--tokenizer", str(tiny_model)], "not UTF-8"),
             (["complete", f"{latin.with_name('ok.go')}:1", "--model", str(tiny_model)],
              "no such file")]
    for args, message in cases:
        out = run_cli(*args)
        assert out.returncode == 2, (args, out.stderr)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], out.stderr


def test_cli_unknown_language_and_a_large_file_get_plain_prompts(tmp_path, tiny_model):
    notes = tmp_path / "notes.md"
    notes.write_text("# Plan\n\n- first\n- \n")
    big = tmp_path / "big.py"
    big.write_text("value = compute(1)  # a line of a large generated file\n" * 60_000)
    for location in (f"{notes}:4", f"{big}:30000:16"):
        out = run_cli("prompt", location, "--tokenizer", str(tiny_model), "--json")
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["ids"]


def test_spm_by_default_falls_back_to_left_to_right_without_fim_pieces(tiny_model_no_fim):
    """The language server's default order (SPM) must not fail Code Llama - Python or 34B."""
    from fim.engines.local import LoadOptions, LocalEngine
    from fim.prompt import FimFormat

    engine = LocalEngine.load(LoadOptions(model=str(tiny_model_no_fim)))
    text = "def f(a):\n    return \n"
    result = complete_in_document(engine, ParsedDocument(text, "python"),
                                  text.index("return ") + 7,
                                  CompletionOptions(spm=True, max_new_tokens=4))
    assert result is not None and result.prompt.format is FimFormat.L2R
