"""`codellama eval next-edit REPO...`: next-edit suggestions replayed on edit sequences taken
from git histories, scored beside two baselines in the same run.

Each commit's change to a file is a sequence of hunks (`git diff -U0`, in file order). The
hunks are replayed one by one through the server's edit history; for each hunk after the
first, the earlier hunks of the commit (this file's and the files' before it) are the history,
the cursor stands where the previous hunk ended, and the hunk is the next edit to predict.

Systems: no suggestion; the last edit repeated (its old lines, found verbatim elsewhere in the
file, replaced by its new lines, the nearest after it first); the model-free rules (rename
propagation, repeated edits); and with `--mode fim` or `instruct` the rules then the model, as
the server asks it. Scores, per case: `location`, the suggestion's first changed line within
`--lines` lines of the hunk's; `exact`, the suggestion makes the next hunk exactly (alone, or
with the hunks that follow it: a rename's rest is several hunks); and `suggested`, a
suggestion at all (a wrong one costs the user a look).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from codellama_lsp.commands.model_args import (
    add_model_args,
    check_model_args,
    engine_from_args,
    non_negative_int,
    positive_int,
)
from codellama_lsp.edits.text_edits import split_lines
from codellama_lsp.errors import UserError
from codellama_lsp.evals.infilling import ProgressLine
from codellama_lsp.lsp.stats import percentile
from codellama_lsp.next_edit.edit import NextEdit, changed_span, line_start
from codellama_lsp.next_edit.fill import FillOptions
from codellama_lsp.next_edit.history import EditHistory
from codellama_lsp.next_edit.mode import Mode
from codellama_lsp.next_edit.predict import Context, ModelOptions, predict
from codellama_lsp.syntax.parsed import ParsedDocument
from fim.engines.base import Engine

BASELINES = ("no suggestion", "repeat last edit")
RULES = "rules"
MODEL = "rules + model"
MAX_FILE_CHARS = 200_000
_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class Step:
    """One hunk of a commit's change to a file, where it stands once the hunks above it are
    applied: lines `first_line`.. were `old` (whole lines) and become `new`."""

    first_line: int
    old: str
    new: str

    def span(self, text: str) -> tuple[int, int]:
        start = line_start(text, self.first_line)
        return start, start + len(self.old)


@dataclass(frozen=True)
class FileChange:
    """A commit's change to one file: the texts after 0, 1, ... of its steps."""

    commit: str
    path: str
    texts: list[str]
    steps: list[Step]


@dataclass
class Score:
    cases: int = 0
    suggested: int = 0
    location: int = 0
    exact: int = 0

    def as_dict(self) -> dict:
        share = self.cases or 1
        return {"suggested": round(self.suggested / share, 4),
                "location": round(self.location / share, 4),
                "exact": round(self.exact / share, 4)}


@dataclass
class Report:
    repos: list[str]
    commits: int = 0
    files: int = 0
    lines: int = 3
    mode: str = "rules"
    scores: dict[str, Score] = field(default_factory=dict)
    model_ms: list[float] = field(default_factory=list)  # the model system's time per case

    def as_dict(self) -> dict:
        cases = next(iter(self.scores.values())).cases if self.scores else 0
        figures: dict = {"repos": self.repos, "commits": self.commits, "files": self.files,
                         "cases": cases, "lines": self.lines, "mode": self.mode,
                         "systems": {name: score.as_dict() for name, score in self.scores.items()}}
        if self.model_ms:
            figures["model_ms"] = {"p50": round(percentile(self.model_ms, 50) or 0.0, 1),
                                   "p95": round(percentile(self.model_ms, 95) or 0.0, 1)}
        return figures


