"""`codellama bench typing FILE`: time to suggestion per keystroke while a line is typed.

Drives the real stdio server as an editor would: the line in the middle of FILE is emptied (keeping
its indentation) and typed back one character at a time, each keystroke one didChange and one
automatic inline completion request, waited for before the next key. Reported per run: time to
suggestion p50/p95 (all keystrokes, those that ran the model, cache hits), model calls per
keystroke, prompt tokens computed and reused, tokens generated (and model ms per generated token),
the engine's time to the first token, generations healed, cache hits. With the in-process engine it
runs twice in one go, KV reuse on and off (`ratio` = on/off p50), and checks that both typed the
same suggestions. `--engine URL` (e.g. `llamacpp-infill+http://127.0.0.1:8080`) types against a
serving engine instead.

`--compare-healing` adds one server (KV reuse on) that types the line `--rounds` times in
interleaved rounds as `--next-edits` does (below), token healing on in the rounds A (`healing`) and
off in the rounds B (`healing_off`), switched by `workspace/didChangeConfiguration`.
`healing_ratio` is A/B time to suggestion p50 over all keystrokes of their rounds,
`healing_model_ratio` the same where the model ran; since a healed answer spells the removed text
again and then goes on, the answers differ in length, so it also reports per arm the tokens
generated, model milliseconds per generated token (`healing_ratio_per_token`), the engine's time to
the first token (`healing_first_token_ratio`) and the generations where healing applied (`healed`).
`healing_paired_first_token_ratio` compares the time to the first token over the same keystrokes
only, those where the model ran in every round of both arms: the cost of healing itself (the
backed-off tail run again, the constrained first pieces), whatever the answers go on to say.

`--next-edits MODE` adds a run with next-edit suggestions on in this mode that measures their cost
to the inline completions within one server, so that the machine's drift between runs cancels out:
the line is typed once to warm up (not counted), then `--rounds` times (6), the document reset and
the suggestion cache emptied between rounds so that every round types the same keystrokes with the
same prompts, and the rounds alternate ABBA ABBA...: in the rounds A (`next_edits`) the client also
asks for a next edit (`textDocument/copilotInlineEdit`) on every keystroke, right after the
completion (the worst case: copilot-lsp, Copilot's Neovim client, asks when insert mode is left,
debounced), in the rounds B (`next_edits_off`) it does not. `next_edits_ratio` is A/B time to
suggestion p50 over all keystrokes of their rounds, `next_edits_same_suggestions` whether every
round typed the same suggestions; typing fast, every next-edit request is cancelled by the next key
and shows nothing. `--control` asks in the rounds B too (an A/A run): its ratio is what the
machine's noise alone gives this statistic, the floor below which a cost cannot be told. Then it
pauses `--pauses` times after a keystroke, each time waiting for the next edit:
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
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
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
                        help="a server typing in rounds with token healing on and off "
                        "(ABBA...), reporting healing_ratio (on/off time to suggestion p50), "
                        "per generated token and to the first token")
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
                        help="with --next-edits or --compare-healing: rounds typing the line "
                        "in one server, alternating the two arms (ABBA...; 6, at least 2)")
    parser.add_argument("--control", action="store_true",
                        help="with --next-edits: ask in both arms (A/A), so that the ratio shows "
                        "the noise floor of the statistic on this machine")
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
    if args.control and args.next_edits == "off":
        raise EngineError("--control needs --next-edits (it asks for next edits in both arms)")
    if (args.compare_healing or args.next_edits != "off") and args.rounds < 2:
        raise EngineError("--rounds must be at least 2: one round of each arm (next edits "
                          "asked and not, token healing on and off)")
    runs = {"reuse_on": await _typing_run(text, line, {**settings, "kvReuse": True}, args)}
    if args.engine == "local" and args.reuse == "both":
        runs["reuse_off"] = await _typing_run(text, line, {**settings, "kvReuse": False}, args)
    if args.compare_healing:
        runs["healing"], runs["healing_off"], healing_same = await _healing_run(
            text, line, {**settings, "kvReuse": True}, args)
    if args.next_edits != "off":
        runs["next_edits"], runs["next_edits_off"], same = await _interleaved_run(
            text, line, {**settings, "kvReuse": True, "nextEdits": args.next_edits,
                         "nextEditDelayMs": PAUSE_MS}, args)
    figures: dict = {"file": str(args.file), "line": line + 1, "model": model,
                     "engine": args.engine, "fim": args.fim, "compile": args.compile,
                     "token_healing": args.token_healing,
                     "max_new_tokens": args.max_new_tokens, "runs": runs}
    if "healing" in runs:
        figures.update(_healing_figures(runs["healing"], runs["healing_off"], args.rounds,
                                        healing_same))
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
        figures["next_edits_control"] = args.control
    return figures


async def _typing_run(text: str, line: int, settings: dict, args: argparse.Namespace) -> dict:
    """One server, one document: empty `line` and type it back, one request per key; then type
    along the last suggestion shown, as a user taking it by typing."""
    lines, indent, typed = _emptied(text, line, args.chars)
    async with _server(settings, args.threads) as session:
        uri = f"{URI}-{settings['kvReuse']}.py"
        session.open(uri, "\n".join(lines))
        await session.complete(uri, line, indent)  # warm-up: the first prompt runs whole
        before = await session.stats()
        keys, suggestions = await _type(session, uri, line, indent, typed)
        after = await session.stats()
        along, _ = await _type(session, uri, line, indent + len(typed),
                               _followed(suggestions, args.follow), len(typed) + 1)
    figures = _run_figures(keys, suggestions, before, after)
    figures["typing_along_suggestion"] = _along_figures(along)
    return figures


@contextlib.asynccontextmanager
async def _server(settings: dict, threads: int) -> AsyncIterator[Session]:
    """A started server with its model loaded, stopped afterwards (its last stderr lines
    printed where the run failed other than by an EngineError)."""
    session = Session()
    await session.start(settings, threads=threads)
    try:
        await session.wait_for_model()
        yield session
    except EngineError:
        raise
    except BaseException:
        sys.stderr.write("".join(session.stderr_tail))
        raise
    finally:
        await _stop(session)


@dataclass
class _Arm:
    """What the rounds of one arm typed: their keys, suggestions and the server's counts."""

    keys: list[Key] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    rounds: int = 0

    def figures(self) -> dict:
        figures = _run_figures(self.keys, self.suggestions, {}, self.counts)
        del figures["suggestions"]  # compared round by round instead
        return {"rounds": self.rounds, **figures}


