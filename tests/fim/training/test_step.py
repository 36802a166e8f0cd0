"""The training step: a bfloat16 model stepped through float32 master weights, compiled once,
deterministic, and resumable from its state with the same results as a run never stopped."""

from __future__ import annotations

import io

import pytest

torch = pytest.importorskip("torch")

from fim.training.model import SMOKE, llama_config  # noqa: E402
from fim.training.step import Stepper  # noqa: E402

pytestmark = pytest.mark.unit


def tiny_stepper(compile: bool = False, backend="inductor", seed: int = 0) -> Stepper:
    from transformers import LlamaForCausalLM

    torch.manual_seed(seed)
    return Stepper(LlamaForCausalLM(llama_config(SMOKE, SMOKE.vocab_size)), 3e-3, compile,
                   backend)


def batches(count: int) -> list:
    """Rows that repeat one of four random 8-token phrases, in a new order each batch:
    learnable in a few steps."""
    generator = torch.Generator().manual_seed(1)
    phrases = torch.randint(3, SMOKE.vocab_size, (4, 8), generator=generator)
    return [phrases[torch.randperm(4, generator=generator)].repeat(1, 8) for _ in range(count)]


def run(stepper: Stepper, ids: list) -> list[float]:
    return [stepper.step(batch, batch, 3e-3) for batch in ids]


def test_the_model_is_bfloat16_and_follows_its_float32_master_weights():
    stepper = tiny_stepper()
    losses = run(stepper, batches(8))
    assert losses[-1] < losses[0]
    assert {p.dtype for p in stepper.model.parameters()} == {torch.bfloat16}
    assert {m.dtype for m in stepper.master} == {torch.float32}
    for master, param in zip(stepper.master, stepper.params):
        assert torch.equal(param, master.to(torch.bfloat16))
    model = stepper.float32_model()
    assert all(torch.equal(p, m) for p, m in zip(model.parameters(), stepper.master))


def test_the_step_compiles_once_not_at_every_batch():
    graphs = []

    def counting_backend(graph, example_inputs):
        graphs.append(graph)
        return graph.forward

    stepper = tiny_stepper(compile=True, backend=counting_backend)
    run(stepper, batches(3))
    assert stepper.compiled and len(graphs) == 1


def test_a_run_resumed_from_its_state_continues_exactly():
    ids = batches(6)
    straight = run(tiny_stepper(), ids)

    first = tiny_stepper()
    run(first, ids[:3])
    saved = io.BytesIO()
    torch.save(first.state_dict(), saved)
    saved.seek(0)
    resumed = tiny_stepper(seed=123)  # other random weights, replaced by the saved ones
    resumed.load_state_dict(torch.load(saved, weights_only=False))
    assert run(resumed, ids[3:]) == straight[3:]
    assert run(tiny_stepper(), ids) == straight  # and a second run is the same
