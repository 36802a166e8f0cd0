"""Every option of every command: a bad value is refused before anything is loaded.

The model folder the commands get has a valid config.json (read by the checks), but its
tokenizer and weights are named pipes with no writer: loading them fails at once with a load
error ("no tokenizer.model"), and reading them would block for ever. A command that loaded before
checking its options answers with that error, or not at all, instead of one line naming the
option and its allowed values; so "refused before loading" is shown without timing anything.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.paths import ROOT

pytestmark = pytest.mark.server

HANG_S = 60  # a command that reads the model's files never answers; far beyond a refusal


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("option-checks")
    model = root / "model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({
        "model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 1000,
        "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 4096}))
    for name in ("tokenizer.model", "model.safetensors"):
        os.mkfifo(model / name)
    source = root / "app.py"
    source.write_text("def add(a, b):\n    return a + b\n")
    locked = root / "locked"
    locked.mkdir()
    (locked / "app.py").write_text("def add(a, b):\n    return a + b\n")
    locked.chmod(0o555)
    (root / "a-file").write_text("not a folder\n")
    return {"model": str(model), "src": str(source), "locked": str(locked / "app.py"),
            "file": str(root / "a-file"), "missing": str(root / "missing")}


# (command and arguments, the option the refusal names, a part of what it says is allowed)
# {model} is the model whose files hang, {src} a source file, {missing} a path that is absent.
MODEL_COMMANDS = {
    "complete": ["complete", "{src}:2", "--model", "{model}"],
    "edit": ["edit", "{src}:2", "tidy", "--model", "{model}"],
    "serve": ["serve", "--model", "{model}", "--port", "0"],
    "lsp": ["lsp", "--model", "{model}"],
    "eval holes": ["eval", "holes", "{src}", "--model", "{model}"],
}
MODEL_OPTIONS = [
    (["--device", "tpu"], "--device", "auto, cpu, cuda, cuda:N or mps"),
    (["--device", "cuda:99"], "--device", "choose from auto, cpu"),
    (["--dtype", "int3"], "--dtype", "float32"),
    (["--device-map", "everywhere"], "--device-map", "balanced"),
    (["--quantize", "2bit"], "--quantize", "8bit"),
    (["--quantize", "8bit", "--device", "cpu"], "--quantize", "CUDA"),
    (["--context-window", "0"], "--context-window", "integer from 64"),
    (["--context-window", "8192"], "--context-window", "choose 64 to 4096"),
    (["--model", "{missing}"], "--model", "make-tiny-model"),
]
CASES = [(MODEL_COMMANDS[command] + args, option, allowed)
         for command in MODEL_COMMANDS for args, option, allowed in MODEL_OPTIONS] + [
    (["complete", "{src}:2", "--model", "{model}", "--engine", "ftp://x"], "--engine", "http"),
    (["complete", "{src}:2", "--model", "{model}", "--engine", "foo+http://x:1"], "--engine",
     "unknown engine protocol"),
    (["complete", "{src}:2", "--model", "{model}", "--top-p", "0"], "--top-p", "0.01 to 1.0"),
    (["complete", "{src}:2", "--model", "{model}", "--top-p", "1.5"], "--top-p", "0.01 to 1.0"),
    (["complete", "{src}:2", "--model", "{model}", "--temperature", "-1"], "--temperature",
     "from 0"),
    (["complete", "{src}:2", "--model", "{model}", "--temperature", "nan"], "--temperature",
     "finite"),
    (["complete", "{src}:2", "--model", "{model}", "--seed", "-1"], "--seed", "2**63-1"),
    (["complete", "{src}:2", "--model", "{model}", "--seed", str(2**64)], "--seed", "2**63-1"),
    (["complete", "{src}:2", "--model", "{model}", "--max-new-tokens", "0"], "--max-new-tokens",
     "integer from 1 to 4096"),
    (["complete", "{src}:2", "--model", "{model}", "--max-new-tokens", "4096"],
     "--max-new-tokens", "under half of --context-window"),
    (["complete", "{src}:2", "--model", "{model}", "--root", "{missing}"], "--root",
     "no such folder"),
    (["edit", "{src}:2", "tidy", "--model", "{model}", "--context-lines", "-1"],
     "--context-lines", "0 or a positive"),
    (["edit", "{src}:2", "tidy", "--model", "{model}", "--temperature", "inf"], "--temperature",
     "finite"),
    (["edit", "{src}:2", "tidy", "--model", "{model}", "--max-new-tokens", "x"],
     "--max-new-tokens", "integer"),
    (["edit", "{src}:2", "tidy", "--model", "{model}", "--max-new-tokens", "9000"],
     "--max-new-tokens", "from 1 to 8192"),
    (["edit", "{locked}:2", "tidy", "--model", "{model}", "--write"], "--write", "read-only"),
    (["prompt", "{src}:2", "--tokenizer", "{model}", "--context-window", "0"],
     "--context-window", "integer from 64"),
    (["prompt", "{src}:2", "--tokenizer", "{model}", "--max-new-tokens", "2048"],
     "--max-new-tokens", "under half of --context-window"),
    (["prompt", "{src}:2", "--tokenizer", "{model}", "--fim", "xyz"], "--fim", "psm, spm"),
    (["prompt", "{src}:2", "--tokenizer", "{model}", "--root", "{missing}"], "--root",
     "no such folder"),
    (["serve", "--model", "{model}", "--port", "70000"], "--port", "0 to 65535"),
    (["serve", "--model", "{model}", "--max-queue", "0"], "--max-queue", "positive"),
    (["serve", "--model", "{model}", "--max-batch", "-2"], "--max-batch", "positive"),
    (["serve", "--model", "{model}", "--cache-slots", "-1"], "--cache-slots", "0 or a positive"),
    (["serve", "--model", "{model}", "--api-key", ""], "--api-key", "give a key"),
    (["serve", "--model", "{model}", "--shutdown-grace", "-1"], "--shutdown-grace", "from 0 up"),
    (["lsp", "--model", "{model}", "--tcp", "localhost"], "--tcp", "HOST:PORT"),
    (["make-tiny-model", "{file}"], "DIR", "choose a new folder"),
    (["make-tiny-model", "{model}"], "DIR", "--force"),
    (["make-tiny-model", "{missing}", "--seed", "x"], "--seed", "integer"),
    (["bench", "context", "{src}", "--positions", "0"], "--positions", "positive"),
    (["bench", "context", "{src}", "--seed", "-3"], "--seed", "2**63-1"),
    (["bench", "context", "{src}", "--max-new-tokens", "4096"], "--max-new-tokens",
     "under half of --context-window"),
    (["bench", "context", "{src}", "--root", "{missing}"], "--root", "no such folder"),
    (["bench", "worker", "--model", "{missing}"], "--model", "make-tiny-model"),
    (["bench", "worker", "--clients", "4,0"], "--clients", "positive numbers"),
    (["bench", "worker", "--max-batch", "0"], "--max-batch", "positive"),
    (["bench", "worker", "--max-tokens", "0"], "--max-tokens", "positive"),
    (["bench", "worker", "--rounds", "-1"], "--rounds", "positive"),
    (["bench", "lsp", "--model", "{missing}"], "--model", "make-tiny-model"),
    (["bench", "lsp", "--requests", "0"], "--requests", "positive"),
    (["bench", "lsp", "--lines", "0"], "--lines", "positive"),
    (["bench", "lsp", "--threads", "0"], "--threads", "positive"),
    (["bench", "lsp", "--keystroke-ms", "-5"], "--keystroke-ms", "from 0"),
    (["eval", "truncation", "{src}", "--holes", "0"], "--holes", "positive"),
    (["eval", "truncation", "{src}", "--max-files", "-1"], "--max-files", "positive"),
    (["eval", "truncation", "{src}", "--run-on", "sideways"], "--run-on", "suffix"),
    (["eval", "truncation", "{src}", "--show-failures", "-1"], "--show-failures",
     "0 or a positive"),
    (["eval", "truncation", "{src}", "--seed", "x"], "--seed", "integer"),
]


# Runs command lines given as JSON on stdin in one process (a process each would take minutes
# on a busy machine), printing each one's number before it starts: a hang names its case.
DRIVER = """
import contextlib, io, json, sys
from codellama_lsp.cli import main
for number, argv in enumerate(json.load(sys.stdin)):
    print(json.dumps({"started": number}), flush=True)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit:
            code = exit.code
        except BaseException as exc:
            code, err = 1, io.StringIO("Traceback: " + repr(exc))
    print(json.dumps({"argv": argv, "code": code, "stdout": out.getvalue(),
                      "stderr": err.getvalue()}), flush=True)