async def _rounds(session: Session, uri: str, line: int, indent: int, typed: str, count: int,
                  prepare: Callable[[bool], Awaitable[None]],
                  asked: list[asyncio.Future] | None = None, both: bool = False
                  ) -> tuple[dict[bool, _Arm], list[tuple[bool, list[str]]], int]:
    """Type `typed` at (line, indent) of `uri` (open, the line emptied) once uncounted, then `count`
    times, the rounds alternating ABBA... between the arms A (True) and B (False), so that a
    drift of the machine during the run weighs on both alike; before each round the document is
    reset and `prepare(arm)` is awaited (it must empty the suggestion cache: every round then
    sends the same prompts). In the rounds A (in all rounds if `both`) a next edit is asked on
    every key too where `asked` is a list. The arms, (arm, suggestions) per round, and the
    document's version after."""
    arms = {True: _Arm(), False: _Arm()}
    rounds: list[tuple[bool, list[str]]] = []
    version = 1
    # Round -1 warms up and is not counted: a server's first round runs slower, and it would
    # always fall to the arm A.
    for number in range(-1, count):
        counted = number >= 0
        arm = counted and _asks(number)
        if counted:
            version += 1  # the document as it was: the line emptied again
            session.change(uri, version, (line, indent), (line, indent + len(typed)), "")
        await prepare(arm)
        before = await session.stats()
        keys, suggestions = await _type(session, uri, line, indent, typed, version,
                                        asked if counted and (arm or both) else None)
        version += len(typed)
        after = await session.stats()
        if not counted:
            continue
        arms[arm].keys.extend(keys)
        arms[arm].suggestions.extend(suggestions)
        arms[arm].rounds += 1
        _add_counts(arms[arm].counts, before, after)
        rounds.append((arm, suggestions))
    return arms, rounds, version


