"""Shared fixtures: a tiny random model built in the session, the real-layout tokenizer, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# No test may reach a model hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

ROOT = Path(__file__).resolve().parent.parent
SHARED_TOKENIZER = ROOT.parent / "shared" / "data" / "codellama-tokenizer" / "tokenizer.model"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A random tiny Llama with a SentencePiece tokenizer that has the four FIM pieces."""
    from fim.tiny import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def tiny_model_no_fim(tmp_path_factory) -> Path:
    """Like `tiny_model` but without FIM pieces (as Code Llama 34B/70B and Python)."""
    from fim.tiny import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny-model-no-fim"), fim=False)


@pytest.fixture(scope="session")
def tiny_engine(tiny_model):
    from fim.local import LoadOptions, LocalEngine

    return LocalEngine.load(LoadOptions(model=str(tiny_model)))


@pytest.fixture(scope="session")
def codellama_tokenizer_path() -> Path:
    if not SHARED_TOKENIZER.is_file():
        pytest.skip(f"the real-layout Code Llama tokenizer is absent ({SHARED_TOKENIZER})")
    return SHARED_TOKENIZER


@pytest.fixture(scope="session")
def ours(codellama_tokenizer_path):
    """Our tokenizer on the real-layout Code Llama vocabulary."""
    from fim.tokenizer import load_tokenizer

    return load_tokenizer(codellama_tokenizer_path)


@pytest.fixture(scope="session")
def ref(codellama_tokenizer_path):
    """Meta's reference construction on the same vocabulary (tests/reference.py)."""
    from tests.reference import ReferenceTokenizer

    return ReferenceTokenizer(codellama_tokenizer_path)


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `codellama ARGS...` as a user would, from this checkout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "codellama_lsp", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=timeout)
