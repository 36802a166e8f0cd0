"""`codellama eval holes PATH...`: a model's completions of holes cut from real files, scored
against what was cut, beside trivial baselines in the same run.

Hole kinds (cut where `codellama eval truncation` cuts them):
- `line`: a whole line's text after its indentation (the cursor on an indented empty line);
- `rest`: the rest of a line, from a random column after its first non-blank character;
- `block`: a whole multi-line statement or block, from its first character;
- `word`: inside a word: from a random point inside an identifier to the end of its line (where
  token healing matters: the prompt ends inside a word).

Each hole is completed through the editor's path (policy, prompt, engine, clean-up), in each
prompt variant asked for (`--variants`: FIM order, token healing) on the same holes. Systems
scored: the model, the same answers without clean-up, an empty completion, and the previous
line's text repeated. Figures: exact match (trailing whitespace aside), edit similarity
(difflib's ratio, 0..1), and for `word` holes how often the word itself is completed exactly
(the answer's leading word characters are the rest of the word).
"""

from __future__ import annotations

import argparse
import difflib
import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from codellama_lsp.commands.model_args import (
    add_model_args,
    check_model_args,
    engine_from_args,
    positive_int,
)
from codellama_lsp.completion.cleanup import trim_trailing_whitespace
from codellama_lsp.errors import UserError
from codellama_lsp.evals.hole_sites import block_candidates, line_candidates, word_candidates
from codellama_lsp.evals.infilling import (
    ProgressLine,
    Variant,
    add_fim_args,
    chosen_variants,
    infill,
)
from codellama_lsp.evals.truncation import collect_files
from codellama_lsp.syntax.parsed import ParsedDocument
from codellama_lsp.syntax.source_files import read_source
from fim.engines.base import Engine
from fim.healing import is_word_char

KINDS = ("line", "rest", "block", "word")
SYSTEMS = ("model", "no clean-up", "empty", "previous line")


@dataclass(frozen=True)
class Hole:
    path: str
    language: str
    kind: str
    text: str  # the file's text (LF)
    start: int
    end: int

    @property
    def middle(self) -> str:
        return self.text[self.start:self.end]


@dataclass
class Score:
    holes: int = 0
    exact: int = 0
    similarity: float = 0.0
    words: int = 0  # holes that begin inside a word
    word_exact: int = 0  # of those, the ones whose word the answer completed exactly

    def add(self, answer: str, middle: str, inside_word: bool = False) -> None:
        a, b = trim_trailing_whitespace(answer), trim_trailing_whitespace(middle)
        self.holes += 1
        self.exact += a == b
        self.similarity += difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
        if inside_word:
            self.words += 1
            self.word_exact += word_of(answer) == word_of(middle)

    def merge(self, other: Score) -> None:
        self.holes += other.holes
        self.exact += other.exact
        self.similarity += other.similarity
        self.words += other.words
        self.word_exact += other.word_exact

    def as_dict(self) -> dict:
        share = self.holes or 1
        figures = {"exact_match": round(self.exact / share, 4),
                   "edit_similarity": round(self.similarity / share, 4)}
        if self.words:
            figures["word_exact_match"] = round(self.word_exact / self.words, 4)
        return figures


def word_of(text: str) -> str:
    """The word characters `text` begins with (the rest of a word cut inside it)."""
    end = 0
    while end < len(text) and is_word_char(text[end]):
        end += 1
    return text[:end]


@dataclass
class Report:
    fim: str
    token_healing: bool = False
    files: int = 0
    # (language, kind) -> system -> score
    scores: dict[tuple[str, str], dict[str, Score]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Score)))

    def totals(self) -> dict[str, dict[str, Score]]:
        """Per kind and over all kinds ("all"), summed over languages."""
        totals: dict[str, dict[str, Score]] = defaultdict(lambda: defaultdict(Score))
        for (_, kind), systems in self.scores.items():
            for name, score in systems.items():
                for key in (kind, "all"):
                    totals[key][name].merge(score)
        return totals

    def as_dict(self) -> dict:
        def table(systems: dict[str, Score]) -> dict:
            return {"holes": next(iter(systems.values())).holes,
                    **{name: systems[name].as_dict() for name in systems}}

        return {"fim": self.fim, "token_healing": self.token_healing, "files": self.files,
                "languages": {f"{language}/{kind}": table(systems)
                              for (language, kind), systems in sorted(self.scores.items())},
                "total": {kind: table(systems) for kind, systems in self.totals().items()}}


