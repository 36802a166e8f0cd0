"""`codellama bench dtype`: bfloat16 against float32 on the CPU, speed and greedy output.

Speed: one random-weight model of a given shape (the tiny 4x256 Llama by default), its float32
weights cast to bfloat16, reads a cold prompt (a new cache, nothing reused) and decodes greedily
in each dtype, one after the other in one run. Output: a trained model (the demo model by
default) completes FIM prompts cut from the standard library's sources greedily in both dtypes;
reported are the completions identical in both and the ids identical position by position
(all `--new-tokens` ids, past any stop id).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sysconfig
from pathlib import Path
from typing import Any

from codellama_lsp.benchmarks.decode import SHAPES, VOCAB, decode_greedy, random_model
from codellama_lsp.commands.model_args import positive_int
from fim.engines.local import cpu_has_bfloat16

DTYPES = ("float32", "bfloat16")
SOURCES = ("textwrap.py", "argparse.py", "json/decoder.py", "difflib.py", "shlex.py")


def register(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser("dtype", help="bfloat16 against float32 on the CPU",
                              description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="tiny",
                        help="model shape timed (random weights; tiny)")
    parser.add_argument("--prompt-tokens", type=positive_int, default=2000,
                        help="ids in the cold prompt (2000)")
    parser.add_argument("--new-tokens", type=positive_int, default=16,
                        help="tokens decoded per prompt (16)")
    parser.add_argument("--repeats", type=positive_int, default=3,
                        help="cold prompts timed per dtype, alternating (3)")
    parser.add_argument("--model", default="demo",
                        help="trained model whose greedy output is compared (demo)")
    parser.add_argument("--prompts", type=positive_int, default=40,
                        help="FIM prompts compared (40)")
    parser.add_argument("--threads", type=positive_int, default=1, help="torch threads (1)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    figures = {"cpu_has_bfloat16": cpu_has_bfloat16(), "threads": args.threads,
               "speed": speed(args.shape, args.prompt_tokens, args.new_tokens, args.repeats),
               "greedy": greedy_agreement(args.model, args.prompts, args.new_tokens)}
    print(json.dumps(figures, indent=2) if args.json else _report(figures))
    return 0


def speed(shape: str, prompt_tokens: int, new_tokens: int, repeats: int) -> dict:
    """Cold prefill and per-token medians in each dtype, the same weights, runs alternating."""
    import torch

    torch.manual_seed(0)
    base = random_model(shape, "cpu", torch.float32, prompt_tokens + new_tokens)
    models = {"float32": base, "bfloat16": random_model(
        shape, "cpu", torch.bfloat16, prompt_tokens + new_tokens)}
    models["bfloat16"].load_state_dict(base.state_dict())  # cast: the same weights
    prompt = torch.randint(3, VOCAB, (prompt_tokens,)).tolist()
    runs: dict[str, list[dict]] = {name: [] for name in DTYPES}
    for _ in range(repeats):
        for name in DTYPES:
            runs[name].append(decode_greedy(models[name], prompt, new_tokens, None))
    out: dict[str, Any] = {
        name: {"prefill_ms": statistics.median(r["prefill_ms"] for r in rs),
               "ms_per_token": statistics.median(r["ms_per_token"] for r in rs)}
        for name, rs in runs.items()}
    out["prefill_ratio"] = round(out["bfloat16"]["prefill_ms"] / out["float32"]["prefill_ms"], 3)
    out["per_token_ratio"] = round(
        out["bfloat16"]["ms_per_token"] / out["float32"]["ms_per_token"], 3)
    out["shape"], out["prompt_tokens"], out["new_tokens"] = shape, prompt_tokens, new_tokens
    return out


def greedy_agreement(model: str, count: int, new_tokens: int) -> dict:
    """Greedy completions of `count` FIM prompts in float32 and in bfloat16, compared."""
    from fim.engines.local import LoadOptions, LocalEngine
    from fim.prompt import FimFormat, build_prompt

    engines = {name: LocalEngine.load(LoadOptions(model=model, dtype=name, compile="off",
                                                  kv_reuse=False)) for name in DTYPES}
    tokenizer = engines["float32"].tokenizer
    room = engines["float32"].context_window - new_tokens
    same_text = same_ids = total_ids = 0
    for prefix, suffix in fim_cuts(count):
        ids = build_prompt(tokenizer, prefix, suffix, FimFormat.PSM).ids[-room:]
        out = {name: decode_greedy(engine.model, ids, new_tokens, None)["tokens"]
               for name, engine in engines.items()}
        a, b = out["float32"], out["bfloat16"]
        same_text += a == b
        same_ids += sum(x == y for x, y in zip(a, b))
        total_ids += max(len(a), len(b))
    return {"model": model, "prompts": count, "new_tokens": new_tokens,
            "identical_completions": round(same_text / count, 3),
            "identical_ids": round(same_ids / max(total_ids, 1), 3)}


def fim_cuts(count: int, seed: int = 0) -> list[tuple[str, str]]:
    """`count` (prefix, suffix) pairs cut at random line starts of the standard library."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = [(stdlib / name).read_text(encoding="utf-8") for name in SOURCES]
    rng = random.Random(seed)
    cuts = []
    for index in range(count):
        text = files[index % len(files)]
        lines = text.splitlines(keepends=True)
        at = rng.randrange(len(lines) // 10, len(lines))
        head = "".join(lines[:at])
        indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
        cuts.append((head[-3000:] + indent, "".join(lines[at + 1:])[:1000]))
    return cuts


def _report(figures: dict) -> str:
    s, g = figures["speed"], figures["greedy"]
    return "\n".join([
        f"{s['shape']} shape, {figures['threads']} thread(s), native bfloat16: "
        f"{figures['cpu_has_bfloat16']}",
        f"  cold prompt of {s['prompt_tokens']} ids: float32 {s['float32']['prefill_ms']} ms, "
        f"bfloat16 {s['bfloat16']['prefill_ms']} ms ({s['prefill_ratio']}x)",
        f"  per token: float32 {s['float32']['ms_per_token']} ms, bfloat16 "
        f"{s['bfloat16']['ms_per_token']} ms ({s['per_token_ratio']}x)",
        f"  greedy, {g['model']}, {g['prompts']} FIM prompts of {g['new_tokens']} tokens: "
        f"{g['identical_completions']:.0%} of completions and {g['identical_ids']:.0%} of ids "
        "identical to float32's"])