def register(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser("next-edit", help="next-edit suggestions replayed on git histories",
                              description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", metavar="REPO", help="git repositories")
    parser.add_argument("--rev", default="HEAD", help="the commit whose history is replayed "
                        "(default HEAD)")
    parser.add_argument("--commits", type=positive_int, default=200,
                        help="commits replayed per repository, newest first (default 200)")
    parser.add_argument("--max-cases", type=positive_int, default=400,
                        help="cases scored at most, the newest commits' first (default 400)")
    parser.add_argument("--hunks", type=positive_int, default=12,
                        help="hunks replayed per file at most (default 12)")
    parser.add_argument("--lines", type=non_negative_int, default=3,
                        help="a location within this many lines counts (default 3)")
    parser.add_argument("--mode", choices=[m.value for m in Mode if m is not Mode.OFF],
                        default=Mode.RULES.value, help="rules: the model-free rules only "
                        "(no model is loaded); fim or instruct: then the model (default rules)")
    add_model_args(parser)
    parser.add_argument("--max-new-tokens", type=positive_int, default=48,
                        help="tokens the model may write per suggestion (default 48)")
    parser.add_argument("--json", action="store_true",
                        help="print the figures as JSON (default: a table)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    mode = Mode(args.mode)
    if mode is not Mode.RULES:
        check_model_args(args, args.max_new_tokens)
    changes = [change for path in args.paths
               for change in mine(Path(path), args.rev, args.commits, args.hunks)]
    if not any(len(change.steps) > 1 for change in changes):
        raise UserError("no commit in the given repositories changes a file in two places")
    engine = engine_from_args(args) if mode is not Mode.RULES else None
    report = evaluate(changes, mode, engine, args.lines, args.max_cases, args.max_new_tokens)
    report.repos = [str(Path(p).resolve()) for p in args.paths]
    print(json.dumps(report.as_dict()) if args.json else format_report(report))
    return 0


# -- mining --------------------------------------------------------------------------------------

def git(repo: Path, *arguments: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *arguments], capture_output=True,
                          text=True, encoding="utf-8", errors="replace")
    if done.returncode != 0:
        raise UserError(f"{repo}: git {arguments[0]} failed: "
                        f"{(done.stderr.strip().splitlines() or ['?'])[-1]}")
    return done.stdout


def mine(repo: Path, rev: str, commits: int, max_hunks: int) -> Iterator[FileChange]:
    """The changes of the newest `commits` non-merge commits up to `rev`, newest first, of
    files that a syntax tree knows (added, deleted and huge files left out)."""
    if not (repo / ".git").exists() and not repo.name.endswith(".git"):
        raise UserError(f"{repo}: not a git repository")
    for commit in git(repo, "rev-list", "--no-merges", f"--max-count={commits}", rev).split():
        if not git(repo, "rev-list", "--parents", "-n", "1", commit).split()[1:]:
            continue  # the first commit: everything is added
        diff = git(repo, "diff", "-U0", "--no-color", "--no-ext-diff", "--no-renames",
                   f"{commit}^", commit)
        for path, headers in _file_hunks(diff):
            if ParsedDocument("", path=path).language is None:
                continue
            before = git(repo, "show", f"{commit}^:{path}").replace("\r\n", "\n")
            after = git(repo, "show", f"{commit}:{path}").replace("\r\n", "\n")
            if max(len(before), len(after)) > MAX_FILE_CHARS:
                continue
            change = _replay(commit, path, before, after, headers)
            if change is not None:
                yield FileChange(change.commit, path, change.texts[:max_hunks + 1],
                                 change.steps[:max_hunks])


def _file_hunks(diff: str) -> Iterator[tuple[str, list[tuple[int, int, int, int]]]]:
    """(path, hunk headers (a, b, c, d) of `@@ -a,b +c,d @@`) of each changed file kept."""
    path: str | None = None
    added = False
    headers: list[tuple[int, int, int, int]] = []
    for line in diff.split("\n"):
        if line.startswith("diff --git "):
            if path is not None and headers:
                yield path, headers
            path, added, headers = None, False, []
        elif line.startswith("--- "):
            added = line == "--- /dev/null"  # added: no history to replay
        elif line.startswith("+++ "):
            path = line[6:] if line.startswith("+++ b/") and not added else None
        elif path is not None and (found := _HUNK_HEADER.match(line)):
            a, b, c, d = found.groups()
            headers.append((int(a), int(b or 1), int(c), int(d or 1)))
    if path is not None and headers:
        yield path, headers


def _replay(commit: str, path: str, before: str, after: str,
            headers: list[tuple[int, int, int, int]]) -> FileChange | None:
    """The steps of the hunks, replayed from `before`; None where they do not give `after`."""
    old_lines, new_lines = split_lines(before), split_lines(after)
    texts, steps = [before], []
    for a, b, c, d in headers:
        first = c - 1 if d else c  # an empty side names the line before
        step = Step(first, "".join(old_lines[a - 1:a - 1 + b]) if b else "",
                    "".join(new_lines[c - 1:c - 1 + d]) if d else "")
        text = texts[-1]
        start, end = step.span(text)
        if text[start:end] != step.old:
            return None
        steps.append(step)
        texts.append(text[:start] + step.new + text[end:])
    return FileChange(commit, path, texts, steps) if texts[-1] == after else None


# -- replaying and scoring -----------------------------------------------------------------------

def evaluate(changes: list[FileChange], mode: Mode, engine: Engine | None, lines: int,
             max_cases: int, max_new_tokens: int = 48) -> Report:
    """Every system on every case (each hunk after a file's first), the newest commits first,
    `max_cases` at most."""
    systems = [*BASELINES, RULES] + ([MODEL] if mode is not Mode.RULES else [])
    report = Report([], lines=lines, mode=mode.value,
                    scores={name: Score() for name in systems})
    options = ModelOptions(FillOptions(max_new_tokens, True, "eval-next-edit"))
    total = min(max_cases, sum(len(change.steps) - 1 for change in changes))
    progress = ProgressLine(total, "cases")
    history, commit, files = EditHistory(), "", set()
    cases = 0
    for change in changes:
        if cases >= max_cases:
            break
        if change.commit != commit:  # a commit's history starts empty
            history, commit = EditHistory(), change.commit
        uri = f"file:///{change.commit[:12]}/{change.path}"
        for j, step in enumerate(change.steps):
            text = change.texts[j]
            if j and cases < max_cases:
                cases += 1
                files.add((change.commit, change.path))
                context = _context(change, j, uri, history)
                answers: dict[str, NextEdit | None] = {
                    "no suggestion": None,
                    "repeat last edit": repeat_last(text, change.steps[j - 1], context.cursor),
                    RULES: _first(predict(context, Mode.RULES))}
                if engine is not None:
                    started = time.perf_counter()
                    answers[MODEL] = _first(predict(context, mode, engine, options))
                    report.model_ms.append((time.perf_counter() - started) * 1000)
                for name in systems:
                    _score(report.scores[name], answers[name], change, j, lines)
                exact = report.scores[systems[-1]]
                progress.update(cases, f"{systems[-1]} exact {exact.exact}/{exact.cases}")
            start, end = step.span(text)
            history.record(uri, change.path, text, start, end, step.new)
    progress.close()
    report.commits = len({commit for commit, _ in files})
    report.files = len(files)
    return report


def _context(change: FileChange, j: int, uri: str, history: EditHistory) -> Context:
    """Step `j` to predict: the cursor where step `j - 1` ended."""
    previous, before = change.steps[j - 1], change.texts[j - 1]
    start, end, inserted = changed_span(before, *previous.span(before), previous.new)
    document = ParsedDocument(change.texts[j], path=change.path)
    language = document.language.name if document.language is not None else ""
    return Context(document, start + len(inserted), uri, change.path, history.recent(uri),
                   language)


def _first(edits: list[NextEdit]) -> NextEdit | None:
    return edits[0] if edits else None


def repeat_last(text: str, last: Step, cursor: int) -> NextEdit | None:
    """The baseline: `last`'s old lines, found verbatim at another line start of `text`,
    replaced by its new lines (the nearest after the cursor, else the nearest before)."""
    if not last.old.strip() or last.old == last.new:
        return None
    found = [m.start() for m in re.finditer(re.escape(last.old), text)
             if m.start() == 0 or text[m.start() - 1] == "\n"]
    after = [p for p in found if p >= cursor]
    place = after[0] if after else (found[-1] if found else None)
    if place is None:
        return None
    return NextEdit(place, place + len(last.old), last.new, "repeat last edit")


def _score(score: Score, edit: NextEdit | None, change: FileChange, j: int, lines: int) -> None:
    score.cases += 1
    if edit is None:
        return
    text = change.texts[j]
    start, end, new = changed_span(text, edit.start, edit.end, edit.text)
    if start == end and not new:
        return  # changes nothing: no suggestion
    score.suggested += 1
    step = change.steps[j]
    target, _, _ = changed_span(text, *step.span(text), step.new)
    if abs(text.count("\n", 0, start) - text.count("\n", 0, target)) <= lines:
        score.location += 1
    score.exact += edit.apply(text) in change.texts[j + 1:]


def format_report(report: Report) -> str:
    figures = report.as_dict()
    rows = [f"repositories {', '.join(report.repos)}: {figures['commits']} commits, "
            f"{figures['files']} file changes, {figures['cases']} cases; location within "
            f"{report.lines} lines; mode {report.mode}",
            f"{'system':<18} {'suggested':>9} {'location':>9} {'exact':>9}"]
    for name, score in figures["systems"].items():
        rows.append(f"{name:<18} {score['suggested']:>9.1%} {score['location']:>9.1%} "
                    f"{score['exact']:>9.1%}")
    if report.model_ms:
        rows.append(f"model time per case: p50 {figures['model_ms']['p50']:.0f} ms, "
                    f"p95 {figures['model_ms']['p95']:.0f} ms")
    return "\n".join(rows)