def register(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser("holes", help="a model's exact match on holes cut from real files",
                              description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", metavar="PATH", help="source files or folders")
    add_model_args(parser)
    add_fim_args(parser)
    parser.add_argument("--holes", type=positive_int, default=10,
                        help="holes of each kind per file (default 10)")
    parser.add_argument("--seed", type=int, default=0,
                        help="chooses the holes (default 0)")
    parser.add_argument("--json", action="store_true",
                        help="print the figures as JSON (default: a table)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # The options first (--context-window against the model's config.json, ...): cutting the
    # holes parses every file, and a bad option should not wait for that.
    check_model_args(args, args.max_new_tokens)
    files = collect_files([Path(p) for p in args.paths], None, args.seed)
    holes = [h for path in files for h in cut_holes(path, args.holes, args.seed)]
    if not holes:
        raise UserError("no holes could be cut from the given files")
    engine = engine_from_args(args)
    reports = []
    for variant in chosen_variants(args):
        report = evaluate(engine, holes, variant, args.max_new_tokens, args.no_cleanup)
        report.files = len({h.path for h in holes})
        reports.append(report)
    if len(reports) == 1:
        print(json.dumps(reports[0].as_dict()) if args.json else format_report(reports[0]))
    elif args.json:
        print(json.dumps({"variants": {_name(r): r.as_dict() for r in reports}}))
    else:
        print("\n\n".join(format_report(r) for r in reports))
    return 0


def _name(report: Report) -> str:
    return Variant(report.fim, report.token_healing).name


def cut_holes(path: Path, count: int, seed: int) -> list[Hole]:
    """`count` holes of each kind from `path` (fewer where it has fewer), chosen by `seed`."""
    try:
        text = read_source(path).text.replace("\r\n", "\n")
    except UserError:
        return []
    document = ParsedDocument(text, path=str(path))
    if document.tree is None or document.language is None:
        return []
    rng = random.Random(f"{seed}:{path.name}:{len(text)}")
    language = document.language.name
    lines = line_candidates(text)
    spans: dict[str, list[tuple[int, int]]] = {
        "line": [(choices[0][0], choices[-1][1]) for choices in lines],
        "rest": [rng.choice(choices[1:]) for choices in lines if len(choices) > 1],
        "block": [(s, e) for s, e, _ in block_candidates(document) if "\n" in text[s:e]],
    }
    # A generator of its own: the holes of the other kinds stay those of the same seed before.
    cuts = random.Random(f"{seed}:{path.name}:{len(text)}:word")
    spans["word"] = [(cuts.randint(start + 1, end - 1), line_end)
                     for start, end, line_end in word_candidates(document)]
    return [Hole(str(path), language, kind, text, start, end)
            for kind in KINDS
            for start, end in rng.sample(spans[kind], min(count, len(spans[kind])))]


def evaluate(engine: Engine, holes: list[Hole], variant: Variant, max_new_tokens: int,
             no_cleanup: bool = False) -> Report:
    report = Report(variant.fim, variant.heal)
    progress = ProgressLine(len(holes), f"holes {variant.name}")
    for done, hole in enumerate(holes, 1):
        document = ParsedDocument(hole.text[:hole.start] + hole.text[hole.end:], path=hole.path)
        answer = infill(engine, document, hole.start, variant, max_new_tokens)
        answers = {"model": answer.raw if no_cleanup else answer.cleaned,
                   "no clean-up": answer.raw, "empty": "",
                   "previous line": previous_line(hole)}
        systems = report.scores[(hole.language, hole.kind)]
        for name in SYSTEMS:
            if not (no_cleanup and name == "no clean-up"):
                systems[name].add(answers[name], hole.middle, hole.kind == "word")
        model = systems["model"]
        progress.update(done, f"{hole.kind} exact match {model.exact}/{model.holes}")
    progress.close()
    return report


def previous_line(hole: Hole) -> str:
    """The trivial baseline: the previous non-blank line's text, from the cursor's column for
    the rest of a line, else after its indentation."""
    line_start = hole.text.rfind("\n", 0, hole.start) + 1
    above = [line for line in hole.text[:line_start].split("\n") if line.strip()]
    if not above:
        return ""
    if hole.kind in ("rest", "word"):
        return above[-1][hole.start - line_start:]
    return above[-1].strip()


def format_report(report: Report) -> str:
    header = f"{'language/kind':<16} {'holes':>5}" + "".join(
        f" | {name + ' EM':>16} {'ES':>5}" for name in SYSTEMS) + f" | {'model word EM':>13}"
    healing = "on" if report.token_healing else "off"
    rows = [f"fim {report.fim}, token healing {healing}, files {report.files}", header]
    keyed: list[tuple[str, dict[str, Score]]] = [
        (f"{language}/{kind}", systems) for (language, kind), systems in
        sorted(report.scores.items())]
    keyed += [(f"all/{kind}", systems) for kind, systems in
              sorted(report.totals().items(), key=lambda item: (item[0] == "all", item[0]))]
    for key, systems in keyed:
        rows.append(_row(key, systems))
    return "\n".join(rows)


def _row(key: str, systems: dict[str, Score]) -> str:
    cells: list[str] = []
    for name in SYSTEMS:
        score = systems.get(name)
        cells.append(" | " + (f"{score.exact / score.holes:>16.1%} "
                              f"{score.similarity / score.holes:>5.2f}"
                              if score and score.holes else f"{'-':>16} {'-':>5}"))
    holes = next(iter(systems.values())).holes
    model = systems.get("model")
    word = f"{model.word_exact / model.words:>13.1%}" if model and model.words else f"{'-':>13}"
    return f"{key:<16} {holes:>5}" + "".join(cells) + f" | {word}"


