"""`codellama bench decode`: the decode step against the memory-bandwidth floor.

A random-weight model of a given shape (Code Llama 7B's by default: hidden 4096, 32 layers,
vocabulary 32,016, float16 on a GPU) reads a prompt of random ids, then decodes greedily, once
with the eager step and once with the compiled step on a static KV cache (`LocalEngine`'s two
paths). Each new token must read every weight once, so `weight bytes / bandwidth` is the floor
per token; the bandwidth is measured here by a device-to-device copy (or given). Random weights
time the same as trained ones: the arithmetic does not depend on the values.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from codellama_lsp.commands.model_args import device, positive_int
from codellama_lsp.errors import UserError
from fim.engines.compiled_step import CompiledStep, new_static_cache
from fim.engines.decoding import Forward, new_cache
from fim.engines.kernel_caches import bound_kernel_caches
from fim.engines.local import choose_device, choose_dtype

# name: (hidden, intermediate, layers, heads, kv heads); vocabulary 32,016 (Code Llama's)
SHAPES = {"7b": (4096, 11008, 32, 32, 32), "13b": (5120, 13824, 40, 40, 40),
          "tiny": (256, 688, 4, 4, 4)}
VOCAB = 32016


def register(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser("decode", help="decode step vs the memory-bandwidth floor",
                              description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="7b",
                        help="model shape (random weights)")
    parser.add_argument("--device", type=device, default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--dtype", choices=("auto", "float32", "float16", "bfloat16"),
                        default="auto", help="auto: float16 on a GPU; on a CPU bfloat16 where "
                        "it is native (AMX, AVX512-BF16), else float32")
    parser.add_argument("--prompt-tokens", type=positive_int, default=2000,
                        help="ids in the prompt")
    parser.add_argument("--new-tokens", type=positive_int, default=16, help="tokens decoded")
    parser.add_argument("--compile", choices=("both", "off"), default="both",
                        help="time the compiled step too (both) or only the eager one")
    parser.add_argument("--bandwidth-gbs", type=float, default=None,
                        help="memory bandwidth in GB/s (default: measured by a copy)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.bandwidth_gbs is not None and not 0 < args.bandwidth_gbs < float("inf"):
        raise UserError(f"--bandwidth-gbs {args.bandwidth_gbs}: must be a number above 0")
    if args.new_tokens < 2:
        raise UserError(f"--new-tokens {args.new_tokens}: must be 2 or more (the first token "
                        "comes from the prefill)")
    figures = measure(args)
    print(json.dumps(figures, indent=2) if args.json else _report(figures))
    return 0


def measure(args: argparse.Namespace) -> dict:
    bound_kernel_caches()  # as the engine runs
    import torch

    torch.set_grad_enabled(False)
    device = choose_device(args.device)
    dtype = torch.float16 if args.dtype == "auto" and device != "cpu" else choose_dtype(
        device, args.dtype)
    _check_memory(args.shape, device, torch.empty((), dtype=dtype).element_size())
    model = random_model(args.shape, device, dtype, args.prompt_tokens + args.new_tokens)
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    bandwidth = args.bandwidth_gbs or _copy_bandwidth_gbs(device)
    floor_ms = weight_bytes / (bandwidth * 1e9) * 1000
    prompt = torch.randint(3, VOCAB, (args.prompt_tokens,)).tolist()
    runs = {"eager": decode_greedy(model, prompt, args.new_tokens, None)}
    if args.compile == "both":
        step = CompiledStep(model, Forward(model).cache_arg)
        started = time.perf_counter()
        if step.warm_up(args.prompt_tokens + args.new_tokens):
            runs["compiled"] = decode_greedy(model, prompt, args.new_tokens, step)
            runs["compiled"]["compile_s"] = round(time.perf_counter() - started, 1)
    if "compiled" in runs:
        runs["compiled"]["same_tokens"] = runs["compiled"]["tokens"] == runs["eager"]["tokens"]
    return {"shape": args.shape, "device": str(device), "dtype": str(dtype).split(".")[-1],
            "parameters": sum(p.numel() for p in model.parameters()),
            "weight_bytes": weight_bytes, "weight_gb": round(weight_bytes / 1e9, 3),
            "bandwidth_gbs": round(bandwidth, 1),
            "bandwidth_measured": args.bandwidth_gbs is None,
            "floor_ms_per_token": round(floor_ms, 3), "prompt_tokens": args.prompt_tokens,
            "new_tokens": args.new_tokens,
            "runs": {name: {**r, "vs_floor": round(r["ms_per_token"] / floor_ms, 2)}
                     for name, r in runs.items()}}


def parameter_count(shape: str) -> int:
    """Parameters of a Llama of `shape` (embeddings, attention, SwiGLU, norms, output)."""
    hidden, intermediate, layers, heads, kv_heads = SHAPES[shape]
    attention = 2 * hidden * hidden + 2 * hidden * (hidden * kv_heads // heads)
    per_layer = attention + 3 * hidden * intermediate + 2 * hidden
    return 2 * VOCAB * hidden + layers * per_layer + hidden


def _check_memory(shape: str, device: str, element_bytes: int) -> None:
    """Refuse a model that cannot fit, before allocating it (7B in float32 on a CPU is 27 GB:
    the machine would swap or kill the process instead)."""
    need = parameter_count(shape) * element_bytes * 1.1  # and the KV cache, activations
    free = _free_bytes(device)
    if free is not None and need > free:
        raise UserError(f"--shape {shape} needs about {need / 1e9:.1f} GB on {device} and "
                        f"{free / 1e9:.1f} GB are free; choose a GPU (--device cuda) or "
                        "--shape tiny")


def _free_bytes(device: str) -> int | None:
    import torch

    if device.startswith("cuda"):
        return int(torch.cuda.mem_get_info(torch.device(device))[0])
    if device == "cpu":
        try:
            with open("/proc/meminfo", encoding="ascii") as meminfo:
                for line in meminfo:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None
    return None


def random_model(shape: str, device: str, dtype: Any, positions: int) -> Any:
    """A random `LlamaForCausalLM` built directly on `device` in `dtype` (no CPU copy)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    hidden, intermediate, layers, heads, kv_heads = SHAPES[shape]
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=hidden, intermediate_size=intermediate,
                         num_hidden_layers=layers, num_attention_heads=heads,
                         num_key_value_heads=kv_heads,
                         max_position_embeddings=max(positions, 4096), tie_word_embeddings=False)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    return model.eval()


