"""A model on the CPU in bfloat16 keeps its memory bounded however many prompt lengths it
meets: oneDNN keeps a kernel for each shape (1,024 of them by default), which grew a process by
about 2 MB for each new prompt length; the engine bounds both of its caches. Run in a process of
its own: the caches are read once per process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from fim.engines.kernel_caches import CACHES, CAPACITY, TORCH_CACHE
from tests.support.cli import run_cli
from tests.support.paths import ROOT

pytestmark = pytest.mark.server

LENGTHS = 300
GROWTH_LIMIT_MB = 120  # capped: about 40 MB; unbounded: about 600 MB over these lengths

SCRIPT = """
import json, sys, psutil
from fim.engines.base import GenerationRequest
from fim.engines.local import LoadOptions, LocalEngine

engine = LocalEngine.load(LoadOptions(model=sys.argv[1], dtype="bfloat16", kv_reuse=False,
                                      context_window=512))
process = psutil.Process()

def generate(length):
    engine.generate(GenerationRequest([1] + [5 + i % 90 for i in range(length)], 1))

generate(3)
before = process.memory_info().rss
for length in range(10, 10 + int(sys.argv[2])):
    generate(length)
growth = (process.memory_info().rss - before) / 2**20
print(json.dumps({"growth_mb": growth, "dtype": str(engine.model.dtype)}))
"""


def test_bfloat16_forward_passes_over_many_prompt_lengths_keep_memory_bounded(tiny_model):
    env = {k: v for k, v in os.environ.items() if k not in CACHES}
    env.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tiny_model), str(LENGTHS)],
                          capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["dtype"] == "torch.bfloat16"
    assert figures["growth_mb"] < GROWTH_LIMIT_MB, (
        f"grew {figures['growth_mb']:.0f} MB over {LENGTHS} prompt lengths (caches of {CAPACITY})")


@pytest.mark.parametrize("value", ["0", "many"])
def test_a_cache_size_torch_cannot_take_is_one_line_not_a_crash(value, tiny_model, tmp_path,
                                                                monkeypatch):
    monkeypatch.setenv(TORCH_CACHE, value)  # torch itself ends with SIGSEGV on these
    source = tmp_path / "add.py"
    source.write_text("def add(a, b):\n    return \n")
    done = run_cli("complete", f"{source}:2", "--model", str(tiny_model))
    assert done.returncode == 2, done.stderr
    assert f"{TORCH_CACHE}={value!r} in the environment" in done.stderr
    assert "Traceback" not in done.stderr
