"""A broken model folder on the command line: one line naming the file and what is wrong with
it, exit 2, no traceback, before anything is loaded."""

from __future__ import annotations

import pytest

from tests.support.broken_models import BROKEN, broken_model
from tests.support.cli import run_cli

pytestmark = pytest.mark.server


@pytest.mark.parametrize("kind", BROKEN)
def test_complete_with_a_broken_model_is_one_line_naming_the_file(kind, tiny_model, tmp_path):
    model = broken_model(tiny_model, tmp_path / "broken", kind)
    source = tmp_path / "add.py"
    source.write_text("def add(a, b):\n    return \n")
    result = run_cli("complete", f"{source}:2", "--model", str(model))
    file, problem = BROKEN[kind]
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("codellama complete: error: ")
    assert str(model / file) in line and problem in line