async def _interleaved_run(text: str, line: int, settings: dict, args: argparse.Namespace
                           ) -> tuple[dict, dict, bool]:
    """One server with next edits on: type `line` `args.rounds` times (`_rounds`), asking for
    a next edit on every key (A) and not (B). Then type along the last suggestion and time
    `args.pauses` pauses. The figures of A (with what its next-edit requests showed and the
    pauses), those of B, and whether all rounds typed the same suggestions."""
    lines, indent, typed = _emptied(text, line, args.chars)
    asked: list[asyncio.Future] = []
    async with _server(settings, args.threads) as session:
        uri = f"{URI}-interleaved.py"
        session.open(uri, "\n".join(lines))
        await session.complete(uri, line, indent)  # warm-up: the first prompt runs whole

        async def prepare(arm: bool) -> None:
            await _empty_suggestion_cache(session, settings)

        arms, rounds, version = await _rounds(session, uri, line, indent, typed, args.rounds,
                                              prepare, asked, args.control)
        along, _ = await _type(session, uri, line, indent + len(typed),
                               _followed(rounds[-1][1], args.follow), version)
        version += len(along)
        answers = await asyncio.gather(*asked)
        paused = await _pauses(session, uri, line, indent + len(typed) + len(along), version,
                               args.pauses)
    on, off = arms[True].figures(), arms[False].figures()
    on["typing_along_suggestion"] = _along_figures(along)
    on["next_edits"] = {"asked_while_typing": len(answers),
                        "shown_while_typing": sum(1 for answer in answers if answer["edits"]),
                        **paused}
    same = all(suggestions == rounds[0][1] for _, suggestions in rounds)
    return on, off, same


async def _healing_run(text: str, line: int, settings: dict, args: argparse.Namespace
                       ) -> tuple[dict, dict, bool]:
    """One server: type `line` `args.rounds` times (`_rounds`) with token healing on (A) and
    off (B), switched by `workspace/didChangeConfiguration` before each round. The figures of
    A and of B, and whether the rounds of each arm typed the same suggestions."""
    lines, indent, typed = _emptied(text, line, args.chars)
    settings = {**settings, "tokenHealing": True}
    async with _server(settings, args.threads) as session:
        uri = f"{URI}-healing.py"
        session.open(uri, "\n".join(lines))
        await session.complete(uri, line, indent)  # warm-up: the first prompt runs whole

        async def prepare(arm: bool) -> None:
            session.configure({"tokenHealing": arm})
            await _empty_suggestion_cache(session, settings)

        arms, rounds, _ = await _rounds(session, uri, line, indent, typed, args.rounds, prepare)
    same = all(suggestions == next(s for a, s in rounds if a == arm)
               for arm, suggestions in rounds)
    on, off = arms[True].figures(), arms[False].figures()
    on["paired_first_token"], off["paired_first_token"] = _paired_first_tokens(
        arms[True].keys, arms[False].keys, len(typed))
    return on, off, same


def _paired_first_tokens(on: list[Key], off: list[Key], per_round: int) -> tuple[dict, dict]:
    """The engine's time to the first token of each arm, over the keystrokes (positions in
    the typed line) where the model ran in every round of both arms: the same keys and the
    same prompts up to the healed tail, so the cost of healing itself (the tail backed off
    and run again, the constrained first pieces) whatever the answers go on to say."""
    def by_position(keys: list[Key]) -> dict[int, list[float]]:
        times: dict[int, list[float]] = {}
        for index, key in enumerate(keys):
            if key.by == "model" and key.first_token_ms is not None:
                times.setdefault(index % per_round, []).append(key.first_token_ms)
        return times

    rounds_on, rounds_off = len(on) // per_round, len(off) // per_round
    times_on, times_off = by_position(on), by_position(off)
    paired = [i for i in times_on if len(times_on[i]) == rounds_on
              and len(times_off.get(i, [])) == rounds_off]

    def figures(times: dict[int, list[float]]) -> dict:
        return {"keystrokes": len(paired), **summary([t for i in paired for t in times[i]])}
    return figures(times_on), figures(times_off)


def _healing_figures(on: dict, off: dict, rounds: int, same: bool) -> dict:
    """Token healing on over off: time to suggestion p50 over all keys of the arms, the
    model's p50 where it ran, its time per generated token, and its time to the first token
    (the answers differ in length: a healed one spells the removed text again, then goes on)."""
    return {"healing_rounds": rounds,
            "healing_ratio": _ratio(on["time_to_suggestion_ms"]["p50"],
                                    off["time_to_suggestion_ms"]["p50"]),
            "healing_model_ratio": _ratio(on["model_ms"]["p50"], off["model_ms"]["p50"]),
            "healing_ratio_per_token": _ratio(on["model_ms_per_token"],
                                              off["model_ms_per_token"]),
            "healing_first_token_ratio": _ratio(on["first_token_ms"]["p50"],
                                                off["first_token_ms"]["p50"]),
            "healing_paired_first_token_ratio": _ratio(on["paired_first_token"]["p50"],
                                                       off["paired_first_token"]["p50"]),
            "healing_same_suggestions": same}


