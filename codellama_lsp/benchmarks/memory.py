"""`codellama bench memory`: the language server's memory over a long session.

A real `codellama lsp` process over stdio (a tiny random model unless --model names one) gets
what a long day in an editor sends: documents opened and closed (500 over the run, 10 open at a
time), incremental edits (20,000: typing, backspace, new lines, cut lines; in bursts in one
document, then another), an inline completion request after every Nth edit, and
`codellama/prewarm` whenever the cursor jumps or another document comes to the front. The
server's resident set size (RSS) is read every 1,000 edits, each time after a request has made
sure the server handled everything sent before. What counts is the growth from the first 1,000
edits (model loaded, caches full, parsers warm) to the end, all documents closed: beyond
--max-growth-mb the command exits 1. --tracemalloc traces the server's allocations from the
baseline on (slower, and its RSS is then not the figure) and lists where the memory still held
at the end was allocated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import signal
import sys
import sysconfig
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from codellama_lsp.benchmarks.lsp_client import Session
from codellama_lsp.benchmarks.worker import model_folder
from codellama_lsp.commands.model_args import non_negative_float, positive_int, seed
from codellama_lsp.errors import UserError

OPEN_AT_ONCE = 10  # documents open together, as tabs in an editor
REST_S = 0.2  # a rest long enough for the server to start a pre-warm (it waits 0.15 s)
REST_SHARE = 0.25  # the share of opened and switched-to documents where the cursor rests
TYPED = "abcdefghijklmnopqrstuvwxyz_ ().,=+:0123456789"
MB = 1024 * 1024


def register(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser("memory", help="the server's memory over a long editing session",
                              description=__doc__.split("\n\n")[0] + "\n\n"
                              + __doc__.split("\n\n")[1])
    parser.add_argument("--model", default=None, type=model_folder,
                        help="model directory (default: a tiny random model built on the spot)")
    parser.add_argument("--documents", type=positive_int, default=500,
                        help="documents opened (and closed) over the run (500)")
    parser.add_argument("--edits", type=positive_int, default=20_000,
                        help="incremental edits (20000)")
    parser.add_argument("--complete-every", type=positive_int, default=10, metavar="N",
                        help="an inline completion request after every Nth edit (10)")
    parser.add_argument("--baseline-edits", type=positive_int, default=1000, metavar="N",
                        help="edits after which the RSS is the baseline of the growth (1000)")
    parser.add_argument("--checkpoint-every", type=positive_int, default=1000, metavar="N",
                        help="edits between RSS readings (1000)")
    parser.add_argument("--max-growth-mb", type=non_negative_float, default=50.0,
                        help="growth from the baseline to the end beyond which the command "
                        "exits 1 (50)")
    parser.add_argument("--max-new-tokens", type=positive_int, default=16,
                        help="tokens per completion (16)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the documents and edits")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="trace the server's allocations and list what grew (Unix)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.baseline_edits >= args.edits:
        raise UserError(f"--baseline-edits {args.baseline_edits} must be smaller than "
                        f"--edits {args.edits}")
    if args.tracemalloc and not hasattr(signal, "SIGUSR1"):
        raise UserError("--tracemalloc needs SIGUSR1 (Linux, macOS)")
    logging.getLogger("pygls").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="codellama-bench-") as scratch:
        model = args.model
        if model is None:
            from fim.tiny import make_tiny_model
            model = str(make_tiny_model(Path(scratch) / "tiny"))
        figures = asyncio.run(measure(model, args, Path(scratch)))
    figures["model"] = args.model or "tiny random model"
    print(json.dumps(figures, indent=2) if args.json else format_figures(figures))
    return verdict(figures)


def verdict(figures: dict) -> int:
    """0, or 1 with a line on stderr where the RSS grew beyond the limit."""
    growth, limit = figures["rss_mb"]["growth"], figures["max_growth_mb"]
    if growth > limit:
        print(f"codellama bench memory: the server's RSS grew by {growth:.1f} MB after the "
              f"first {figures['baseline_edits']} edits, more than {limit:g} MB",
              file=sys.stderr)
        return 1
    return 0


# -- the client's side of the documents ---------------------------------------------------------

@dataclass
class Buffer:
    """An open document as the client holds it: LF lines of ASCII (so characters are UTF-16
    code units), its version and the cursor."""

    uri: str
    lines: list[str]
    version: int = 1
    line: int = 0
    column: int = 0

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def jump(self, rng: random.Random) -> None:
        """The cursor to the end of a random line."""
        self.line = rng.randrange(len(self.lines))
        self.column = len(self.lines[self.line])


Change = tuple[tuple[int, int], tuple[int, int], str]  # start, end (line, character), new text


def edit(buffer: Buffer, rng: random.Random) -> Change:
    """One edit at the cursor, as typing makes them, applied to `buffer`: mostly a typed
    character, else a backspace, a new line (indented as the cursor's) or the line cut."""
    line, column = buffer.line, buffer.column
    current = buffer.lines[line]
    buffer.version += 1
    roll = rng.random()
    if roll < 0.12 and column > 0:
        buffer.lines[line] = current[:column - 1] + current[column:]
        buffer.column -= 1
        return (line, column - 1), (line, column), ""
    if roll < 0.20:
        indent = current[:len(current) - len(current.lstrip())]
        buffer.lines[line:line + 1] = [current[:column], indent + current[column:]]
        buffer.line, buffer.column = line + 1, len(indent)
        return (line, column), (line, column), "\n" + indent
    if roll < 0.23 and line + 1 < len(buffer.lines):
        del buffer.lines[line]
        buffer.column = len(buffer.lines[line])
        return (line, 0), (line + 1, 0), ""
    char = rng.choice(TYPED)
    buffer.lines[line] = current[:column] + char + current[column:]
    buffer.column += 1
    return (line, column), (line, column), char


def source_files() -> list[Path]:
    """This Python's standard library modules in ASCII: real code, always present."""
    folder = Path(sysconfig.get_paths()["stdlib"])
    found = [path for path in sorted(folder.glob("*.py")) if _is_ascii(path)]
    if not found:
        raise UserError(f"no ASCII Python files in {folder} to edit")
    return found


def _is_ascii(path: Path) -> bool:
    try:
        return path.read_bytes().isascii()
    except OSError:
        return False


def new_buffer(number: int, files: list[Path], rng: random.Random) -> Buffer:
    """Document `number`: 40 to 300 lines of one of `files`."""
    path = files[number % len(files)]
    lines = path.read_text(encoding="ascii").split("\n")
    size = rng.randint(40, 300)
    start = rng.randrange(max(1, len(lines) - size))
    chosen = lines[start:start + size] or [""]
    buffer = Buffer(f"file:///bench/memory/{number:04d}_{path.name}", chosen)
    buffer.jump(rng)
    return buffer


# -- the session --------------------------------------------------------------------------------

@dataclass
class Counts:
    opened: int = 0
    closed: int = 0
    completions: int = 0
    with_text: int = 0
    prewarms: int = 0
    checkpoints: list[tuple[int, float]] = field(default_factory=list)


async def measure(model: str, args: argparse.Namespace, scratch: Path) -> dict:
    import psutil

    rng = random.Random(args.seed)
    files = source_files()
    server: tuple[str, ...] = ("-m", "codellama_lsp", "lsp")
    if args.tracemalloc:
        server = ("-m", "codellama_lsp.benchmarks.traced_server", str(scratch))
    session = Session()
    started = time.perf_counter()
    await session.start({"model": model, "maxNewTokens": args.max_new_tokens,
                         "debounceMs": 0}, threads=1, server=server)
    assert session.process is not None
    process = psutil.Process(session.process.pid)

    async def rss_mb() -> float:
        await session.stats()  # answered after everything sent before it was handled
        return process.memory_info().rss / MB

    counts = Counts()
    try:
        await session.wait_for_model()
        loaded = await rss_mb()
        baseline, snapshots = await _edit_session(session, args, rng, files, counts, rss_mb,
                                                  scratch)
        end = await rss_mb()
        if args.tracemalloc:
            snapshots.append(await _snapshot(session, scratch, 2))
        stats = await session.stats()
    except BaseException:
        sys.stderr.write("".join(session.stderr_tail))
        raise
    finally:
        await session.stop()
    figures = {
        "documents": counts.opened, "closed": counts.closed, "edits": args.edits,
        "completions": counts.completions, "completions_with_text": counts.with_text,
        "prewarm_notifications": counts.prewarms,
        "server_prewarms": stats.get("prewarms"),
        "baseline_edits": args.baseline_edits, "max_growth_mb": args.max_growth_mb,
        "rss_mb": {"model_loaded": round(loaded, 1), "baseline": round(baseline, 1),
                   "end": round(end, 1), "growth": round(round(end, 1) - round(baseline, 1), 1),
                   "peak": round(max([end, *(rss for _, rss in counts.checkpoints)]), 1)},
        "checkpoints": counts.checkpoints,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if snapshots:
        figures["grew_most"] = grew_most(snapshots[0], snapshots[-1])
    return figures


async def _edit_session(session: Session, args: argparse.Namespace, rng: random.Random,
                        files: list[Path], counts: Counts,
                        rss_mb: Callable[[], Awaitable[float]], scratch: Path
                        ) -> tuple[float, list[Path]]:
    """Open, edit, complete in and close the documents; (the baseline RSS, tracemalloc
    snapshots taken)."""
    buffers: list[Buffer] = []  # open, oldest first

    def open_next() -> Buffer:
        buffer = new_buffer(counts.opened, files, rng)
        session.open(buffer.uri, buffer.text)  # the server pre-warms there by itself
        buffers.append(buffer)
        counts.opened += 1
        return buffer

    async def maybe_rest() -> None:
        """Now and then the user reads before typing on: a pre-warm gets to run."""
        if rng.random() < REST_SHARE:
            await asyncio.sleep(REST_S)

    keep = min(OPEN_AT_ONCE, args.documents)
    for _ in range(keep):
        open_next()
    # The other documents are opened evenly over the edits, each closing the oldest.
    rotations = [(k + 1) * args.edits // (args.documents - keep + 1)
                 for k in range(args.documents - keep)]
    burst = 0
    baseline, snapshots = 0.0, []
    active = buffers[-1]
    for number in range(1, args.edits + 1):
        while rotations and rotations[0] <= number:
            rotations.pop(0)
            closed = buffers.pop(0)
            session.close(closed.uri)
            counts.closed += 1
            active, burst = open_next(), rng.randint(5, 40)
            await maybe_rest()
        if burst <= 0:  # another tab comes to the front
            active, burst = rng.choice(buffers), rng.randint(5, 40)
            session.prewarm(active.uri, active.line, active.column)
            counts.prewarms += 1
            await maybe_rest()
        elif rng.random() < 0.05:  # a click elsewhere in the document
            active.jump(rng)
            session.prewarm(active.uri, active.line, active.column)
            counts.prewarms += 1
        burst -= 1
        start, end, text = edit(active, rng)
        session.change(active.uri, active.version, start, end, text)
        if number % args.complete_every == 0:
            texts = await session.complete(active.uri, active.line, active.column)
            counts.completions += 1
            counts.with_text += bool(texts)
        elif number % 64 == 0:
            await session.drain()
        if number == args.baseline_edits:
            baseline = await rss_mb()
            if args.tracemalloc:
                snapshots.append(await _snapshot(session, scratch, 1))
        if number % args.checkpoint_every == 0:
            counts.checkpoints.append((number, round(await rss_mb(), 1)))
    for buffer in buffers:
        session.close(buffer.uri)
        counts.closed += 1
    return baseline, snapshots


async def _snapshot(session: Session, folder: Path, number: int) -> Path:
    """Have the traced server write its tracemalloc snapshot `number`; its path."""
    assert session.process is not None
    await session.stats()
    os.kill(session.process.pid, signal.SIGUSR1)
    path = folder / f"snapshot-{number}.pickle"
    deadline = time.monotonic() + 300
    while not path.exists():
        if time.monotonic() > deadline:
            raise UserError("the traced server wrote no tracemalloc snapshot in 5 minutes")
        await asyncio.sleep(0.1)
    return path


def grew_most(before: Path, after: Path, count: int = 10) -> list[dict]:
    """The allocation sites whose live memory grew most between two snapshots (tracing starts
    with the first one)."""
    own = (tracemalloc.Filter(False, tracemalloc.__file__),)
    old = tracemalloc.Snapshot.load(str(before)).filter_traces(own)
    new = tracemalloc.Snapshot.load(str(after)).filter_traces(own)
    return [{"mb": round(stat.size_diff / MB, 2), "blocks": stat.count_diff,
             "where": [f"{frame.filename}:{frame.lineno}"  # the allocating line first
                       for frame in reversed(stat.traceback)][:6]}
            for stat in new.compare_to(old, "traceback")[:count]]


def format_figures(figures: dict) -> str:
    rss = figures["rss_mb"]
    rows = [("server RSS with the model loaded", f"{rss['model_loaded']:8.1f} MB"),
            (f"after the first {figures['baseline_edits']} edits", f"{rss['baseline']:8.1f} MB"),
            ("at the end, all documents closed", f"{rss['end']:8.1f} MB"),
            ("growth", f"{rss['growth']:+8.1f} MB (limit {figures['max_growth_mb']:g} MB; "
                       f"peak {rss['peak']:.1f} MB)")]
    lines = [
        f"model: {figures['model']}",
        f"{figures['documents']} documents opened and closed, {figures['edits']} edits, "
        f"{figures['completions']} inline completions ({figures['completions_with_text']} "
        f"with text), {figures['prewarm_notifications']} pre-warm notifications "
        f"({figures['server_prewarms']} pre-warms started), {figures['seconds']} s",
        *(f"  {label:<36}{value}" for label, value in rows),
        "  at each checkpoint (edits: MB): "
        + ", ".join(f"{edits}: {mb}" for edits, mb in figures["checkpoints"]) + ", end: "
        + str(rss["end"]),
    ]
    for site in figures.get("grew_most", []):
        lines.append(f"  {site['mb']:+7.2f} MB {site['blocks']:+7d} blocks  "
                     + " <- ".join(site["where"][:3]))
    return "\n".join(lines)
