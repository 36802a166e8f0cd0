"""The training step: bfloat16 weights and activations, float32 master weights, one compiled graph.

Where the earlier step's time went (torch.profiler, 4 rows of 512 tokens, bf16 autocast over
float32 weights, 2 threads): copies ~25% (autocast casting every float32 weight at each use, and
activations between float32 and bfloat16), elementwise multiply/add ~25% (RMSNorm, RoPE, SiLU in
float32, one kernel each), matrix products ~15-18%, SDPA attention ~6-10%, the AdamW loop ~6%. At
this size a step is mostly memory traffic and per-operation overhead, not arithmetic.

So the model runs in bfloat16 (the CPU's AMX/AVX512-BF16 units, half the bytes), `torch.compile`
fuses the elementwise work into a few C++ kernels, and the optimizer keeps float32 master weights
(fused AdamW) so that small updates are not rounded away. With several threads, larger batches
share the per-step work (optimizer, weight copies, the threads' synchronisation) among more
tokens; with one thread the batch hardly matters.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

CLIP_NORM = 1.0
BETAS = (0.9, 0.95)
WEIGHT_DECAY = 0.1


class Stepper:
    """Owns the model's training state: the bfloat16 model, its float32 master weights and the
    optimizer over them."""

    def __init__(self, model, learning_rate: float, compile: bool = True,
                 backend: str | Callable = "inductor") -> None:
        """`backend`: torch.compile's (tests count compilations with their own)."""
        import torch

        self.model = model.to(torch.bfloat16)
        self.names = [name for name, _ in model.named_parameters()]
        self.params = list(model.parameters())
        self.master = [p.detach().float().requires_grad_() for p in self.params]
        self.optimizer = torch.optim.AdamW(self.master, lr=learning_rate, betas=BETAS,
                                           weight_decay=WEIGHT_DECAY, fused=True)
        self._loss = torch.compile(self._eager_loss, backend=backend) if compile \
            else self._eager_loss
        self.compiled = compile

    def _eager_loss(self, ids, labels):
        return self.model(input_ids=ids, labels=labels).loss

    def step(self, ids, labels, learning_rate: float) -> float:
        """One optimizer step on a batch; returns its loss."""
        import torch

        with torch.enable_grad():  # whatever the process's mode (loading a model turns it off)
            loss = self._compiled_or_eager_loss(ids, labels)
            loss.backward()
        for master, param in zip(self.master, self.params):
            master.grad = param.grad.float()
            param.grad = None
        torch.nn.utils.clip_grad_norm_(self.master, CLIP_NORM)
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self._copy_master_to_model()
        return float(loss.detach())

    def _compiled_or_eager_loss(self, ids, labels):
        if not self.compiled:
            return self._eager_loss(ids, labels)
        from torch._dynamo.exc import BackendCompilerFailed

        try:
            return self._loss(ids, labels)
        except BackendCompilerFailed as exc:  # e.g. no C++ compiler on this machine
            print(f"torch.compile failed ({str(exc).splitlines()[0]}); training without it "
                  "(--compile off skips the attempt)", file=sys.stderr)
            self.compiled = False
            return self._eager_loss(ids, labels)

    def _copy_master_to_model(self) -> None:
        import torch

        with torch.no_grad():
            for master, param in zip(self.master, self.params):
                param.copy_(master)

    def state_dict(self) -> dict:
        return {"master": dict(zip(self.names, (m.detach() for m in self.master))),
                "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, saved: dict) -> None:
        import torch

        with torch.no_grad():
            for name, master in zip(self.names, self.master):
                master.copy_(saved["master"][name])
        self.optimizer.load_state_dict(saved["optimizer"])
        self._copy_master_to_model()

    def float32_model(self):
        """The model in float32 with the master weights (for evaluation and export); the
        stepper is not used after this."""
        import torch

        model = self.model.to(torch.float32)
        with torch.no_grad():
            for master, param in zip(self.master, model.parameters()):
                param.copy_(master)
        return model