"""


def run_commands(argvs: list[list[str]]) -> list[dict]:
    """Each command line's exit code, stdout and stderr, from the real `main` in a child."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run([sys.executable, "-c", DRIVER], input=json.dumps(argvs),
                              capture_output=True, text=True, env=env, timeout=HANG_S * 3)
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        last = json.loads(output.strip().splitlines()[-1])["started"]
        raise AssertionError(f"{argvs[last]} did not answer: it read the model before "
                             "checking its options") from None
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if '"argv"' in line]


def parse_only(argv: list[str]) -> dict | None:
    """Exit code and output of a command line refused as it is read, else None."""
    from codellama_lsp.cli import build_parser

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            build_parser().parse_args(argv)
        except SystemExit as exit:
            return {"argv": argv, "code": exit.code, "stdout": out.getvalue(),
                    "stderr": err.getvalue()}
    return None


def problem(outcome: dict, option: str, allowed: str) -> str | None:
    lines = outcome["stderr"].strip().splitlines()
    if (outcome["code"] != 2 or len(lines) != 1 or "Traceback" in outcome["stderr"]
            or outcome["stdout"] or option not in lines[0] or allowed not in lines[0]):
        return str(outcome)
    return None


def test_every_bad_option_value_is_one_line_and_exit_2_before_any_load(files):
    """Values refused while the command line is read are checked here (nothing can load before
    parsing ends); the rest run through the real `main` in a child process."""
    assert len(CASES) > 70
    argvs = [[arg.format(**files) for arg in args] for args, _, _ in CASES]
    outcomes = {i: parse_only(argv) for i, argv in enumerate(argvs)}
    later = [i for i, outcome in outcomes.items() if outcome is None]
    outcomes.update(zip(later, run_commands([argvs[i] for i in later])))
    problems = [problem(outcomes[i], option, allowed)
                for i, (_, option, allowed) in enumerate(CASES)]
    assert [p for p in problems if p] == []
    assert len(later) > 20  # the checks that need the files, config.json or two options
    assert stat.S_IMODE(Path(files["locked"]).parent.stat().st_mode) == 0o555


