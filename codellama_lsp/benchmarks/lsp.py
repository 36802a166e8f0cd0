"""`codellama bench lsp`: what the language server adds to the model's own time, and how it
behaves while someone types.

1. Latency: inline completions at N cursors of a real source file, through the real server
   process over stdio (debounce 0, automatic trigger, greedy), each timed at the client; the same
   prompts run through an engine in this process, in the same order (so its KV cache is reused
   the same way). Reported: p50/p95 of both and the ratio of the medians.
2. Typing: 50 characters, one didChange and one inline completion request per keystroke, with
   the server's debounce on and off; from the server's stats: generations started (at most one
   per keystroke) and the most that ever ran at once for the document (at most one).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from codellama_lsp.benchmarks.figures import rounded, summary
from codellama_lsp.benchmarks.lsp_client import Session
from codellama_lsp.benchmarks.worker import model_folder
from codellama_lsp.commands.model_args import (
    add_setting_option,
    non_negative_float,
    positive_int,
)
from codellama_lsp.lsp.settings import Settings
from codellama_lsp.lsp.stats import percentile
from fim.engines.base import Engine, EngineError

SOURCE_FILE = "textwrap.py"  # from this Python's standard library: real code, always present
TYPED = "result = compute_total(values, scale=2) + offset_\n"  # 50 keystrokes


def register(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser("lsp", help="latency through the language server vs the engine",
                              description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, type=model_folder,
                        help="model directory (default: a tiny random model built on the spot)")
    parser.add_argument("--requests", type=positive_int, default=30,
                        help="timed completions (30)")
    add_setting_option(parser, "maxNewTokens", default=32, help="tokens per completion")
    parser.add_argument("--lines", type=positive_int, default=300,
                        help="lines of the benchmark's source file to complete in (300)")
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="CPU threads for the server's model and this process's (1)")
    parser.add_argument("--keystroke-ms", type=non_negative_float, default=40.0,
                        help="time between keystrokes in the typing test (40)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    logging.getLogger("pygls").setLevel(logging.ERROR)  # the client ignores the server's logs
    with tempfile.TemporaryDirectory(prefix="codellama-bench-") as scratch:
        model = args.model
        if model is None:
            from fim.tiny import make_tiny_model
            model = str(make_tiny_model(Path(scratch) / "tiny"))
        figures = asyncio.run(_bench(model, args))
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        _print(figures)
    return 0


# -- the benchmark -----------------------------------------------------------------------------

def _document(lines: int) -> str:
    path = Path(sysconfig.get_paths()["stdlib"]) / SOURCE_FILE
    return "\n".join(path.read_text(encoding="utf-8").splitlines()[:lines]) + "\n"


def _cursors(text: str, count: int) -> list[tuple[int, int, int]]:
    """(line, character, offset) at the end of `count` non-blank lines spread over the text."""
    lines = text.split("\n")
    candidates = [i for i, line in enumerate(lines) if line.strip()][5:]
    step = max(1, len(candidates) // count)
    chosen = candidates[::step][:count]
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    return [(i, len(lines[i]), starts[i] + len(lines[i])) for i in chosen]


async def _bench(model: str, args: argparse.Namespace) -> dict:
    import torch

    from fim.engines.local import LoadOptions, LocalEngine

    # One thread each for the server and this process: on a small machine two processes that
    # each use every core only measure their fight for the cores.
    torch.set_num_threads(args.threads)
    text = _document(args.lines)
    session = Session()
    await session.start({"model": model, "maxNewTokens": args.max_new_tokens,
                         "debounceMs": 0}, threads=args.threads)
    try:
        await session.wait_for_model()
        engine = LocalEngine.load(LoadOptions(model=model))
        latency = await _latency(session, engine, text, args)
        typing = {"debounce_75ms": await _typing(session, "file:///bench/typing-a.py", 75,
                                                 args.keystroke_ms),
                  "debounce_off": await _typing(session, "file:///bench/typing-b.py", 0,
                                                args.keystroke_ms)}
        final = await session.stats()
    except EngineError:
        raise
    except BaseException:
        sys.stderr.write("".join(session.stderr_tail))
        raise
    finally:
        await session.stop()
    return {"model": model, "latency": latency, "typing": typing,
            "max_running_per_document": final["max_running_per_document"],
            "server_side_overhead_ms": _rounded(final["overhead_ms"])}


async def _latency(session: Session, engine: Engine, text: str,
                   args: argparse.Namespace) -> dict:
    """Completions at many cursors through the server, beside the same pipeline in this
    process: the server's latency over the engine's own time."""
    from codellama_lsp.completion.pipeline import CompletionOptions, complete_in_document
    from codellama_lsp.completion.snippets import SnippetSource
    from codellama_lsp.syntax.parsed import ParsedDocument

    cursors = _cursors(text, args.requests + 3)  # the first 3 warm up
    uri, path = "file:///bench/latency.py", "/bench/latency.py"
    session.open(uri, text)
    # The server's pipeline, in this process: same document, same snippet sources.
    document = ParsedDocument(text, "python", path=path)
    snippets = SnippetSource(None, {path: text})
    # The server's default FIM order, so that both sides build the same prompts.
    options = CompletionOptions(max_new_tokens=args.max_new_tokens,
                                spm=Settings().fim_format == "spm")
    client_ms, inside_ms, alone_ms, same = [], [], [], 0
    for n, (line, character, offset) in enumerate(cursors):
        def alone(offset: int = offset):
            return complete_in_document(engine, document, offset, options,
                                        snippets=snippets)
        # A B B A: on a shared machine, load drifts; alternate which side runs first.
        if n % 2:
            completion = alone()
        started = time.perf_counter()
        answer = await session.complete(uri, line, character)
        elapsed = (time.perf_counter() - started) * 1000
        if not n % 2:
            completion = alone()
        engine_in_server = (await session.stats())["last_engine_ms"]
        if n < 3:
            continue
        client_ms.append(elapsed)
        inside_ms.append(engine_in_server)
        if completion is None:  # the policy said no, or the answer cleaned up to nothing
            same += not answer
            continue
        alone_ms.append(completion.result.total_s * 1000)
        served = answer[0] if answer else ""
        same += served == completion.text
    latency = {
        "requests": len(client_ms), "max_new_tokens": args.max_new_tokens,
        "threads": args.threads,
        "prompt_tokens": completion.result.prompt_tokens if completion else None,
        "client_ms": summary(client_ms),
        "engine_in_server_ms": summary(inside_ms),
        "engine_alone_ms": summary(alone_ms),
        # the target: what the server adds to the engine's time for the same generation
        "ratio": _ratio(client_ms, inside_ms),
        # a cross-check: the same prompts through an engine in this process
        "ratio_vs_engine_alone": _ratio(client_ms, alone_ms),
        "same_text_as_engine_alone": f"{same}/{len(client_ms)}",
    }
    return latency


def _ratio(numerators: list[float], denominators: list[float]) -> dict:
    # A request whose answer cleaned up to nothing reports no engine time (0): no ratio.
    pairs = [(a, b) for a, b in zip(numerators, denominators) if b > 0]
    if not pairs:
        return {"of_medians": None, "per_request_p50": None, "per_request_p95": None}
    per_request = [a / b for a, b in pairs]
    return {"of_medians": round(statistics.median(a for a, _ in pairs)
                                / statistics.median(b for _, b in pairs), 3),
            "per_request_p50": rounded(percentile(per_request, 50), 3),
            "per_request_p95": rounded(percentile(per_request, 95), 3)}


def _rounded(figures: dict) -> dict:
    return {key: round(value, 2) if isinstance(value, float) else value
            for key, value in figures.items()}


async def _typing(session: Session, uri: str, debounce_ms: int, keystroke_ms: float) -> dict:
    """Type TYPED one character at a time at the end of a function, one request per key."""
    session.configure({"debounceMs": debounce_ms})
    base = "def compute(values, offset):\n    \n    return result\n"
    session.open(uri, base)
    before = await session.stats()
    pending = []
    line, column = 1, 4
    for version, char in enumerate(TYPED, start=2):
        session.insert(uri, version, line, column, char)
        if char == "\n":
            line, column = line + 1, 0
        else:
            column += 1
        pending.append(asyncio.ensure_future(session.complete(uri, line, column)))
        await asyncio.sleep(keystroke_ms / 1000)
    answers = await asyncio.gather(*pending)
    after = await session.stats()
    return {"keystrokes": len(TYPED), "requests": len(pending),
            "generations_started": after["generations"] - before["generations"],
            "superseded": after["superseded"] - before["superseded"],
            "answered_with_items": sum(1 for a in answers if a),
            "cache_hits": after["cache_hits"] - before["cache_hits"]}


def _print(figures: dict) -> None:
    latency = figures["latency"]
    print(f"model: {figures['model']}")
    print(f"inline completion: {latency['requests']} requests of {latency['prompt_tokens']}-ish "
          f"prompt tokens and {latency['max_new_tokens']} new tokens, {latency['threads']} "
          "CPU thread(s)")
    for name, label in (("client_ms", "through the stdio server"),
                        ("engine_in_server_ms", "inside engine.generate (server)"),
                        ("engine_alone_ms", "engine alone (this process)")):
        print(f"  {label:34} p50 {latency[name]['p50']:9.2f} ms   "
              f"p95 {latency[name]['p95']:9.2f} ms")
    for name, label in (("ratio", "server / engine"),
                        ("ratio_vs_engine_alone", "server / engine alone")):
        ratio = latency[name]
        print(f"  {label:34} {ratio['of_medians']:.3f} (ratio of medians; per request p50 "
              f"{ratio['per_request_p50']:.3f}, p95 {ratio['per_request_p95']:.3f})")
    print(f"  target: at most 1.10; the server's text equals the engine's: "
          f"{latency['same_text_as_engine_alone']}")
    overhead = figures["server_side_overhead_ms"]
    print(f"  inside the server, time beside the engine: p50 {overhead['p50']} ms, "
          f"p95 {overhead['p95']} ms")
    for name, typing in figures["typing"].items():
        print(f"typing {typing['keystrokes']} characters, one request per keystroke "
              f"({name}): {typing['generations_started']} generations started, "
              f"{typing['superseded']} superseded, {typing['answered_with_items']} answered "
              f"with items, {typing['cache_hits']} from the cache")
    print(f"most generations running at once for one document: "
          f"{figures['max_running_per_document']} (target <= 1)")