def _copy_bandwidth_gbs(device: str) -> float:
    """Bytes read plus written per second by a large device-to-device copy (median of 5)."""
    import torch

    size = (1 << 30) if device.startswith("cuda") else (1 << 28)
    source = torch.empty(size, dtype=torch.uint8, device=device)
    target = torch.empty_like(source)
    times = []
    for _ in range(6):
        _sync(device)
        started = time.perf_counter()
        target.copy_(source)
        _sync(device)
        times.append(time.perf_counter() - started)
    return 2 * size / statistics.median(times[1:]) / 1e9


def decode_greedy(model: Any, prompt: list[int], new_tokens: int,
                  step: CompiledStep | None) -> dict:
    """Prefill `prompt`, then decode `new_tokens` greedily; per-token times after the first."""
    import torch

    device = str(model.device)
    forward = Forward(model)
    cache = new_static_cache(model, len(prompt) + new_tokens) if step else new_cache(model)
    with torch.inference_mode():
        _sync(device)
        started = time.perf_counter()
        token = int(forward([prompt], cache, start=0)[0, -1].argmax())
        prefill_s = time.perf_counter() - started
        tokens, times = [token], []
        for position in range(len(prompt), len(prompt) + new_tokens - 1):
            started = time.perf_counter()
            logits = (step(token, position, cache) if step
                      else forward([[token]], cache, start=position))
            token = int(logits[0, -1].argmax())  # the host sync the engine makes per token
            times.append(time.perf_counter() - started)
            tokens.append(token)
    return {"prefill_ms": round(prefill_s * 1000, 1),
            "ms_per_token": round(statistics.median(times) * 1000, 3), "tokens": tokens}


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _report(figures: dict) -> str:
    lines = [f"{figures['shape']} ({figures['parameters'] / 1e9:.2f} B parameters, "
             f"{figures['weight_gb']} GB {figures['dtype']}) on {figures['device']}; bandwidth "
             f"{figures['bandwidth_gbs']} GB/s "
             f"({'measured' if figures['bandwidth_measured'] else 'given'}); floor "
             f"{figures['floor_ms_per_token']} ms per token"]
    for name, run in figures["runs"].items():
        extra = f", compiled in {run['compile_s']} s, same tokens as eager: " \
                f"{run['same_tokens']}" if name == "compiled" else ""
        lines.append(f"  {name}: prefill of {figures['prompt_tokens']} ids "
                     f"{run['prefill_ms']} ms; {run['ms_per_token']} ms per token "
                     f"({run['vs_floor']}x the floor){extra}")
    return "\n".join(lines)
