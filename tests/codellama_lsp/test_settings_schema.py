"""One settings table: the server's validation, the command line's options, the README table,
VS Code's configuration and the Neovim help all come from `settings_schema.SETTINGS`."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import shutil
from pathlib import Path

import pytest

from codellama_lsp import settings_docs
from codellama_lsp.cli import build_parser
from codellama_lsp.commands.model_args import check_new_tokens_option
from codellama_lsp.errors import UserError
from codellama_lsp.lsp.settings import Settings, update_settings
from codellama_lsp.settings_schema import CLIENT_SETTINGS, SERVER_SETTINGS, SETTINGS
from tests.support.paths import ROOT

pytestmark = pytest.mark.unit

# For each setting with a command-line option: values both sides must take, and values both
# must refuse (as JSON for the server; the command line gets their text).
SHARED_VALUES: dict[str, tuple[list, list]] = {
    "engine": (["local", "http://127.0.0.1:8000", "tgi+https://gpu/v1", "llamacpp+http://h:1"],
               ["ftp://x", "foo+http://h:1", "http://", "gpu:8000", ""]),
    "model": (["/models/7b", "demo", "codellama/CodeLlama-7b-hf"], ["", "   "]),
    "device": (["auto", "cpu"], ["tpu", "cuda:x", "gpu", ""]),
    "dtype": (["auto", "float32", "float16", "bfloat16"], ["int3", "half", ""]),
    "deviceMap": (["auto", "balanced", "balanced_low_0", "sequential"], ["everywhere", ""]),
    "quantize": (["8bit", "4bit"], ["2bit", "8", ""]),
    "contextWindow": ([64, 4096, 16384, 1 << 20], [63, 0, -1, (1 << 20) + 1]),
    "maxNewTokens": ([1, 64, 4096], [0, -3, 4097]),
    "fimFormat": (["psm", "spm", "SPM"], ["xyz", "fim", ""]),
    "tokenHealing": ([True, False], ["yes", 1, ""]),
    "topP": ([0.01, 0.5, 1], [0, 1.5, -0.2]),
    "compile": (["auto", "on", "off"], ["always", ""]),
}
# A command whose parser has each option (most are on `complete`).
COMMAND_OF = {"--compile": ["bench", "typing", "a.py"]}
# A remote engine skips the checks against this machine (a CPU build here: no CUDA for 8bit),
# and a large window leaves room for any maxNewTokens; what is compared is the one value's check.
BASE = Settings(engine="http://127.0.0.1:1", max_new_tokens=1, context_window=1 << 20)


def server_takes(key: str, value: object) -> bool:
    base = dataclasses.replace(BASE, engine="local") if key == "engine" else BASE
    return update_settings(base, {key: value}).errors == []


def command_line_takes(flag: str, value: object) -> bool:
    argv = [*COMMAND_OF.get(flag, ["complete", "a.py:1"]), flag, str(value)]
    with contextlib.redirect_stderr(io.StringIO()):
        try:
            build_parser().parse_args(argv)
        except SystemExit:
            return False
    return True


def test_every_setting_with_an_option_is_compared():
    assert {key for key, row in SERVER_SETTINGS.items() if row.cli} == set(SHARED_VALUES)


@pytest.mark.parametrize("key", sorted(SHARED_VALUES))
def test_the_server_and_the_command_line_take_and_refuse_the_same_values(key):
    flag = SERVER_SETTINGS[key].cli
    assert flag is not None
    good, bad = SHARED_VALUES[key]
    assert [v for v in good if not server_takes(key, v)] == []
    assert [v for v in good if not command_line_takes(flag, v)] == []
    assert [v for v in bad if server_takes(key, v)] == []
    assert [v for v in bad if command_line_takes(flag, v)] == []


@pytest.mark.parametrize("max_new_tokens, window, fits", [
    (2047, 4096, True), (2048, 4096, False), (127, 256, True), (128, 256, False),
    (4000, 4096, False), (31, 64, True)])
def test_one_rule_for_max_new_tokens_against_the_window(max_new_tokens, window, fits):
    server = update_settings(Settings(), {"maxNewTokens": max_new_tokens, "contextWindow": window})
    assert (server.errors == []) == fits, server.errors
    assert server.settings == (Settings(max_new_tokens=max_new_tokens, context_window=window)
                               if fits else Settings())
    try:
        check_new_tokens_option(max_new_tokens, window)
    except UserError as exc:
        assert not fits and "under half of --context-window" in str(exc)
    else:
        assert fits


def test_settings_has_one_field_per_server_setting_with_its_default():
    fields = dataclasses.fields(Settings)
    assert [f.name for f in fields] == [row.field for row in SERVER_SETTINGS.values()]
    rows = {row.field: row for row in SERVER_SETTINGS.values()}
    assert all(f.default == rows[f.name].server_default() for f in fields)
    assert Settings().quantize is None and Settings().languages == ("*",)


def test_the_rows_are_well_formed():
    keys = [row.key for row in SETTINGS]
    assert len(keys) == len(set(keys))
    for row in SETTINGS:
        assert row.doc and "\n" not in row.doc and "%" not in row.doc, row.key  # argparse help
        assert (row.low is None) == (row.high is None), row.key
        if row.reader == "server":
            assert row.check(row.default) == row.server_default(), row.key
    assert set(CLIENT_SETTINGS) == {"enable", "server.command", "server.python", "server.settings",
                                    "disabledLanguages", "excludeFiles", "showInfo"}
    assert all(row.cli is None for row in CLIENT_SETTINGS.values())
    flags = [row.cli for row in SETTINGS if row.cli]
    assert len(flags) == len(set(flags))


def test_unknown_and_client_keys_are_reported_by_the_server():
    update = update_settings(Settings(), {"colour": "blue", "enable": False,
                                          "quantization": "8bit"})
    assert update.settings == Settings()
    assert [e.split()[2] for e in update.errors] == \
        ["codellama.colour", "codellama.enable", "codellama.quantization"]


# -- the generated files -----------------------------------------------------------------------

def test_the_generated_files_are_up_to_date():
    stale = settings_docs.out_of_date()
    assert stale == [], (f"{', '.join(stale)} out of date with codellama_lsp/settings_schema.py: "
                         f"run {settings_docs.COMMAND}")


def _copy(tmp_path: Path) -> Path:
    names = [settings_docs.README, settings_docs.VSCODE_MANIFEST, settings_docs.VSCODE_KEYS,
             settings_docs.VSCODE_README, settings_docs.NVIM_HELP, settings_docs.VSCODE_SECRETS,
             settings_docs.NVIM_SECRETS]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    assert settings_docs.out_of_date(tmp_path) == []
    return tmp_path


def test_a_hand_edit_of_any_generated_part_is_caught(tmp_path):
    root = _copy(tmp_path)
    readme = root / settings_docs.README
    readme.write_text(readme.read_text().replace("| `debounceMs` | integer, 0 to 5000 | `75` |",
                                                 "| `debounceMs` | integer, 0 to 5000 | `50` |"))
    manifest_path = root / settings_docs.VSCODE_MANIFEST
    manifest = json.loads(manifest_path.read_text())
    del manifest["contributes"]["configuration"]["properties"]["codellama.prewarm"]
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    help_path = root / settings_docs.NVIM_HELP
    help_path.write_text(help_path.read_text().replace("`topP`:", "`top_p`:"))
    (root / settings_docs.VSCODE_KEYS).write_text("export const SERVER_SETTINGS = [];\n")
    assert settings_docs.out_of_date(root) == [settings_docs.README,
                                               settings_docs.VSCODE_MANIFEST,
                                               settings_docs.VSCODE_KEYS,
                                               settings_docs.NVIM_HELP]


def test_every_server_setting_is_in_each_generated_file():
    readme = (ROOT / settings_docs.README).read_text()
    properties = json.loads((ROOT / settings_docs.VSCODE_MANIFEST).read_text()
                            )["contributes"]["configuration"]["properties"]
    keys_ts = (ROOT / settings_docs.VSCODE_KEYS).read_text()
    help_text = (ROOT / settings_docs.NVIM_HELP).read_text()
    for row in SERVER_SETTINGS.values():
        assert f"| `{row.key}` |" in readme
        prop = properties[f"codellama.{row.key}"]
        assert prop["default"] == row.default and prop["markdownDescription"], row.key
        assert f"'{row.key}'," in keys_ts
        assert f"\n`{row.key}`: " in help_text
    assert set(properties) == {f"codellama.{row.key}" for row in SETTINGS}
    assert properties["codellama.deviceMap"]["enum"] == [
        "auto", "balanced", "balanced_low_0", "sequential", None]


def test_the_writer_fixes_what_is_out_of_date(tmp_path, monkeypatch):
    root = _copy(tmp_path)
    help_path = root / settings_docs.NVIM_HELP
    help_path.write_text(help_path.read_text().replace("`topP`:", "`top_p`:"))
    monkeypatch.setattr(settings_docs, "ROOT", root)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert settings_docs.main([]) == 1
        assert settings_docs.main(["--write"]) == 0
        assert settings_docs.main([]) == 0
    assert f"{settings_docs.NVIM_HELP} is out of date" in out.getvalue()
    assert settings_docs.out_of_date(root) == []


def test_lsp_model_options_are_named_and_defaulted_as_the_settings():
    """`codellama lsp`'s options become the server's defaults field by field (commands/lsp.py),
    and check_model_args reads the machine checks' values from them by field name."""
    args = vars(build_parser().parse_args(["lsp"]))
    for key in ("engine", "model", "device", "dtype", "deviceMap", "quantize", "contextWindow"):
        row = SERVER_SETTINGS[key]
        assert args[row.field] == row.default, key


def test_a_boolean_option_names_its_two_values():
    token_healing = next(row for row in SETTINGS if row.key == "tokenHealing")
    assert token_healing.parse("False") is False
    with pytest.raises(ValueError, match="must be true or false, got 'maybe'"):
        token_healing.parse("maybe")