def _asks(number: int) -> bool:
    """Whether round `number` (from 0) is one of the arm A: ABBA ABBA..., so that a drift of
    the machine during the run weighs on both arms alike."""
    return number % 4 in (0, 3)


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
           "generated_tokens", "healed")


@dataclass(frozen=True)
class Key:
    """One keystroke: its time to suggestion, what answered it (the model, the suggestion
    cache or none) and, where the model ran, the engine's time to its first token."""

    ms: float
    by: str
    first_token_ms: float | None = None


def _add_counts(total: dict, before: dict, after: dict) -> None:
    """Add what the server counted between `before` and `after` to `total`."""
    for key in COUNTED:
        if key in after:
            total[key] = total.get(key, 0) + after[key] - before.get(key, 0)


async def _type(session: Session, uri: str, line: int, column: int, chars: str,
                version: int = 1, asked: list[asyncio.Future] | None = None
                ) -> tuple[list[Key], list[str]]:
    """Type `chars` at (line, column), one request per key: a `Key` per key and the first
    suggestion after each. Where `asked` is a list, a next edit is asked for on every key too
    (not waited for: added to it)."""
    keys: list[Key] = []
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
        keys.append(Key(elapsed, _answered_by(previous, now), _first_token(previous, now)))
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


def _along_figures(keys: list[Key]) -> dict:
    hit_times = [key.ms for key in keys if key.by == "cache"]
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


def _first_token(before: dict, after: dict) -> float | None:
    """The engine's time to the first token of the answer counted between the two stats (None:
    no answer from the model, or a server that does not say)."""
    counted = after.get("first_token_ms", {}).get("count", 0)
    if counted > before.get("first_token_ms", {}).get("count", 0):
        return after["last_first_token_ms"]
    return None


def _run_figures(keys: list[Key], suggestions: list[str], before: dict,
                 after: dict) -> dict:
    def delta(key: str) -> int | None:
        if key not in after:
            return None
        return after[key] - before.get(key, 0)

    times = [key.ms for key in keys]
    hit_times = [key.ms for key in keys if key.by == "cache"]
    model_times = [key.ms for key in keys if key.by == "model"]
    first_token = [key.first_token_ms for key in keys if key.first_token_ms is not None]
    hits, calls, generated = len(hit_times), delta("generations"), delta("generated_tokens")
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
        "generated_tokens": generated,
        "model_ms_per_token": (round(sum(model_times) / generated, 3) if generated else None),
        "first_token_ms": summary(first_token),
        "healed": delta("healed"),
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
            f"tokens {run['generated_tokens']} ({run['model_ms_per_token']} model ms each); "
            f"first token p50 {run['first_token_ms']['p50']} ms; healed {run['healed']}")
        if "rounds" in run:
            lines[-1] += f"; {run['rounds']} of the interleaved rounds"
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
        arms = "asked in both arms (A/A control)" if figures["next_edits_control"] \
            else "asked/not"
        lines.append(f"  next edits {arms}, interleaved in one server over "
                     f"{figures['next_edits_rounds']} rounds (time to suggestion p50): "
                     f"{figures['next_edits_ratio']} (target <= 1.05); same suggestions: "
                     f"{figures['next_edits_same_suggestions']}")
    if "ratio" in figures:
        lines.append(f"  ratio reuse on/off (model p50): {figures['ratio']} (target <= 0.35); "
                     f"same suggestions: {figures['same_suggestions']}")
    if "healing_ratio" in figures:
        lines.append(f"  token healing on/off, interleaved in one server over "
                     f"{figures['healing_rounds']} rounds: time to suggestion p50 "
                     f"{figures['healing_ratio']} (target <= 1.05), model p50 "
                     f"{figures['healing_model_ratio']}, model ms per generated token "
                     f"{figures['healing_ratio_per_token']}, first token p50 "
                     f"{figures['healing_first_token_ratio']}, first token p50 on the "
                     f"{figures['runs']['healing']['paired_first_token']['keystrokes']} "
                     f"keystrokes where the model ran in every round "
                     f"{figures['healing_paired_first_token_ratio']}; same suggestions in the "
                     f"rounds of each arm: {figures['healing_same_suggestions']}")
    return "\n".join(lines)
