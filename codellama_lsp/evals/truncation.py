"""`codellama eval truncation PATH...`: how often the clean-up recovers exactly the true middle.

Model-free: holes are cut from real source files, and the "model" fills each hole correctly and
then runs on, i.e. answers with the true middle followed by the file's text after it (what Code
Llama does when it does not stop). The completion policy and the clean-up then decide what a
user would see; a hole counts as recovered when that equals the true middle (trailing
whitespace on its lines aside, which the clean-up always trims).

Hole kinds:
- `line`: the rest of a line, from a random column after its first non-blank character;
- `block`: a whole statement or block (a child of a body: module, block, class body, ...)
  starting at its first character, which is the first non-blank character of its line.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from codellama_lsp.commands.model_args import non_negative_int, positive_int, seed
from codellama_lsp.completion.cleanup import (
    clean,
    document_cleanup_context,
    trim_trailing_whitespace,
)
from codellama_lsp.completion.policy import decide
from codellama_lsp.errors import UserError
from codellama_lsp.evals.hole_sites import block_candidates, line_candidates
from codellama_lsp.syntax.parsed import ParsedDocument
from codellama_lsp.syntax.source_files import read_source
from codellama_lsp.syntax.workspace_files import iter_source_files
from fim.prompt import to_lf

KINDS = ("line", "block")
RUN_ONS = ("suffix", "scope")


@dataclass(frozen=True)
class Hole:
    kind: str
    start: int  # character offsets into the file's text
    end: int
    scope_end: int = -1  # where the text after the hole's enclosing body begins (block holes)


@dataclass
class Tally:
    holes: int = 0
    recovered: int = 0
    no_suggestion: int = 0

    @property
    def rate(self) -> float:
        return self.recovered / self.holes if self.holes else 0.0

    def as_dict(self) -> dict:
        return {"holes": self.holes, "recovered": self.recovered,
                "no_suggestion": self.no_suggestion, "rate": round(self.rate, 4)}


@dataclass
class Report:
    files: int = 0
    skipped: list[str] = field(default_factory=list)
    tallies: dict[tuple[str, str], Tally] = field(default_factory=lambda: defaultdict(Tally))
    failures: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        by_language: dict[str, dict] = defaultdict(dict)
        for (language, kind), tally in sorted(self.tallies.items()):
            by_language[language][kind] = tally.as_dict()
        totals = {kind: _sum(t for (_, k), t in self.tallies.items() if k == kind).as_dict()
                  for kind in KINDS}
        return {"files": self.files, "skipped": len(self.skipped), "total": totals,
                "languages": dict(by_language)}


def register(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser("truncation", help="share of holes the clean-up recovers exactly",
                              description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", metavar="PATH", help="source files or folders")
    parser.add_argument("--holes", type=positive_int, default=20,
                        help="holes of each kind per file (default 20)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the holes and the sample")
    parser.add_argument("--max-files", type=positive_int, default=None,
                        help="a random sample (by --seed) of at most this many files "
                        "(default: all)")
    parser.add_argument("--run-on", choices=RUN_ONS, default="suffix",
                        help="what the model writes after the true middle: the file's text "
                        "after it (suffix, default), or the text after the hole's enclosing "
                        "body, i.e. it skips the rest of the body (scope)")
    parser.add_argument("--show-failures", type=non_negative_int, default=0, metavar="N",
                        help="print N holes that were not recovered")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    files = collect_files([Path(p) for p in args.paths], args.max_files, args.seed)
    report = evaluate(files, args.holes, args.seed, keep_failures=args.show_failures,
                      run_on=args.run_on)
    if args.json:
        print(json.dumps(report.as_dict()))
    else:
        print(format_report(report))
    for failure in report.failures[:args.show_failures]:
        print(json.dumps(failure, ensure_ascii=False), file=sys.stderr)
    return 0


def collect_files(paths: list[Path], max_files: int | None, seed: int) -> list[Path]:
    """The source files under `paths`, sorted; a seeded sample of `max_files` of them."""
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise UserError(f"{path}: no such file or folder")
        files.extend(iter_source_files(path))
    if not files:
        raise UserError("no source files of a known language under the given paths")
    files = sorted(set(files))
    if max_files is not None and len(files) > max_files:
        files = sorted(random.Random(seed).sample(files, max_files))
    return files


def evaluate(files: list[Path], holes: int, seed: int, keep_failures: int = 0,
             run_on: str = "suffix") -> Report:
    report = Report()
    for path in files:
        try:
            source = read_source(path)
        except UserError as exc:
            report.skipped.append(str(exc))
            continue
        document = ParsedDocument(source.text, path=str(path))
        if document.tree is None:
            report.skipped.append(f"{path}: no syntax tree")
            continue
        report.files += 1
        rng = random.Random(f"{seed}:{path.name}:{len(source.text)}")
        for hole in pick_holes(document, rng, holes):
            recovered, shown = run_hole(document, hole, run_on)
            language = document.language.name if document.language else "?"
            tally = report.tallies[(language, hole.kind)]
            tally.holes += 1
            tally.recovered += recovered
            tally.no_suggestion += shown is None
            if not recovered and len(report.failures) < keep_failures:
                report.failures.append({"file": str(path), "kind": hole.kind,
                                        "middle": document.text[hole.start:hole.end],
                                        "shown": shown})
    return report


def pick_holes(document: ParsedDocument, rng: random.Random, count: int) -> list[Hole]:
    """`count` line holes and `count` block holes (fewer where the file has fewer)."""
    lines = line_candidates(document.text)
    blocks = block_candidates(document)
    chosen = [Hole("line", *rng.choice(choices)) for choices in
              rng.sample(lines, min(count, len(lines)))]
    chosen += [Hole("block", *block) for block in rng.sample(blocks, min(count, len(blocks)))]
    return chosen


def run_hole(document: ParsedDocument, hole: Hole,
             run_on: str = "suffix") -> tuple[bool, str | None]:
    """Cut the hole, clean up the run-on answer, put the text back; (recovered, shown)."""
    text = document.text
    middle = text[hole.start:hole.end]
    after = hole.scope_end if run_on == "scope" and hole.scope_end >= 0 else hole.end
    answer = middle + text[after:]  # the true middle, then the model runs on
    document.apply_edit(hole.start, hole.end, "")
    try:
        shown = complete_text(document, hole.start, answer)
    finally:
        document.apply_edit(hole.start, hole.start, middle)
    return shown == trim_trailing_whitespace(to_lf(middle)), shown


def complete_text(document: ParsedDocument, offset: int, answer: str) -> str | None:
    """What the user sees for the model answer `answer` at `offset` (policy, then clean-up)."""
    decision = decide(document.text, offset, document)
    context = document_cleanup_context(decision.mode, document, offset)
    return clean(answer, context)


def format_report(report: Report) -> str:
    rows = [f"{'language':<12} {'kind':<6} {'holes':>6} {'recovered':>10} {'rate':>7}"]
    for (language, kind), tally in sorted(report.tallies.items()):
        rows.append(f"{language:<12} {kind:<6} {tally.holes:>6} {tally.recovered:>10} "
                    f"{tally.rate:>7.1%}")
    for kind in KINDS:
        total = _sum(t for (_, k), t in report.tallies.items() if k == kind)
        rows.append(f"{'all':<12} {kind:<6} {total.holes:>6} {total.recovered:>10} "
                    f"{total.rate:>7.1%}")
    rows.append(f"files: {report.files}, skipped: {len(report.skipped)}")
    return "\n".join(rows)


def _sum(tallies) -> Tally:
    total = Tally()
    for tally in tallies:
        total.holes += tally.holes
        total.recovered += tally.recovered
        total.no_suggestion += tally.no_suggestion
    return total
