"""Shared fixtures: a tiny random model built in the session, the real-layout tokenizer, the CLI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# No test may reach a model hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

from tests.support.paths import ROOT, SHARED_TOKENIZER  # noqa: F401 - ROOT for fixtures

# The machines that run the tests are shared: a slow moment must not fail a property test.
settings.register_profile("shared-machine", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("shared-machine")

TIERS = ("unit", "server", "editors")


def pytest_collection_modifyitems(config, items) -> None:
    """Every test belongs to exactly one tier (pyproject.toml's markers): `-m unit` must mean
    all of the in-process tests, so a module without its tier marker is an error."""
    untiered = sorted({item.nodeid.split("::")[0] for item in items
                       if sum(item.get_closest_marker(tier) is not None for tier in TIERS) != 1})
    if untiered:
        raise pytest.UsageError("test modules without exactly one tier marker (pytestmark = "
                                f"pytest.mark.unit, server or editors): {', '.join(untiered)}")


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
def tiny_causal_lm(tiny_model):
    """`tiny_model` as a bare transformers model in float32 (exact comparisons of logits)."""
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(tiny_model), dtype="float32").eval()


@pytest.fixture(scope="session")
def tiny_engine(tiny_model):
    from fim.engines.local import LoadOptions, LocalEngine

    return LocalEngine.load(LoadOptions(model=str(tiny_model)))


@pytest.fixture(scope="session")
def codellama_tokenizer_path() -> Path:
    if not SHARED_TOKENIZER.is_file():
        pytest.skip(f"needs the real-layout Code Llama tokenizer {SHARED_TOKENIZER}, which only "
                    "this repository's workspace has (../shared)")
    return SHARED_TOKENIZER


@pytest.fixture(scope="session")
def ours(codellama_tokenizer_path):
    """Our tokenizer on the real-layout Code Llama vocabulary."""
    from fim.tokenizer import load_tokenizer

    return load_tokenizer(codellama_tokenizer_path)


@pytest.fixture(scope="session")
def ref(codellama_tokenizer_path):
    """Meta's reference construction on the same vocabulary (tests/reference.py)."""
    from tests.support.reference import ReferenceTokenizer

    return ReferenceTokenizer(codellama_tokenizer_path)


@pytest.fixture(autouse=True)
def no_model_loading_left_behind(request):
    """A test must not leave a model loading in a thread of the test process: it would load on
    beside later tests, whose torch state (the default device and dtype while transformers
    builds a model) it shares, and fail them at random."""
    import threading

    before = {thread for thread in threading.enumerate() if thread.name == "model-loading"}
    yield
    left = [thread for thread in threading.enumerate()
            if thread.name == "model-loading" and thread not in before and thread.is_alive()]
    for thread in left:
        thread.join(timeout=30)
    assert not left, f"{request.node.nodeid} left a model loading in a thread (joined now)"