def test_a_bad_value_read_from_the_command_line_is_refused_by_the_real_command(files):
    out = run_cli("complete", files["src"] + ":2", "--model", files["model"], "--top-p", "2",
                  timeout=HANG_S)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == ("codellama complete: error: argument --top-p: must be a number from "
                          "0.01 to 1.0, got 2 (see --help)\n")


def test_lsp_settings_refuse_what_would_fail_only_at_load(files):
    from codellama_lsp.lsp.settings import Settings, update_settings

    update = update_settings(Settings(), {"device": "cuda:99", "model": files["model"],
                                          "contextWindow": 8192})
    assert update.settings == Settings(model=files["model"])
    assert any("codellama.device='cuda:99'" in e and "keeping 'auto'" in e for e in update.errors)
    assert any("codellama.contextWindow=8192" in e and "maximum of 4096" in e
               for e in update.errors)
    remote = update_settings(Settings(), {"engine": "http://127.0.0.1:8000", "device": "cuda:99"})
    assert remote.errors == []  # the device is the server's business there


def test_lsp_settings_refuse_a_quantization_this_machine_cannot_load():
    import torch

    from codellama_lsp.lsp.settings import Settings, update_settings

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU: 8-bit loading may work here")
    update = update_settings(Settings(), {"quantize": "8bit"})
    assert update.settings == Settings()
    assert len(update.errors) == 1 and "codellama.quantize='8bit'" in update.errors[0]
    assert "keeping None" in update.errors[0]
    assert update_settings(Settings(engine="http://127.0.0.1:1"), {"quantize": "8bit"}).errors == []
