"""`codellama bench typing FILE`: time to suggestion per keystroke while a line is typed.

Drives the real stdio server as an editor would: the line in the middle of FILE is emptied
(keeping its indentation) and typed back one character at a time, each keystroke one didChange
and one automatic inline completion request, waited for before the next key. Reported per run:
time to suggestion p50/p95 (all keystrokes, those that ran the model, cache hits), model calls
per keystroke, prompt tokens computed and reused, cache hits. With the in-process engine it runs
twice in one go, KV reuse on and off (`ratio` = on/off p50), and checks that both typed the same
suggestions. `--compare-healing` adds a run with KV reuse on and token healing off
(`healing_ratio` = with/without healing p50). `--engine URL` (e.g.
`llamacpp-infill+http://127.0.0.1:8080`) types against a serving engine instead.

`--next-edits MODE` adds a run with next-edit suggestions on in this mode that measures their
cost to the inline completions within one server, so that the machine's drift between runs
cancels out: the line is typed `--rounds` times (6), the document reset and the suggestion cache
emptied between rounds so that every round types the same keystrokes with the same prompts, and
the rounds alternate ABBA ABBA...: in the rounds A (`next_edits`) the client also asks for a next
edit (`textDocument/copilotInlineEdit`) on every keystroke, right after the completion (the worst
case: copilot-lsp, Copilot's Neovim client, asks when insert mode is left, debounced), in the
rounds B (`next_edits_off`) it does not. `next_edits_ratio` is A/B time to suggestion p50 over
all keystrokes of their rounds, `next_edits_same_suggestions` whether every round typed the same
suggestions; typing fast, every next-edit request is cancelled by the next key and shows
nothing. Then it pauses `--pauses` times after a keystroke, each time waiting for the next edit:
`pause_to_suggestion_ms` is the time from the end of the pause (`nextEditDelayMs` after the
keystroke) to the answer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
import time
from collections.abc import Awaitable
from pathlib import Path

from codellama_lsp.benchmarks.figures import rounded, summary
from codellama_lsp.benchmarks.lsp_client import Session
from codellama_lsp.commands.model_args import add_setting_option, positive_int
from codellama_lsp.lsp.stats import percentile
from fim.engines.base import EngineError

URI = "file:///bench/typing"
INLINE_EDIT = "textDocument/copilotInlineEdit"
PAUSE_MS = 500  # nextEditDelayMs of the run with next edits on (the setting's default)


def register(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser("typing", help="time to suggestion per keystroke, typing a line",
                              description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path, help="the source file to type in")
    parser.add_argument("--model", default=None,
                        help="model directory or hub id (default: a tiny random model)")
    add_setting_option(parser, "engine", help="'local' (reuse on and off) or a serving "
                       "engine's URL")
    add_setting_option(parser, "fimFormat", help="FIM order")
    add_setting_option(parser, "tokenHealing", help="token healing where the cursor stands "
                       "inside a word (true, the server's default, or false)")
    parser.add_argument("--compare-healing", action="store_true",
                        help="also type with KV reuse on and token healing off, and report "
                        "healing_ratio (with/without healing, model p50)")
    parser.add_argument("--chars", type=positive_int, default=40,
                        help="characters of the line to type (40)")
    add_setting_option(parser, "maxNewTokens", default=16, help="tokens per suggestion")
    add_setting_option(parser, "contextWindow", help="prompt plus completion, in tokens")
    parser.add_argument("--follow", type=positive_int, default=12,
                        help="then type this many characters of the last suggestion shown "
                             "(answered from the suggestion cache)")
    parser.add_argument("--line", type=positive_int, default=None,
                        help="1-based line to type (default: a non-blank line mid-file)")
    parser.add_argument("--reuse", choices=("both", "on"), default="both",
                        help="local engine: KV reuse on and off (both), or on only")
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="CPU threads for the server's model (1)")
    parser.add_argument("--prompt-lookup", action="store_true",
                        help="local engine: prompt-lookup decoding on")
    add_setting_option(parser, "compile", help="local engine: the decode step compiled on "
                       "static KV caches (auto: on CUDA only)")
    parser.add_argument("--next-edits", choices=("off", "rules", "fim", "instruct"),
                        default="off", help="a server with next-edit suggestions on in this mode, "
                        "typing in rounds with next edits asked and not (default off: no "
                        "such run)")
    parser.add_argument("--rounds", type=positive_int, default=6,
                        help="with --next-edits: rounds typing the line in one server, "
                        "alternating next edits asked and not (ABBA...; 6, at least 2)")
    parser.add_argument("--pauses", type=positive_int, default=10,
                        help="with --next-edits: pauses timed to the next edit (10)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    logging.getLogger("pygls").setLevel(logging.ERROR)
    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EngineError(f"cannot read {args.file}: {exc}") from None
    line = _typed_line(text, args.line)
    model = args.model
    if model is None:
        import tempfile

        from fim.tiny import make_tiny_model
        model = str(make_tiny_model(Path(tempfile.mkdtemp(prefix="codellama-typing-"))))
    figures = asyncio.run(_bench(text, line, model, args))
    print(json.dumps(figures, indent=2) if args.json else _report(figures))
    return 0


def _typed_line(text: str, chosen: int | None) -> int:
    """The 0-based line to type: `chosen`, else the non-blank line nearest the middle."""
    lines = text.split("\n")
    if chosen is not None:
        if chosen > len(lines) or not lines[chosen - 1].strip():
            raise EngineError(f"line {chosen} is blank or past the end of the file")
        return chosen - 1
    middle = len(lines) // 2
    for distance in range(len(lines)):
        for index in (middle + distance, middle - distance):
            if 0 <= index < len(lines) and len(lines[index].strip()) >= 8:
                return index
    raise EngineError("the file has no line to type")


async def _bench(text: str, line: int, model: str, args: argparse.Namespace) -> dict:
    settings = {"model": model, "engine": args.engine, "fimFormat": args.fim,
                "debounceMs": 0, "maxNewTokens": args.max_new_tokens,
                "contextWindow": args.context_window,
                "promptLookup": args.prompt_lookup, "compile": args.compile,
                "tokenHealing": args.token_healing}
    if args.next_edits != "off":
        settings["nextEdits"] = "off"
    runs = {"reuse_on": await _typing_run(text, line, {**settings, "kvReuse": True}, args)}
    if args.engine == "local" and args.reuse == "both":
        runs["reuse_off"] = await _typing_run(text, line, {**settings, "kvReuse": False}, args)
    if args.compare_healing:
        runs["healing_off"] = await _typing_run(
            text, line, {**settings, "kvReuse": True, "tokenHealing": False}, args)
    if args.next_edits != "off":
        if args.rounds < 2:
            raise EngineError("--rounds must be at least 2: one round with next edits asked "
                              "and one without")
        runs["next_edits"], runs["next_edits_off"], same = await _interleaved_run(
            text, line, {**settings, "kvReuse": True, "nextEdits": args.next_edits,
                         "nextEditDelayMs": PAUSE_MS}, args)
    figures: dict = {"file": str(args.file), "line": line + 1, "model": model,
                     "engine": args.engine, "fim": args.fim, "compile": args.compile,
                     "token_healing": args.token_healing,
                     "max_new_tokens": args.max_new_tokens, "runs": runs}
    if "healing_off" in runs:
        figures["healing_ratio"] = _ratio(runs["reuse_on"]["model_ms"]["p50"],
                                          runs["healing_off"]["model_ms"]["p50"])
        runs["healing_off"].pop("suggestions")
    if "reuse_off" in runs:
        on, off = runs["reuse_on"], runs["reuse_off"]
        figures["ratio"] = _ratio(on["model_ms"]["p50"], off["model_ms"]["p50"])
        figures["same_suggestions"] = on.pop("suggestions") == off.pop("suggestions")
    else:
        runs["reuse_on"].pop("suggestions")
    if "next_edits" in runs:
        figures["next_edits_rounds"] = args.rounds
        figures["next_edits_ratio"] = _ratio(
            runs["next_edits"]["time_to_suggestion_ms"]["p50"],
            runs["next_edits_off"]["time_to_suggestion_ms"]["p50"])
        figures["next_edits_same_suggestions"] = same
    return figures


async def _typing_run(text: str, line: int, settings: dict, args: argparse.Namespace) -> dict:
    """One server, one document: empty `line` and type it back, one request per key; then type
    along the last suggestion shown, as a user taking it by typing."""
    lines, indent, typed = _emptied(text, line, args.chars)
    session = Session()
    await session.start(settings, threads=args.threads)
    try:
        await session.wait_for_model()
        uri = f"{URI}-{settings['kvReuse']}.py"
        session.open(uri, "\n".join(lines))
        await session.complete(uri, line, indent)  # warm-up: the first prompt runs whole
        before = await session.stats()
        keys, suggestions = await _type(session, uri, line, indent, typed)
        after = await session.stats()
        along, _ = await _type(session, uri, line, indent + len(typed),
                               _followed(suggestions, args.follow), len(typed) + 1)
    except EngineError:
        raise
    except BaseException:
        sys.stderr.write("".join(session.stderr_tail))
        raise
    finally:
        await _stop(session)
    figures = _run_figures(keys, suggestions, before, after)
    figures["typing_along_suggestion"] = _along_figures(along)
    return figures


async def _interleaved_run(text: str, line: int, settings: dict, args: argparse.Namespace
                           ) -> tuple[dict, dict, bool]:
    """One server with next edits on: type `line` `args.rounds` times, the rounds alternating
    ABBA... between asking for a next edit on every key (A) and not (B), the document reset and
    the suggestion cache emptied before each, so every round sends the same prompts. Then type
    along the last suggestion and time `args.pauses` pauses. The figures of A (with what its
    next-edit requests showed and the pauses), those of B, and whether all rounds typed the
    same suggestions."""
    lines, indent, typed = _emptied(text, line, args.chars)
    session = Session()
    await session.start(settings, threads=args.threads)
    arms: dict[bool, tuple[list, list[str], dict]] = {True: ([], [], {}), False: ([], [], {})}
    rounds: list[list[str]] = []
    asked: list[asyncio.Future] = []
    try:
        await session.wait_for_model()
        uri = f"{URI}-interleaved.py"
        session.open(uri, "\n".join(lines))
        await session.complete(uri, line, indent)  # warm-up: the first prompt runs whole
        version = 1
        for number in range(args.rounds):
            ask = _asks(number)
            if number:
                version += 1  # the document as it was: the line emptied again
                session.change(uri, version, (line, indent), (line, indent + len(typed)), "")
                await _empty_suggestion_cache(session, settings)
            before = await session.stats()
            keys, suggestions = await _type(session, uri, line, indent, typed, version,
                                            asked if ask else None)
            version += len(typed)
            after = await session.stats()
            arms[ask][0].extend(keys)
            arms[ask][1].extend(suggestions)
            _add_counts(arms[ask][2], before, after)
            rounds.append(suggestions)
        along, _ = await _type(session, uri, line, indent + len(typed),
                               _followed(rounds[-1], args.follow), version)
        version += len(along)
        answers = await asyncio.gather(*asked)
        paused = await _pauses(session, uri, line, indent + len(typed) + len(along), version,
                               args.pauses)
    except EngineError:
        raise
    except BaseException:
        sys.stderr.write("".join(session.stderr_tail))
        raise
    finally:
        await _stop(session)
    on = _arm_figures(*arms[True], sum(map(_asks, range(args.rounds))))
    off = _arm_figures(*arms[False], args.rounds - on["rounds"])
    on["typing_along_suggestion"] = _along_figures(along)
    on["next_edits"] = {"asked_while_typing": len(answers),
                        "shown_while_typing": sum(1 for answer in answers if answer["edits"]),
                        **paused}
    same = all(suggestions == rounds[0] for suggestions in rounds)
    return on, off, same


def _asks(number: int) -> bool:
    """Whether round `number` (from 0) asks for next edits: ABBA ABBA..., so that a drift of
    the machine during the run weighs on both arms alike."""
    return number % 4 in (0, 3)


def _arm_figures(keys: list[tuple[float, str]], suggestions: list[str], counts: dict,
                 rounds: int) -> dict:
    figures = _run_figures(keys, suggestions, {}, counts)
    del figures["suggestions"]  # compared round by round instead
    return {"rounds": rounds, **figures}


def _emptied(text: str, line: int, chars: int) -> tuple[list[str], int, str]:
    """The file's lines with `line` emptied (keeping its indentation), the indentation's width
    and the (at most `chars`) characters to type back."""
    lines = text.split("\n")
    target = lines[line]
    indent = len(target) - len(target.lstrip())
    lines[line] = target[:indent]
    return lines, indent, target[indent:][:chars]


def _followed(suggestions: list[str], follow: int) -> str:
    """What to type along the last suggestion shown: up to its first line end, and short of
    its end (where nothing is left to show)."""
    shown = next((s for s in reversed(suggestions) if s.split("\n")[0].strip()), "")
    return shown[:-1].split("\n")[0][:follow]


async def _empty_suggestion_cache(session: Session, settings: dict) -> None:
    """A change of a setting that shapes suggestions empties the server's suggestion cache:
    change one and set it back, then wait until the server has taken both."""
    tokens = settings["maxNewTokens"]
    session.configure({"maxNewTokens": tokens + 1})
    session.configure({"maxNewTokens": tokens})
    await session.stats()


COUNTED = ("generations", "cache_hits", "prompt_tokens", "reused_prompt_tokens",
           "generated_tokens")


def _add_counts(total: dict, before: dict, after: dict) -> None:
    """Add what the server counted between `before` and `after` to `total`."""
    for key in COUNTED:
        if key in after:
            total[key] = total.get(key, 0) + after[key] - before.get(key, 0)


async def _type(session: Session, uri: str, line: int, column: int, chars: str,
                version: int = 1, asked: list[asyncio.Future] | None = None
                ) -> tuple[list[tuple[float, str]], list[str]]:
    """Type `chars` at (line, column), one request per key: (ms, what answered) per key (the
    model, the suggestion cache or none) and the first suggestion after each. Where `asked`
    is a list, a next edit is asked for on every key too (not waited for: added to it)."""
    keys: list[tuple[float, str]] = []
    suggestions = []
    previous = await session.stats()
    for char in chars:
        version, column = version + 1, column + 1
        started = time.perf_counter()
        session.insert(uri, version, line, column - 1, char)
        # The completion is asked first, as a client that gives it priority would: the next
        # edit's request is read while the completion generates.
        completion = asyncio.ensure_future(session.complete(uri, line, column))
        if asked is not None:
            asked.append(asyncio.ensure_future(_next_edit(session, uri, version, line, column)))
        answer = await completion
        elapsed = (time.perf_counter() - started) * 1000
        suggestions.append(answer[0] if answer else "")
        now = await session.stats()
        keys.append((elapsed, _answered_by(previous, now)))
        previous = now
    return keys, suggestions


def _next_edit(session: Session, uri: str, version: int, line: int, column: int
               ) -> Awaitable[dict]:
    return session.request(INLINE_EDIT, {"textDocument": {"uri": uri, "version": version},
                                         "position": {"line": line, "character": column}})


async def _pauses(session: Session, uri: str, line: int, column: int, version: int,
                  count: int) -> dict:
    """Type a space and wait for the next edit, `count` times: the time from the end of the
    pause (`PAUSE_MS` after the keystroke) to the answer, as the client sees it."""
    times, shown = [], 0
    for _ in range(count):
        version, column = version + 1, column + 1
        started = time.perf_counter()
        session.insert(uri, version, line, column - 1, " ")
        answer = await _next_edit(session, uri, version, line, column)
        times.append((time.perf_counter() - started) * 1000 - PAUSE_MS)
        shown += bool(answer["edits"])
    server = (await session.stats())["next_edits"]
    return {"pauses": count, "shown_after_pause": shown,
            "pause_to_suggestion_ms": summary(times),
            "server_latency_ms": server["latency_ms"], "by_source": server["by_source"]}


def _along_figures(keys: list[tuple[float, str]]) -> dict:
    hit_times = [ms for ms, by in keys if by == "cache"]
    return {"keystrokes": len(keys), "answered_from_cache": len(hit_times),
            "cache_hit_ms": {"p50": rounded(percentile(hit_times, 50), 2),
                             "max": rounded(max(hit_times), 2) if hit_times else None}}


async def _stop(session: Session) -> None:
    """Stop the server; one that does not exit in time (a loaded machine) is killed."""
    with contextlib.suppress(TimeoutError):
        await session.stop()


def _answered_by(before: dict, after: dict) -> str:
    if after.get("generations", 0) > before.get("generations", 0):
        return "model"
    return "cache" if after["cache_hits"] > before["cache_hits"] else "none"


def _run_figures(keys: list[tuple[float, str]], suggestions: list[str], before: dict,
                 after: dict) -> dict:
    def delta(key: str) -> int | None:
        if key not in after:
            return None
        return after[key] - before.get(key, 0)

    times = [ms for ms, _ in keys]
    hit_times = [ms for ms, by in keys if by == "cache"]
    model_times = [ms for ms, by in keys if by == "model"]
    hits, calls = len(hit_times), delta("generations")
    return {
        "keystrokes": len(times),
        "time_to_suggestion_ms": summary(times),
        "model_ms": summary(model_times),
        "cache_hit_ms": {"count": hits, "p50": rounded(percentile(hit_times, 50), 2),
                         "max": rounded(max(hit_times), 2) if hit_times else None},
        "model_calls_per_keystroke": None if calls is None else round(calls / len(times), 3),
        "prompt_tokens": delta("prompt_tokens"),
        "prompt_tokens_reused": delta("reused_prompt_tokens"),
        # Model time follows the answers' length: with token healing they differ.
        "generated_tokens": delta("generated_tokens"),
        "suggestions": suggestions,
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _report(figures: dict) -> str:
    healing = "on" if figures["token_healing"] else "off"
    lines = [f"typing line {figures['line']} of {figures['file']} ({figures['fim']}, token "
             f"healing {healing}, {figures['max_new_tokens']} new tokens), engine "
             f"{figures['engine']}, "
             f"model {figures['model']}"]
    for name, run in figures["runs"].items():
        every, model, hits = run["time_to_suggestion_ms"], run["model_ms"], run["cache_hit_ms"]
        lines.append(
            f"  {name}: {run['keystrokes']} keystrokes; time to suggestion p50 {every['p50']} ms"
            f", p95 {every['p95']} ms; when the model ran p50 {model['p50']} ms, p95 "
            f"{model['p95']} ms; model calls per keystroke {run['model_calls_per_keystroke']}; "
            f"cache hits {hits['count']} (p50 {hits['p50']} ms, max {hits['max']} ms); prompt "
            f"tokens {run['prompt_tokens']}, reused {run['prompt_tokens_reused']}; generated "
            f"tokens {run['generated_tokens']}")
        if "rounds" in run:
            lines[-1] += f" ({run['rounds']} of the interleaved rounds)"
        if "typing_along_suggestion" in run:
            along = run["typing_along_suggestion"]
            lines.append(
                f"    typing along the last suggestion: {along['keystrokes']} keystrokes, "
                f"{along['answered_from_cache']} answered from the cache (p50 "
                f"{along['cache_hit_ms']['p50']} ms, max {along['cache_hit_ms']['max']} ms)")
        if "next_edits" in run:
            asked = run["next_edits"]
            lines.append(
                f"    next edits: {asked['asked_while_typing']} asked while typing, "
                f"{asked['shown_while_typing']} shown; after {asked['pauses']} pauses "
                f"{asked['shown_after_pause']} shown, from the pause to the suggestion p50 "
                f"{asked['pause_to_suggestion_ms']['p50']} ms, p95 "
                f"{asked['pause_to_suggestion_ms']['p95']} ms (by source {asked['by_source']})")
    if "next_edits_ratio" in figures:
        lines.append(f"  next edits asked/not, interleaved in one server over "
                     f"{figures['next_edits_rounds']} rounds (time to suggestion p50): "
                     f"{figures['next_edits_ratio']} (target <= 1.05); same suggestions: "
                     f"{figures['next_edits_same_suggestions']}")
    if "ratio" in figures:
        lines.append(f"  ratio reuse on/off (model p50): {figures['ratio']} (target <= 0.35); "
                     f"same suggestions: {figures['same_suggestions']}")
    if "healing_ratio" in figures:
        lines.append(f"  ratio token healing on/off (model p50): {figures['healing_ratio']} "
                     "(target <= 1.05)")
    return "\n".join(lines)
