"""`codellama eval humaneval-infilling DATA.jsonl.gz`: pass@1 of greedy completions on the
HumanEval infilling tasks (Bavarian et al. 2022), through the editor's prompt and clean-up.

A task's document is `prompt + suffix`. Where the hole is whole lines (single- and multi-line
tasks), the cursor sits on an empty line between them, as in an editor, and the completion is
inserted followed by a line end; elsewhere (random spans) the cursor is where the span was cut
(often inside a word, where token healing matters). `--variants` scores several prompt variants
(FIM order, token healing) on the same tasks in one run.
Each program, `prompt + completion + suffix + test + check(entry_point)`, runs in its own Python
process, in a temporary directory, under a time and a memory limit.
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from codellama_lsp.commands.model_args import (
    add_model_args,
    check_model_args,
    engine_from_args,
    positive_int,
)
from codellama_lsp.completion.cleanup import trim_trailing_whitespace
from codellama_lsp.errors import UserError
from codellama_lsp.evals.infilling import (
    ProgressLine,
    Variant,
    add_fim_args,
    chosen_variants,
    infill,
)
from codellama_lsp.evals.sandbox import run_program
from codellama_lsp.syntax.parsed import ParsedDocument
from fim.engines.base import Engine

Completer = Callable[["Task"], str]


@dataclass(frozen=True)
class Task:
    task_id: str
    prompt: str
    suffix: str
    canonical_solution: str
    test: str
    entry_point: str

    @property
    def whole_lines(self) -> bool:
        """Whether the hole is whole lines (its text ends a line where the prompt ends one)."""
        return self.prompt.endswith("\n") and self.canonical_solution.endswith("\n")

    def program(self, middle: str) -> str:
        return (self.prompt + middle + self.suffix + "\n" + self.test + "\n"
                + f"check({self.entry_point})\n")


@dataclass(frozen=True)
class Outcome:
    task_id: str
    passed: bool
    result: str  # "passed", "timed out", or the last line of the error
    completion: str
    exact: bool  # the completion is the canonical solution (trailing whitespace aside)


def register(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser(
        "humaneval-infilling", help="pass@1 on HumanEval infilling tasks",
        description="Complete each task greedily through the editor's prompt and clean-up and "
        "run its tests (each program in its own process with a time and memory limit). "
        "DATA is one of the task files of openai/human-eval-infilling.")
    parser.add_argument("data", type=Path, metavar="DATA.jsonl.gz")
    add_model_args(parser)
    add_fim_args(parser)
    parser.add_argument("--limit", type=positive_int,
                        help="the first N tasks only (default: all)")
    parser.add_argument("--workers", type=positive_int, default=2,
                        help="programs run at once (default 2)")
    parser.add_argument("--timeout", type=float, default=3.0,
                        help="seconds a program may run (default 3, as the original harness)")
    parser.add_argument("--answers", choices=sorted(FIXED_ANSWERS),
                        help="insert fixed answers instead of a model's: canonical (checks the "
                        "harness: 100%%), empty or previous-line (trivial baselines); default: "
                        "the model's")
    parser.add_argument("--compare-cleanup", action="store_true",
                        help="also score the same answers without clean-up (default: not)")
    parser.add_argument("--json", action="store_true",
                        help="print the figures as JSON (default: one line of text)")
    parser.add_argument("--out", type=Path, metavar="FILE",
                        help="write each task's outcome and completion to FILE as JSON "
                        "(default: not written)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    tasks = read_tasks(args.data, args.limit)
    if args.answers:
        results = {"": run_answers(args, tasks, FIXED_ANSWERS[args.answers],
                                   FIXED_ANSWERS[args.answers], args.data.name)}
    else:
        check_model_args(args, args.max_new_tokens)
        engine = engine_from_args(args)
        results = {}
        for variant in chosen_variants(args):
            cleaned, raw = model_completers(args, engine, variant)
            results[variant.name] = run_answers(args, tasks, cleaned, raw,
                                                f"{args.data.name} {variant.name}")
            results[variant.name][0]["prompt"] = variant.name
    several = len(results) > 1
    if args.out:
        written = {name: {"summary": summary, "tasks": [vars(o) for o in outcomes]}
                   for name, (summary, outcomes) in results.items()}
        args.out.write_text(json.dumps({"variants": written} if several
                                       else next(iter(written.values())), indent=1) + "\n")
    summaries = {name: summary for name, (summary, _) in results.items()}
    if args.json:
        print(json.dumps({"variants": summaries} if several else next(iter(summaries.values()))))
        return 0
    for summary in summaries.values():
        prompt = f" ({summary['prompt']})" if "prompt" in summary else ""
        for name, figures in [("", summary), (" without clean-up",
                                              summary.get("without_cleanup"))]:
            if figures:
                print(f"{figures['file']}{prompt}{name}: pass@1 {figures['pass@1']:.1%} "
                      f"({figures['passed']}/{figures['tasks']}), exact match "
                      f"{figures['exact_match']:.1%}")
    return 0


def run_answers(args: argparse.Namespace, tasks: list[Task], cleaned: Completer,
                raw: Completer, label: str) -> tuple[dict, list[Outcome]]:
    """The summary and the outcomes of one completer (and, with --compare-cleanup, the same
    answers without clean-up in the summary)."""
    outcomes = evaluate(tasks, raw if args.no_cleanup else cleaned, args.workers, args.timeout,
                        label=label)
    summary = summarise(args.data.name, outcomes)
    if args.compare_cleanup and not args.no_cleanup:
        summary["without_cleanup"] = summarise(args.data.name, evaluate(
            tasks, raw, args.workers, args.timeout, label=f"{label} without clean-up"))
    return summary, outcomes


def read_tasks(path: Path, limit: int | None = None) -> list[Task]:
    """The tasks of a `.jsonl.gz` (or `.jsonl`) file, in order."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as lines:
            tasks = [_task(json.loads(line)) for line in lines if line.strip()]
    except (OSError, EOFError, ValueError, KeyError) as exc:
        raise UserError(f"{path}: not a HumanEval infilling task file ({exc})") from None
    return tasks[:limit] if limit else tasks


