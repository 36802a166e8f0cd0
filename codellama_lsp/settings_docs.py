"""The parts of other files made from the settings table (`settings_schema.SETTINGS`): the
README's settings table, VS Code's `contributes.configuration` and the list of settings the
extension sends, its README's table of extension settings, and the Neovim help's list; and the
secret files both clients never send (`settings_schema.SECRET_FILES`), as a TypeScript and a
Lua module.

    python -m codellama_lsp.settings_docs --write   # rewrite them
    python -m codellama_lsp.settings_docs           # say which are out of date (exit 1)

tests/codellama_lsp/test_settings_schema.py fails while any of them is out of date.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codellama_lsp.settings_schema import SECRET_FILES, SECTION, SETTINGS, Setting

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "python -m codellama_lsp.settings_docs --write"
BEGIN = f"<!-- generated from codellama_lsp/settings_schema.py by `{COMMAND}` -->"
END = "<!-- end of generated part -->"
HELP_TITLE = "6. SERVER SETTINGS"
HELP_TAG = "*codellama-settings*"

README = "README.md"
VSCODE_MANIFEST = "editors/vscode/package.json"
VSCODE_KEYS = "editors/vscode/src/serverSettings.ts"
VSCODE_README = "editors/vscode/README.md"
VSCODE_SECRETS = "editors/vscode/src/secretFiles.ts"
NVIM_HELP = "editors/nvim/doc/codellama.txt"
NVIM_SECRETS = "editors/nvim/lua/codellama/secret_files.lua"


def _server() -> list[Setting]:
    return [s for s in SETTINGS if s.reader == "server"]


def _client() -> list[Setting]:
    return [s for s in SETTINGS if s.reader == "client"]


def _or(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _kind(row: Setting, quote: Callable[[str], str], null: str) -> str:
    """What a value may be, e.g. "integer, 1 to 4096" or "`psm` or `spm`"."""
    if row.choices:
        text = _or([quote(c) for c in row.choices])
    elif row.low is not None:
        text = f"{row.kind}, {row.low} to {row.high}"
    else:
        text = {"array": "list of strings"}.get(row.kind, row.kind)
    return f"{text}, or {null}" if row.nullable else text


# -- README.md ---------------------------------------------------------------------------------

def _markdown_value(value: Any) -> str:
    return f"`{value}`" if isinstance(value, str) and value else f"`{json.dumps(value)}`"


def readme_table() -> str:
    lines = ["| setting | type | default | option | meaning |", "|---|---|---|---|---|"]
    for row in _server():
        cells = [f"`{row.key}`", _kind(row, lambda c: f"`{c}`", "`null`"),
                 _markdown_value(row.default), f"`{row.cli}`" if row.cli else "", row.doc]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def vscode_readme_table() -> str:
    lines = ["| setting | default | meaning |", "|---|---|---|"]
    for row in _client():
        lines.append(f"| `{SECTION}.{row.key}` | {_markdown_value(row.default)} | {row.doc} |")
    return "\n".join(lines)


def _replace_between_markers(text: str, body: str, name: str) -> str:
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise ValueError(f"{name} must hold the markers {BEGIN} and {END} once each, in order")
    head, rest = text.split(BEGIN)
    tail = rest.split(END)[1]
    return f"{head}{BEGIN}\n{body}\n{END}{tail}"


# -- VS Code -----------------------------------------------------------------------------------

def vscode_property(row: Setting) -> dict[str, Any]:
    kind: str | list[str] = [row.kind, "null"] if row.nullable else row.kind
    prop: dict[str, Any] = {"type": kind}
    if row.kind == "array":
        prop["items"] = {"type": "string"}
    if row.choices:
        prop["enum"] = [*row.choices, None] if row.nullable else list(row.choices)
    prop["default"] = row.default
    if row.low is not None:
        prop["minimum"], prop["maximum"] = row.low, row.high
    prop["markdownDescription"] = row.doc[0].upper() + row.doc[1:] + "."
    return prop


def vscode_configuration() -> dict[str, Any]:
    return {"title": "Code Llama",
            "properties": {f"{SECTION}.{row.key}": vscode_property(row) for row in SETTINGS}}


def vscode_keys() -> str:
    keys = "".join(f"\t'{row.key}',\n" for row in _server())
    return ("// The server's settings, which the extension sends where the user set them. "
            "Generated from\n// codellama_lsp/settings_schema.py by `python -m "
            "codellama_lsp.settings_docs --write`: do not edit.\n\n"
            f"export const SERVER_SETTINGS: readonly string[] = [\n{keys}];\n")


def _manifest(text: str) -> str:
    manifest = json.loads(text)
    manifest["contributes"]["configuration"] = vscode_configuration()
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


def vscode_secrets() -> str:
    globs = "".join(f"\t'{glob}',\n" for glob in SECRET_FILES)
    return ("// Files the extension never sends to the server, whatever the settings. Generated "
            "from\n// codellama_lsp/settings_schema.py by `python -m codellama_lsp.settings_docs "
            "--write`: do not edit.\n\n"
            f"export const SECRET_FILES: readonly string[] = [\n{globs}];\n")


# -- Neovim ------------------------------------------------------------------------------------

def nvim_secrets() -> str:
    globs = "".join(f"  {json.dumps(glob)},\n" for glob in SECRET_FILES)
    return ("-- Files the plugin never sends to the server, whatever the options. Generated from\n"
            "-- codellama_lsp/settings_schema.py by `python -m codellama_lsp.settings_docs "
            f"--write`: do not edit.\nreturn {{\n{globs}}}\n")


def _lua(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "{ " + ", ".join(_lua(v) for v in value) + " }"
    return str(value)


def nvim_help_section() -> str:
    lines = [HELP_TITLE + HELP_TAG.rjust(78 - len(HELP_TITLE)), ""]
    lines += textwrap.wrap(
        "The server's settings, for `settings` in |codellama-setup|; those left out keep the "
        "server's defaults (its command line's options, else the defaults below). Generated "
        f"from codellama_lsp/settings_schema.py (`{COMMAND}`); the project README has the "
        "same table.", 78)
    for row in _server():
        first = f"`{row.key}`: {_kind(row, json.dumps, 'nil')}, default {_lua(row.default)}"
        if row.cli:
            first += f" (`{row.cli}`)"
        lines += ["", *textwrap.wrap(first, 78, subsequent_indent="    ")]
        lines += textwrap.wrap(row.doc, 78, initial_indent="    ", subsequent_indent="    ")
    return "\n".join(lines) + "\n\n"


def _help(text: str) -> str:
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith(HELP_TITLE)]
    ends = [i for i, line in enumerate(lines) if line.startswith(" vim:")]
    if len(starts) != 1 or not ends or ends[-1] < starts[0]:
        raise ValueError(f"{NVIM_HELP} must hold one line starting {HELP_TITLE!r} before its "
                         "modeline")
    return "".join(lines[:starts[0]]) + nvim_help_section() + "".join(lines[ends[-1]:])


# -- all files ---------------------------------------------------------------------------------

def generated(root: Path | None = None) -> dict[str, str]:
    """Each generated file's text as the table makes it (path relative to `root`, by default
    the checkout's)."""
    def read(name: str) -> str:
        return ((root or ROOT) / name).read_text(encoding="utf-8")

    return {
        README: _replace_between_markers(read(README), readme_table(), README),
        VSCODE_MANIFEST: _manifest(read(VSCODE_MANIFEST)),
        VSCODE_KEYS: vscode_keys(),
        VSCODE_README: _replace_between_markers(read(VSCODE_README), vscode_readme_table(),
                                                VSCODE_README),
        VSCODE_SECRETS: vscode_secrets(),
        NVIM_HELP: _help(read(NVIM_HELP)),
        NVIM_SECRETS: nvim_secrets(),
    }


def out_of_date(root: Path | None = None) -> list[str]:
    """The generated files whose text differs from what the table makes."""
    def current(name: str) -> str | None:
        path = (root or ROOT) / name
        return path.read_text(encoding="utf-8") if path.is_file() else None

    return [name for name, text in generated(root).items() if current(name) != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codellama_lsp.settings_docs",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the out-of-date files")
    args = parser.parse_args(argv)
    stale = out_of_date()
    if args.write:
        texts = generated()
        for name in stale:
            (ROOT / name).write_text(texts[name], encoding="utf-8")
            print(f"wrote {name}")
        return 0
    for name in stale:
        print(f"{name} is out of date with codellama_lsp/settings_schema.py: run {COMMAND}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