def _task(row: dict) -> Task:
    return Task(row["task_id"], row["prompt"], row["suffix"], row["canonical_solution"],
                row["test"], row["entry_point"])


def canonical_answer(task: Task) -> str:
    return task.canonical_solution


def empty_answer(task: Task) -> str:
    return "\n" if task.whole_lines else ""


def previous_line_answer(task: Task) -> str:
    """The line before the hole repeated (its text right of the cursor's column mid-line)."""
    if task.whole_lines:
        return task.prompt.removesuffix("\n").rpartition("\n")[2] + "\n"
    head, _, current = task.prompt.rpartition("\n")
    previous = head.rpartition("\n")[2]
    return previous[len(current):]


FIXED_ANSWERS: dict[str, Completer] = {"canonical": canonical_answer, "empty": empty_answer,
                                       "previous-line": previous_line_answer}


def model_completers(args: argparse.Namespace, engine: Engine,
                     variant: Variant) -> tuple[Completer, Completer]:
    """Completions from `engine` prompted as `variant`, through the editor's path: with and
    without clean-up, from one generation per task."""
    answers: dict[str, tuple[str, str]] = {}

    def answer(task: Task) -> tuple[str, str]:
        if task.task_id not in answers:
            if task.whole_lines:
                # An empty line for the cursor; the completion ends it.
                document = ParsedDocument(task.prompt + "\n" + task.suffix, "python")
                got = infill(engine, document, len(task.prompt), variant, args.max_new_tokens)
                answers[task.task_id] = (got.cleaned + "\n", got.raw.removesuffix("\n") + "\n")
            else:
                document = ParsedDocument(task.prompt + task.suffix, "python")
                got = infill(engine, document, len(task.prompt), variant, args.max_new_tokens)
                answers[task.task_id] = (got.cleaned, got.raw)
        return answers[task.task_id]

    return (lambda task: answer(task)[0]), (lambda task: answer(task)[1])


def evaluate(tasks: list[Task], completer: Completer, workers: int, timeout: float,
             label: str = "humaneval") -> list[Outcome]:
    """Complete the tasks one by one and run their programs `workers` at a time."""
    progress = ProgressLine(len(tasks), label)
    outcomes: list[Outcome] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures: list[tuple[Task, str, Future[str]]] = []
        for task in tasks:
            completion = completer(task)
            futures.append((task, completion, pool.submit(run_program,
                                                          task.program(completion), timeout)))
            finished = [f.result() for _, _, f in futures if f.done()]
            progress.update(len(futures), f"pass@1 so far {_share(finished):.1%}")
        for task, completion, future in futures:
            result = future.result()
            outcomes.append(Outcome(task.task_id, result == "passed", result, completion,
                                    same_text(completion, task.canonical_solution)))
    progress.close()
    return outcomes


def _share(results: list[str]) -> float:
    return sum(r == "passed" for r in results) / len(results) if results else 0.0


def same_text(a: str, b: str) -> bool:
    return trim_trailing_whitespace(a).strip("\n") == trim_trailing_whitespace(b).strip("\n")


def summarise(name: str, outcomes: list[Outcome]) -> dict:
    passed = sum(o.passed for o in outcomes)
    exact = sum(o.exact for o in outcomes)
    share = len(outcomes) or 1
    return {"file": name, "tasks": len(outcomes), "passed": passed,
            "pass@1": round(passed / share, 4), "exact": exact,
            "exact_match": round(exact / share, 4),
            "timed_out": sum(o.result == "timed out" for o in outcomes)}


